"""Alembic environment: metadata from the models, URL from the settings."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from bot import crypto
from bot.config import get_settings
from bot.db import make_engine
from bot.models import Base

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def database_url() -> str:
    # Tests pass the URL through the Alembic config; everyone else through settings.
    return config.attributes.get("database_url") or get_settings().database_url


def check_data_keys() -> None:
    # Migrations encrypt and decrypt rows (0006): the process's data keys, set by the caller
    # (tests) or read from the settings like the URL. Missing or malformed keys stop the
    # migration before any change.
    crypto.keyring()


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    check_data_keys()
    engine = make_engine(database_url())
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=True,  # SQLite alters tables by copy
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        # Also when a migration fails (0006 refuses a value no key opens): no connection
        # left open to the database.
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

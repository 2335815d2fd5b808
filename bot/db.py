"""Database engine, declarative base and sessions.

Engines are built by entry points from settings (never at import time); sessions are
opened at the edge (one per request, update, job or action run) and passed in.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, TypeVar

from sqlalchemy import DateTime, Engine, Enum, MetaData, create_engine, event, update
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware datetimes stored as UTC, read back aware on every backend.

    SQLite has no timezone type and returns naive values: this keeps comparisons and
    formatting identical on SQLite and PostgreSQL.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a timezone-aware column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UtcDateTime()}


def str_enum(enum_class: type[enum.Enum], length: int = 24) -> Enum:
    """A portable enum column storing the members' values (readable in SQL)."""
    return Enum(
        enum_class,
        native_enum=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Build an engine; SQLite gets WAL and foreign keys, PostgreSQL pre-ping."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One short transaction: commit on success, roll back on error."""
    with factory() as session, session.begin():
        yield session


ModelT = TypeVar("ModelT", bound=Base)


def get_for_update(
    session: Session, model: type[ModelT], key: Any, noop: InstrumentedAttribute[Any]
) -> ModelT | None:
    """A row read for a change, so that concurrent changes to it happen one after the
    other. PostgreSQL: a row lock (``FOR UPDATE``). SQLite ignores ``FOR UPDATE`` and its
    driver starts the transaction only at the first write, so what is read first would be
    read outside any lock: a no-op write (``noop = noop``) takes SQLite's single writer
    lock first, waiting up to the busy timeout."""
    if session.get_bind().dialect.name == "sqlite":
        primary_key = model.__mapper__.primary_key[0]
        session.execute(
            update(model)
            .where(primary_key == key)
            .values({noop.key: noop})
            .execution_options(synchronize_session=False)
        )
    return session.get(model, key, with_for_update=True, populate_existing=True)

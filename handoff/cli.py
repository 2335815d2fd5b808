"""Référent accounts from the command line: ``python -m handoff.cli create-supervisor``.

The password is typed at a prompt (or read from standard input when it is not a terminal),
never given as an argument: arguments end up in shell histories and process lists.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from bot.config import get_settings
from bot.db import make_engine, make_session_factory, session_scope
from handoff import accounts
from handoff.models import Role


def read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Mot de passe (12 caractères au moins) : ")
    if getpass.getpass("Encore une fois : ") != first:
        raise SystemExit("Les deux mots de passe diffèrent : rien n'a été créé.")
    return first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Relais référent accounts")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("create-supervisor", "create-referent"):
        sub = commands.add_parser(name)
        sub.add_argument("--email", required=True)
        sub.add_argument("--name", required=True, help="name shown to colleagues and users")
        sub.add_argument("--territory", action="append", default=[], help="territory id")
        sub.add_argument("--under-16", action="store_true", help="school / CIO référent")
    args = parser.parse_args(argv)
    role = Role.SUPERVISOR if args.command == "create-supervisor" else Role.REFERENT
    password = read_password()
    engine = make_engine(get_settings().database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            accounts.create_referent(
                session,
                email=args.email,
                display_name=args.name,
                password=password,
                role=role,
                territories=args.territory,
                serves_under_16=args.under_16,
            )
    except accounts.AccountError as exc:
        print(f"Refusé : {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(f"Compte {role.value} créé pour {accounts.normalise_email(args.email)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Référent accounts and console sessions: the only code that writes them.

Passwords are hashed with argon2id. A console session is a random token in an HttpOnly
cookie (only its hash is stored) with its own CSRF token. After ``MAX_FAILURES`` wrong
passwords in a row an account is locked for ``LOCKOUT``; the answer to a wrong email and
to a wrong password is the same, so the login form does not reveal who has an account.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.db import utcnow
from handoff.models import DEFAULT_CAPACITY, ConsoleSession, Referent, Role

MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=15)
SESSION_LIFETIME = dt.timedelta(hours=12)
MIN_PASSWORD = 12

_hasher = PasswordHasher()
# Verified when the email is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A refused account change; the words are for the person at the console."""


@dataclass(frozen=True, slots=True)
class LoginResult:
    referent: Referent | None
    locked_until: dt.datetime | None = None


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"Le mot de passe doit compter au moins {MIN_PASSWORD} caractères.")


def create_referent(
    session: Session,
    *,
    email: str,
    display_name: str,
    password: str,
    role: Role = Role.REFERENT,
    territories: list[str] | None = None,
    serves_under_16: bool = False,
    capacity: int = DEFAULT_CAPACITY,
) -> Referent:
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise AccountError("Adresse e-mail invalide.")
    if not display_name.strip():
        raise AccountError("Le nom affiché est obligatoire.")
    check_password(password)
    if session.scalar(select(Referent.id).where(Referent.email == email)) is not None:
        raise AccountError("Un compte existe déjà avec cette adresse.")
    referent = Referent(
        email=email,
        display_name=display_name.strip()[:80],
        password_hash=_hasher.hash(password),
        role=role,
        territories=list(territories or []),
        serves_under_16=serves_under_16,
        capacity=max(1, capacity),
    )
    session.add(referent)
    session.flush()
    return referent


def set_password(referent: Referent, password: str) -> None:
    check_password(password)
    referent.password_hash = _hasher.hash(password)
    referent.failed_logins = 0
    referent.locked_until = None


def authenticate(session: Session, email: str, password: str) -> LoginResult:
    """The référent when the password is right and the account usable."""
    now = utcnow()
    referent = session.scalar(select(Referent).where(Referent.email == normalise_email(email)))
    if referent is None or not referent.active:
        _verify(_DUMMY_HASH, password)
        return LoginResult(None)
    if referent.locked_until is not None and referent.locked_until > now:
        _verify(_DUMMY_HASH, password)  # the same work as any other answer
        return LoginResult(None, referent.locked_until)
    if not _verify(referent.password_hash, password):
        # Counted in the database (not read-then-written here): parallel guesses each count.
        session.execute(
            update(Referent)
            .where(Referent.id == referent.id)
            .values(failed_logins=Referent.failed_logins + 1)
            .execution_options(synchronize_session=False)
        )
        session.refresh(referent)
        if referent.failed_logins >= MAX_FAILURES:
            referent.locked_until = now + LOCKOUT
            referent.failed_logins = 0
            return LoginResult(None, referent.locked_until)
        return LoginResult(None)
    referent.failed_logins = 0
    referent.locked_until = None
    if _hasher.check_needs_rehash(referent.password_hash):
        referent.password_hash = _hasher.hash(password)
    return LoginResult(referent)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, referent: Referent) -> tuple[str, ConsoleSession]:
    """A new console session; returns the cookie's token (never stored as such)."""
    token = secrets.token_urlsafe(32)
    row = ConsoleSession(
        token_hash=_hash_token(token),
        referent_id=referent.id,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + SESSION_LIFETIME,
    )
    session.add(row)
    # Expired sessions of anyone are swept here: logins are rare, so this stays cheap.
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < utcnow()))
    session.flush()
    return token, row


def session_for(session: Session, token: str | None) -> tuple[ConsoleSession, Referent] | None:
    if not token or len(token) > 128:
        return None
    row = session.get(ConsoleSession, _hash_token(token))
    if row is None or row.expires_at <= utcnow():
        return None
    referent = session.get(Referent, row.referent_id)
    if referent is None or not referent.active:
        return None
    return row, referent


def csrf_ok(row: ConsoleSession, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(row.csrf_token, given or "")


def close_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(
            delete(ConsoleSession).where(ConsoleSession.token_hash == _hash_token(token))
        )


def end_sessions_of(session: Session, referent_id: str) -> None:
    """Log a deactivated account out everywhere."""
    session.execute(delete(ConsoleSession).where(ConsoleSession.referent_id == referent_id))

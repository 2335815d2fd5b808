"""Recording and reading consents (the only writer of ``consents``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.privacy.models import Consent, Purpose


def record(
    session: Session, user_id: str, purpose: Purpose, granted: bool, wording_version: str
) -> None:
    """Write the person's answer; nothing is overwritten."""
    session.add(
        Consent(user_id=user_id, purpose=purpose, granted=granted, wording_version=wording_version)
    )


def granted(session: Session, user_id: str, purpose: Purpose) -> bool:
    """The person's latest answer for this purpose; no answer means no."""
    latest = session.scalar(
        select(Consent.granted)
        .where(Consent.user_id == user_id, Consent.purpose == purpose)
        .order_by(Consent.id.desc())
        .limit(1)
    )
    return bool(latest)


def history(session: Session, user_id: str) -> list[Consent]:
    return list(
        session.scalars(select(Consent).where(Consent.user_id == user_id).order_by(Consent.id))
    )

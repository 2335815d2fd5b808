"""Keeping, sharing and deleting the self-assessment (the only writer of its table).

The dialogue sends the answers with the person's two choices; each choice is also written
to ``consents`` with the wording version, so what they agreed to stays provable.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.db import utcnow
from bot.privacy import consents
from bot.privacy.models import Purpose
from bot.self_assessment.models import SelfAssessment
from dialogues.assessment.scoring import load_content, summary_for_referent

logger = logging.getLogger(__name__)

FLAG_NAMES = ("several_barriers", "low_confidence", "wants_to_talk", "under_16")
ROLES = ("young", "parent")
MAX_TEXT_ANSWER = 80


def _clean_answers(role: str, raw: Any) -> dict[str, Any]:
    """Only the questions this role is asked, only known choices: the dialogue is trusted
    for meaning, not for shape (a parent's answers never hold the sensitive questions)."""
    content = load_content()
    answers: dict[str, Any] = {}
    if not isinstance(raw, dict):
        return answers
    for name, question in content.questions.items():
        if role == "parent" and not question.for_parent:
            continue
        value = raw.get(name)
        if value is None:
            continue
        if question.kind == "text":
            answers[name] = str(value)[:MAX_TEXT_ANSWER]
            continue
        values = value if isinstance(value, list) else [value]
        keys = [str(v) for v in values if question.choice(str(v)) or v == "skipped"]
        if keys:
            answers[name] = keys if question.kind == "multi" else keys[0]
    return answers


def save(session: Session, user_id: str, instruction: dict[str, Any]) -> None:
    """Keep the assessment (the person said yes) and record both consents."""
    role = instruction.get("role") if instruction.get("role") in ROLES else "young"
    share = instruction.get("share") is True
    version = str(instruction.get("consent_version") or load_content().consent_version)[:32]
    raw_flags = instruction.get("flags")
    given = raw_flags if isinstance(raw_flags, dict) else {}
    flags = {name: given.get(name) is True for name in FLAG_NAMES}
    if role == "parent":  # nothing sensitive about a child: only the routing flag
        flags = {"under_16": flags["under_16"]}
    row = session.get(SelfAssessment, user_id)
    if row is None:
        row = SelfAssessment(user_id=user_id)
        session.add(row)
    row.role = str(role)
    row.answers = _clean_answers(str(role), instruction.get("answers"))
    row.flags = flags
    row.shared = share
    row.completed_at = utcnow()
    consents.record(session, user_id, Purpose.KEEP_SELF_ASSESSMENT, True, version)
    consents.record(session, user_id, Purpose.SHARE_SELF_ASSESSMENT, share, version)
    logger.info("self-assessment kept (shared=%s)", share)


def delete_for(session: Session, user_id: str) -> bool:
    """Delete it (not kept, or deleted on request); True when there was one."""
    gone = session.execute(delete(SelfAssessment).where(SelfAssessment.user_id == user_id))
    if gone.rowcount:  # type: ignore[attr-defined]
        version = load_content().consent_version
        consents.record(session, user_id, Purpose.KEEP_SELF_ASSESSMENT, False, version)
        consents.record(session, user_id, Purpose.SHARE_SELF_ASSESSMENT, False, version)
        logger.info("self-assessment deleted")
        return True
    return False


def unshare(session: Session, user_id: str, version: str) -> bool:
    """Stop sharing the kept assessment with référents; True when it was shared."""
    row = session.get(SelfAssessment, user_id)
    if row is None or not row.shared:
        return False
    row.shared = False
    consents.record(session, user_id, Purpose.SHARE_SELF_ASSESSMENT, False, version)
    logger.info("self-assessment no longer shared")
    return True


def kept(session: Session, user_id: str) -> SelfAssessment | None:
    return session.get(SelfAssessment, user_id)


def shared_view(session: Session, user_id: str) -> dict[str, str] | None:
    """What a référent may read: the shared assessment in French labels, else nothing."""
    row = session.get(SelfAssessment, user_id)
    if row is None or not row.shared:
        return None
    view = summary_for_referent(row.answers, "parent" if row.role == "parent" else "young")
    attention = [FLAG_LABELS[name] for name, on in row.flags.items() if on and name in FLAG_LABELS]
    if attention:
        view["Points d'attention"] = ", ".join(attention)
    view["Rempli le"] = row.completed_at.strftime("%d/%m/%Y")
    return view


FLAG_LABELS = {
    "several_barriers": "plusieurs freins",
    "low_confidence": "peu confiant·e en l'avenir",
    "wants_to_talk": "souhaite parler à quelqu'un",
    "under_16": "moins de 16 ans",
}

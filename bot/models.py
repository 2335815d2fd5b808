"""Every table of the application database, imported once for Alembic and tests.

Each table is owned (defined and written) by one module; this file only gathers them.
"""

from bot.conversations.models import Conversation, Message, User
from bot.db import Base
from bot.privacy.links import ExportLink
from bot.privacy.models import Consent
from bot.self_assessment.models import SelfAssessment
from bot.web.sessions import WebChatSession
from handoff.models import (
    ConsoleSession,
    Handoff,
    HandoffEvent,
    HandoffNote,
    Referent,
)

__all__ = [
    "Base",
    "Consent",
    "ConsoleSession",
    "Conversation",
    "ExportLink",
    "Handoff",
    "HandoffEvent",
    "HandoffNote",
    "Message",
    "Referent",
    "SelfAssessment",
    "User",
    "WebChatSession",
]

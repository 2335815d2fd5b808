"""Every table of the application database, imported once for Alembic and tests.

Each table is owned (defined and written) by one module; this file only gathers them.
"""

from bot.appointments.models import (
    Appointment,
    AppointmentOption,
    ContactPreference,
    Reminder,
    SchedulerLease,
)
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
    "Appointment",
    "AppointmentOption",
    "Base",
    "Consent",
    "ConsoleSession",
    "ContactPreference",
    "Conversation",
    "ExportLink",
    "Handoff",
    "HandoffEvent",
    "HandoffNote",
    "Message",
    "Referent",
    "Reminder",
    "SchedulerLease",
    "SelfAssessment",
    "User",
    "WebChatSession",
]

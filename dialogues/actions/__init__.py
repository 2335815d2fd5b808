"""Custom actions, served by the rasa-sdk action server (application runtime).

Each module holds the actions of one feature; importing them here registers them.
"""

from dialogues.actions.conversation import (
    ActionAnswerTopic,
    ActionChangeLanguage,
    ActionHandleFallback,
    ActionIdentifyParent,
    ActionSessionStart,
)

__all__ = [
    "ActionAnswerTopic",
    "ActionChangeLanguage",
    "ActionHandleFallback",
    "ActionIdentifyParent",
    "ActionSessionStart",
]

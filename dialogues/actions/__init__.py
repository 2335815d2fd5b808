"""Custom actions, served by the rasa-sdk action server (application runtime).

Each module holds the actions of one feature; importing them here registers them.
"""

from dialogues.actions.assessment import (
    ActionAskSaKeep,
    ActionManageSelfAssessment,
    ActionSelfAssessmentDone,
    ActionStartSelfAssessment,
    ValidateSelfAssessmentForm,
)
from dialogues.actions.conversation import (
    ActionChangeLanguage,
    ActionHandleFallback,
    ActionIdentifyParent,
    ActionNoAfterFallback,
    ActionSessionStart,
    ActionYesAfterFallback,
)
from dialogues.actions.gateway import ActionAskGateway
from dialogues.actions.handoff import ActionHandoffEnded, ActionRequestHandoff
from dialogues.actions.knowledge import ActionAnswerFaq, ValidatePlaceForm

__all__ = [
    "ActionAnswerFaq",
    "ActionAskGateway",
    "ActionAskSaKeep",
    "ActionChangeLanguage",
    "ActionHandleFallback",
    "ActionHandoffEnded",
    "ActionIdentifyParent",
    "ActionManageSelfAssessment",
    "ActionNoAfterFallback",
    "ActionRequestHandoff",
    "ActionSelfAssessmentDone",
    "ActionSessionStart",
    "ActionStartSelfAssessment",
    "ActionYesAfterFallback",
    "ValidatePlaceForm",
    "ValidateSelfAssessmentForm",
]

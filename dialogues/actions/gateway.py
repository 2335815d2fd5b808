"""Requests the gateway answers itself: appointments, proactive messages, personal data.

These intents are about records the gateway owns (appointments, contact preferences,
consents, stored data), so the dialogue does not answer them: ``action_ask_gateway`` sends
``{"gateway": {"intent": ..., "entities": {...}}}`` and the gateway's service for that
intent writes the reply (``bot.router``). A capability added later on the gateway side
needs no new model.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

# The entities passed on: when ("day", "time") for an appointment, nothing personal else.
PASSED_ENTITIES = ("day", "time")


class ActionAskGateway(Action):
    def name(self) -> str:
        return "action_ask_gateway"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = str((tracker.latest_message.get("intent") or {}).get("name") or "")
        entities = {
            str(e["entity"]): str(e["value"])
            for e in tracker.latest_message.get("entities") or []
            if e.get("entity") in PASSED_ENTITIES and e.get("value") is not None
        }
        dispatcher.utter_message(json_message={"gateway": {"intent": intent, "entities": entities}})
        return []

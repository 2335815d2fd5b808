"""Telling référents and supervisors outside the console: a message to their Telegram chat.

Notifications carry no personal data and no message text: the priority, the reason, the
territory and a link to the console. A failed notification is logged, never raised: the
console shows the queue whatever happens to Telegram.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

REASON_LABELS = {
    "urgent_suicidal_thoughts": "idées suicidaires",
    "urgent_no_shelter": "sans hébergement",
    "urgent_violence": "violences",
    "urgent_no_food_money": "sans argent ni nourriture",
    "apprentice_employer_conflict": "conflit avec l'employeur",
    "apprentice_wants_to_quit": "veut rompre son contrat",
    "mental_health_struggle": "ne va pas bien",
    "request_human": "demande à parler à quelqu'un",
    "appointment_book": "demande un rendez-vous",
    "nlu_fallback": "l'assistant n'a pas compris",
}


def reason_label(reason: str) -> str:
    return REASON_LABELS.get(reason, reason.replace("_", " "))


class Notifier:
    def __init__(
        self,
        console_url: str,
        referents_chat_id: int | None = None,
        supervisors_chat_id: int | None = None,
    ) -> None:
        self.console_url = console_url
        self.referents_chat_id = referents_chat_id
        self.supervisors_chat_id = supervisors_chat_id
        self.bot: Any = None  # telegram.Bot, once the Telegram channel runs

    async def urgent(self, handoff_id: int, territory: str | None) -> None:
        # No reason: "suicidal thoughts" about a possibly minor person has no place in a
        # third-party chat. The console says it to the référent who opens it.
        text = (
            f"🚨 Nouvelle demande URGENTE n°{handoff_id}"
            f"{f' (territoire {territory})' if territory else ''}.\n"
            f"À prendre dans la console : {self.console_url}"
        )
        await self._send(self.referents_chat_id, text)

    async def escalated(self, handoff_id: int, priority: str, territory: str | None) -> None:
        delay = "5 minutes" if priority == "urgent" else "24 heures"
        text = (
            f"⏰ La demande n°{handoff_id} ({priority}"
            f"{f', territoire {territory}' if territory else ''}) attend depuis plus de "
            f"{delay} sans être prise.\nConsole : {self.console_url}"
        )
        await self._send(self.supervisors_chat_id or self.referents_chat_id, text)

    async def _send(self, chat_id: int | None, text: str) -> None:
        if chat_id is None or self.bot is None:
            return
        try:
            await self.bot.send_message(chat_id=chat_id, text=text, disable_web_page_preview=True)
        except Exception:  # Telegram down or refusing: the console still shows everything
            logger.warning("référents' Telegram notification failed", exc_info=True)

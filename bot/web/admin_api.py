"""Admin endpoints behind ``ADMIN_API_TOKEN``: the NLU check for content editors and tests."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict

from bot.engine_client import EngineUnavailableError
from bot.messages import MAX_TEXT
from bot.web.chat_api import bearer, gateway_of
from bot.web.errors import ApiError
from dialogues.knowledge.base import RETRIEVAL_INTENT, topic_of
from handoff.levels import level_of

router = APIRouter(prefix="/api")


class ParseRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    text: str


def require_admin(request: Request, authorization: str | None) -> None:
    expected = gateway_of(request).settings.admin_api_token
    given = bearer(authorization)
    if not expected or not given or not hmac.compare_digest(given, expected):
        raise ApiError(401, "Admin token missing or wrong.", {"WWW-Authenticate": "Bearer"})


@router.post("/nlu/parse")
async def parse(
    request: Request,
    body: ParseRequest,
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """What the assistant understands of a text: intent, faq topic, entities, handoff."""
    require_admin(request, authorization)
    text = body.text.strip()
    if not text:
        raise ApiError(422, "The text is empty.")
    if len(text) > MAX_TEXT:
        raise ApiError(413, f"The text is longer than {MAX_TEXT} characters.")
    try:
        result = await gateway_of(request).engine.parse(text)
    except EngineUnavailableError as exc:
        raise ApiError(503, "The language engine is briefly unavailable.") from exc
    return nlu_summary(result)


def nlu_summary(result: dict[str, Any]) -> dict[str, Any]:
    """Rasa's parse result in the public shape of shared/spec/http-api.md."""
    intent = result.get("intent") or {}
    name = intent.get("name")
    suspected = result.get("danger_suspected") or {}
    understood = suspected.get("understood")
    if name == "nlu_fallback" and understood and understood != name:
        # Turned into the danger question by the danger detector: report what the
        # classifiers read (with its own confidence and level), and the danger asked about.
        intent = next(
            (r for r in result.get("intent_ranking") or [] if r.get("name") == understood),
            {"name": understood, "confidence": 0.0},
        )
        name = understood
    selector = (result.get("response_selector") or {}).get(RETRIEVAL_INTENT) or {}
    key = (selector.get("response") or {}).get("intent_response_key")
    faq_topic = topic_of(key) if name == RETRIEVAL_INTENT else None
    return {
        "intent": name,
        "confidence": round(float(intent.get("confidence") or 0.0), 4),
        "faq_topic": faq_topic,
        "entities": [
            {"entity": e.get("entity"), "value": str(e.get("value"))}
            for e in result.get("entities") or []
        ],
        "handoff": level_of(name),
        # Beyond the spec's shape: the danger the person is asked about (then, instead of
        # the answer to ``intent``) when the danger detector turned the message into that
        # question (nlu/components/danger_detector.py); null otherwise.
        "danger_question": suspected.get("name"),
    }

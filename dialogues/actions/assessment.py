"""The light self-assessment: a Rasa form, one question per message, every one skippable.

Answers live in ``sa_*`` slots while the person answers. At the end the summary card comes
first (strengths, what may get in the way, next steps), then two separate questions: keep
it? share it with a référent? Only a kept assessment leaves the conversation: the action
sends the gateway ``{"self_assessment": {"save": {...}}}`` and the gateway stores it with
the consents (``bot.self_assessment``). Refusing to keep it clears the answers.

Questions, choices and words: ``dialogues/assessment/questions.yml``; rules:
``dialogues.assessment.scoring``.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from dialogues.actions.conversation import (
    DANGER_CHECK_SLOT,
    SUSPECTED_KEY,
    confirmed_danger,
    pending_check,
    user_turns,
)
from dialogues.actions.handoff import handoff_request, session_user_intents
from dialogues.assessment import scoring
from dialogues.assessment.scoring import SKIPPED, Question, Reading, Role
from dialogues.directory.partners import find_partners

FORM = "self_assessment_form"
ANSWER_INTENT = "sa_answer"
START_INTENT = "start_self_assessment"
QUESTION_ENTITY = "sa_question"
CHOICE_ENTITY = "sa_choice"
KEEP, SHARE = "sa_keep", "sa_share"
YES, NO = "yes", "no"
# Messages with these intents are answered in the middle of the questions, then the form
# asks its question again (rules in dialogues/rules/assessment.yml). Dangers always win.
INTERRUPTIONS = frozenset(
    {
        "faq",
        "ask_topic",
        "bot_challenge",
        "privacy_question",
        "mental_health_struggle",
        "self_devaluation",
        "change_language",
        "request_human",
    }
)
URGENT_PREFIX = "urgent_"
URGENT_CONFIDENCE = 0.5
INTERRUPTION_CONFIDENCE = 0.6
YES_WORDS = ("oui", "ouais", "ok", "okay", "d accord", "vas y", "yes", "yep", "sure", "garde")
NO_WORDS = ("non", "nan", "no", "nope", "pas", "surtout pas", "jamais")
STATE_SLOTS = ("sa_stopped", "sa_retry", "sa_summary_shown", "sa_status")
# Slots the form's validation sets besides the questions (kept by ``run``).
FORM_STATE = frozenset(
    {
        "sa_stopped",
        "sa_retry",
        "sa_summary_shown",
        KEEP,
        SHARE,
        DANGER_CHECK_SLOT,
        "sa_offer_pending",
        "sa_then_handoff",
    }
)


def role_of(tracker: Tracker) -> Role:
    return "parent" if tracker.get_slot("role") == "parent" else "young"


def language_of(tracker: Tracker) -> str:
    return "en" if tracker.get_slot("language") == "en" else "fr"


def answers_of(tracker: Tracker) -> scoring.Answers:
    """The answers given so far, by question name."""
    return {
        q.name: tracker.get_slot(q.slot)
        for q in scoring.load_content().questions.values()
        if tracker.get_slot(q.slot) is not None
    }


def cleared_answers() -> list[EventType]:
    """Forget every answer and the keep / share choices (not kept, deleted, or redone)."""
    slots = [q.slot for q in scoring.load_content().questions.values()]
    return [SlotSet(name, None) for name in (*slots, KEEP, SHARE, *STATE_SLOTS)]


def _entity(tracker: Tracker, name: str) -> str | None:
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == name and entity.get("value") is not None:
            return str(entity["value"])
    return None


def _intent(tracker: Tracker) -> tuple[str, float]:
    intent = tracker.latest_message.get("intent") or {}
    return str(intent.get("name") or ""), float(intent.get("confidence") or 0.0)


def is_danger(tracker: Tracker) -> bool:
    name, confidence = _intent(tracker)
    return name.startswith(URGENT_PREFIX) and confidence >= URGENT_CONFIDENCE


# How a question starts when it has no question mark (SMS spellings too: the action may
# see the text as typed).
QUESTION_STARTS = (
    "c'est quoi",
    "c est quoi",
    "qu'est-ce",
    "quest ce",
    "comment",
    "pourquoi",
    "combien",
    "quand",
    "quel ",
    "quelle ",
    "quels ",
    "quelles ",
    "ou ",
    "où ",
    "est-ce",
    "est ce",
    "qui ",
    "je peux",
    "on peut",
    "peut-on",
    "y a",
    "il y a",
    "ya ",
    "what",
    "how ",
    "why ",
    "when ",
    "where",
    "which",
    "who ",
    "can ",
    "could ",
    "is there",
    "are there",
    "do you",
    "do i ",
    "does it",
    "c koi",
    "c quoi",
    "ckoi",
    "koi ",
    "kel ",
    "kan ",
    "koment",
    "pk ",
    "pq ",
    "pkoi",
)
# Intents that may come from topical words in an answer ("le permis et l'argent" reads as
# a question about mobility aid): an interruption only when the message asks something.
TOPIC_INTENTS = frozenset({"faq", "ask_topic"})


def looks_like_question(text: str) -> bool:
    plain = " ".join(text.lower().split())
    return "?" in plain or plain.startswith(QUESTION_STARTS)


def is_interruption(tracker: Tracker) -> bool:
    """A danger, or a question the assistant should answer before asking again."""
    name, confidence = _intent(tracker)
    if is_danger(tracker):
        return True
    return name in INTERRUPTIONS and confidence >= INTERRUPTION_CONFIDENCE


def read_yes_no(text: str) -> str | None:
    plain = scoring.simplify(text)
    if any(plain == w or plain.startswith(w + " ") for w in YES_WORDS):
        return YES
    if any(plain == w or plain.startswith(w + " ") for w in NO_WORDS):
        return NO
    return None


class ValidateSelfAssessmentForm(FormValidationAction):
    """Understands each answer (button or typed), skip and stop; asks again when unclear."""

    def name(self) -> str:
        return "validate_self_assessment_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        extracted = await self.get_extraction_events(dispatcher, tracker, domain)
        tracker.add_slots(extracted)
        validated = await self._extract_validation_events(dispatcher, tracker, domain)
        # rasa-sdk keeps only the slots of the questions still required; the form's own
        # state (stop, retry, keep/share reset on redo) must reach the tracker too.
        names = {event["name"] for event in validated}
        own = [e for e in extracted if e["name"] in FORM_STATE and e["name"] not in names]
        return [*own, *validated]

    async def next_requested_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> EventType | None:
        """Always say which question comes next (rasa-sdk leaves it to Rasa when the list
        happens to equal the domain's, which would make the order depend on chance)."""
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        missing = (slot for slot in required if tracker.slots.get(slot) is None)
        return SlotSet("requested_slot", next(missing, None))

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot("sa_stopped"):
            return []  # "stop": the form ends; the answers so far stay for a later resume
        role = role_of(tracker)
        slots = scoring.answer_slots(role)
        if scoring.is_empty(answers_of(tracker), role) and all(
            tracker.get_slot(s) is not None for s in slots
        ):
            return slots  # everything skipped: nothing to keep or share
        slots.append(KEEP)
        if tracker.get_slot(KEEP) == YES:
            slots.append(SHARE)
        return slots

    async def extract_sa_keep(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._yes_no(KEEP, dispatcher, tracker)

    async def extract_sa_share(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._yes_no(SHARE, dispatcher, tracker)

    def _yes_no(
        self, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != slot:
            return {}
        name, _ = _intent(tracker)
        checked = self._danger_check(dispatcher, tracker, name)
        if checked is not None:
            return checked
        if name == ANSWER_INTENT:
            if _entity(tracker, QUESTION_ENTITY) != slot.removeprefix("sa_"):
                return self._stale(dispatcher, tracker)
            choice = _entity(tracker, CHOICE_ENTITY)
            return {slot: choice} if choice in (YES, NO) else self._unclear(dispatcher, tracker)
        if is_interruption(tracker):
            return {}
        if name in ("affirm", "deny"):
            return {slot: YES if name == "affirm" else NO}
        answer = read_yes_no(tracker.latest_message.get("text") or "")
        return {slot: answer} if answer else self._unclear(dispatcher, tracker)

    def extract_question(
        self, question: Question, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """Fill the question being asked from the latest message, if it answers it."""
        if tracker.get_slot("requested_slot") != question.slot:
            return {}
        name, _ = _intent(tracker)
        if name == START_INTENT and _entity(tracker, CHOICE_ENTITY) == "redo":
            dispatcher.utter_message(response="utter_sa_intro_again")
            slots = [q.slot for q in scoring.load_content().questions.values()]
            return dict.fromkeys([*slots, KEEP, SHARE, "sa_summary_shown"]) | {"sa_retry": 0}
        if name == ANSWER_INTENT:
            if _entity(tracker, QUESTION_ENTITY) != question.name:
                return self._stale(dispatcher, tracker)
            reading = scoring.read_choice(question, _entity(tracker, CHOICE_ENTITY) or "")
        else:
            text = tracker.latest_message.get("text") or ""
            if is_danger(tracker):
                return {}  # the urgent answer comes first, always (its own rule)
            checked = self._danger_check(dispatcher, tracker, name)
            if checked is not None:
                return checked
            asks = looks_like_question(text)
            if is_interruption(tracker) and (
                asks or (question.kind == "text" and name not in TOPIC_INTENTS)
            ):
                return {}  # a question: answered by its rule, then this one comes again
            reading = scoring.read_answer(question, text)
            if reading.kind == "unclear" and is_interruption(tracker):
                return {}
        return self._apply(question, reading, dispatcher, tracker)

    def _apply(
        self,
        question: Question,
        reading: Reading,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
    ) -> dict[str, Any]:
        if reading.kind == "stop":
            return {"sa_stopped": True}
        if reading.kind == "skip":
            return {question.slot: SKIPPED}
        if reading.kind == "answer":
            return {question.slot: reading.value}
        return self._unclear(dispatcher, tracker)

    def _danger_check(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, name: str
    ) -> dict[str, Any] | None:
        """A message the danger detector marked (nlu/components/danger_detector.py): asked
        whether the person is in danger, before the question again. The reply right after
        it is read as a reply to it, not as an answer to the form's question: the "Oui"
        button is the urgent intent (its rule stops the form, numbers first); a typed yes
        or a request for a person gets the same, here; a no gets "tant mieux" and the form's
        question again. None when neither applies (the form reads the message)."""
        danger = str((tracker.latest_message.get(SUSPECTED_KEY) or {}).get("name") or "")
        retry = {"sa_retry": int(tracker.get_slot("sa_retry") or 0) + 1}
        if danger.startswith(URGENT_PREFIX):
            dispatcher.utter_message(response="utter_check_danger", danger_payload=f"/{danger}")
            asked = {"danger": danger, "intent": None, "topic": None, "turn": user_turns(tracker)}
            return {**retry, DANGER_CHECK_SLOT: asked}
        check = pending_check(tracker)
        if check is None or name.startswith(URGENT_PREFIX):
            return None
        said = read_yes_no(tracker.latest_message.get("text") or "")
        if name in ("affirm", "request_human") or (name != "deny" and said == YES):
            events = confirmed_danger(dispatcher, tracker, str(check["danger"]))
            return {**{e["name"]: e["value"] for e in events}, "sa_stopped": True}
        if name == "deny" or said == NO:
            dispatcher.utter_message(response="utter_glad_not_in_danger")
            return {**retry, DANGER_CHECK_SLOT: None}
        return None

    def _unclear(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        """Not an answer, not a question: say so kindly; the form asks again. (Setting a
        slot keeps the form going instead of letting another rule guess.)"""
        dispatcher.utter_message(response="utter_sa_unclear")
        return {"sa_retry": int(tracker.get_slot("sa_retry") or 0) + 1}

    def _stale(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        """A button of an earlier question (pressed twice, or late): nothing changes."""
        dispatcher.utter_message(response="utter_sa_already_noted")
        return {"sa_retry": int(tracker.get_slot("sa_retry") or 0) + 1}


def _make_extractor(question: Question) -> Any:
    async def extract(
        self: ValidateSelfAssessmentForm,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return self.extract_question(question, dispatcher, tracker)

    extract.__name__ = f"extract_{question.slot}"
    return extract


# One extract_sa_<question> per question of questions.yml (rasa-sdk finds them by name).
for _question in scoring.load_content().questions.values():
    setattr(ValidateSelfAssessmentForm, f"extract_{_question.slot}", _make_extractor(_question))


def place_known(tracker: Tracker, answers: scoring.Answers) -> bool:
    place = answers.get("place")
    if not place or place == SKIPPED:
        place = tracker.get_slot("place")
    return bool(place) and bool(find_partners(str(place)))


def show_summary(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """The card: strengths first, what may get in the way, then the next steps."""
    answers = answers_of(tracker)
    language = language_of(tracker)
    found = scoring.strengths(answers, language)
    if found:
        dispatcher.utter_message(
            response="utter_sa_summary_strengths", strengths=scoring.join_words(found, language)
        )
    else:
        dispatcher.utter_message(response="utter_sa_summary_no_strengths")
    blocking = scoring.barriers(answers, language)
    if blocking:
        dispatcher.utter_message(
            response="utter_sa_summary_barriers", barriers=scoring.join_words(blocking, language)
        )
    key = f"parent_{language}" if role_of(tracker) == "parent" else language
    buttons = [
        {"title": step.titles.get(key, step.titles[language]), "payload": step.payload}
        for step in scoring.next_steps(answers, place_known(tracker, answers))
    ]
    dispatcher.utter_message(response="utter_sa_summary_steps", buttons=buttons)


class ActionAskSaKeep(Action):
    """Before asking to keep it: the summary card (once, not again after an interruption)."""

    def name(self) -> str:
        return "action_ask_sa_keep"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if not tracker.get_slot("sa_summary_shown"):
            show_summary(dispatcher, tracker)
        dispatcher.utter_message(response="utter_ask_sa_keep")
        return [SlotSet("sa_summary_shown", True)]


class ActionStartSelfAssessment(Action):
    """Start, resume where it stopped, or redo; the form runs next (a rule)."""

    def name(self) -> str:
        return "action_start_self_assessment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        choice = _entity(tracker, CHOICE_ENTITY)
        events: list[EventType] = []
        answered = bool(answers_of(tracker))
        finished = tracker.get_slot("sa_status") == "done"
        if choice == "redo" or finished or not answered:
            events += cleared_answers()
            again = finished or choice == "redo"
            dispatcher.utter_message(response="utter_sa_intro_again" if again else "utter_sa_intro")
        else:
            dispatcher.utter_message(response="utter_sa_resume")
            events += [SlotSet("sa_stopped", False), SlotSet("sa_retry", 0)]
        # A yes to the offer before a handoff (its button, or a typed yes right after it):
        # the handoff follows the questions. Any other start does not lead to a person.
        then_handoff = choice == "before_handoff" or bool(tracker.get_slot("sa_offer_pending"))
        # sa_offer_pending stays as it is until the questions end: the rule that got here
        # on a typed yes still matches when it predicts the form (done resets it).
        events += [
            SlotSet("sa_then_handoff", then_handoff),
            SlotSet("sa_status", "in_progress"),
        ]
        return events


class ActionSelfAssessmentDone(Action):
    """The form ended: stopped, or finished; store it only if the person said so."""

    def name(self) -> str:
        return "action_self_assessment_done"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        role = role_of(tracker)
        answers = answers_of(tracker)
        events: list[EventType] = [SlotSet("sa_retry", None), SlotSet("sa_offer_pending", False)]
        shared_flags: scoring.Flags | None = None
        if tracker.get_slot("sa_stopped"):
            dispatcher.utter_message(response="utter_sa_stopped")
            events.append(SlotSet("sa_status", "stopped"))
        elif scoring.is_empty(answers, role):
            dispatcher.utter_message(response="utter_sa_all_skipped")
            events += [*cleared_answers(), SlotSet("sa_status", "done")]
        elif tracker.get_slot(KEEP) == YES:
            share = tracker.get_slot(SHARE) == YES
            found = scoring.flags(answers)
            shared_flags = found if share else None
            dispatcher.utter_message(
                json_message={
                    "self_assessment": {
                        "save": {
                            "role": role,
                            "answers": answers,
                            "flags": found.as_dict(),
                            "share": share,
                            "consent_version": scoring.load_content().consent_version,
                        }
                    }
                }
            )
            dispatcher.utter_message(
                response="utter_sa_kept_shared" if share else "utter_sa_kept_private"
            )
            events.append(SlotSet("sa_status", "done"))
        else:
            # Not kept: nothing stored, and the answers leave the conversation's slots.
            dispatcher.utter_message(json_message={"self_assessment": {"delete": True}})
            dispatcher.utter_message(response="utter_sa_not_kept")
            events += [*cleared_answers(), SlotSet("sa_status", "done")]
        if tracker.get_slot("sa_then_handoff"):
            events.append(SlotSet("sa_then_handoff", False))
            dispatcher.utter_message(
                json_message={"handoff": handoff_instruction(tracker, answers, shared_flags)}
            )
        return events


def handoff_instruction(
    tracker: Tracker, answers: scoring.Answers, shared_flags: scoring.Flags | None
) -> dict[str, Any]:
    """The handoff asked before the questions, now with what the person chose to share.

    The age band always routes (under 16 goes to référents who serve them); the other flags
    raise the priority only when the person agreed to share the assessment.
    """
    saved = tracker.get_slot("sa_handoff_request") or {}
    priority = str(saved.get("priority") or "normal")
    reason = str(saved.get("reason") or "request_human")
    if saved == {}:
        priority, reason = handoff_request(session_user_intents(tracker))
    if shared_flags is not None:
        priority = scoring.handoff_priority(priority, shared_flags)
    place = answers.get("place")
    return {
        "priority": priority,
        "reason": reason,
        "place": place if place and place != SKIPPED else tracker.get_slot("place"),
        "age": tracker.get_slot("age") or scoring.age_for_routing(answers),
        "role": tracker.get_slot("role") or "young",
        "self_assessment_shared": shared_flags is not None,
    }


class ActionManageSelfAssessment(Action):
    """The buttons after the questions: see my assessment, delete it; or a late button."""

    def name(self) -> str:
        return "action_manage_self_assessment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        choice = _entity(tracker, CHOICE_ENTITY)
        kept = tracker.get_slot("sa_status") == "done" and tracker.get_slot(KEEP) == YES
        if choice == "show":
            if kept:
                show_summary(dispatcher, tracker)
                return []
            dispatcher.utter_message(response="utter_sa_nothing_kept")
            return []
        if choice == "delete":
            dispatcher.utter_message(json_message={"self_assessment": {"delete": True}})
            dispatcher.utter_message(response="utter_sa_deleted")
            return cleared_answers()
        # A question's button pressed after the questions ended.
        dispatcher.utter_message(response="utter_sa_over")
        return []

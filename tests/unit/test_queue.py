"""The queue's rules: order, position, routing, capacity, claims, release, transfer,
one open handoff per conversation, escalation. On SQLite and (``-m postgres``) PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.conversations import store
from bot.conversations.models import Channel, Conversation, new_id
from bot.db import session_scope, utcnow
from handoff import queue
from handoff.models import (
    Handoff,
    HandoffEvent,
    HandoffStatus,
    Outcome,
    Priority,
    Referent,
    Role,
)
from handoff.queue import ClaimResult, QueueError

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def s(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with session_scope(sessions) as session:
        yield session


def conversation(s: Session) -> Conversation:
    user = store.get_or_create_user(s, Channel.WEB, new_id())
    return store.current_conversation(s, user)


def referent(
    s: Session,
    territories: Sequence[str] = ("a",),
    *,
    under_16: bool = False,
    role: Role = Role.REFERENT,
    capacity: int = 50,
) -> Referent:
    person = Referent(
        email=f"{new_id()}@example.org",
        display_name="Camille",
        password_hash="not-a-real-hash",
        role=role,
        territories=list(territories),
        serves_under_16=under_16,
        capacity=capacity,
    )
    s.add(person)
    s.flush()
    return person


def waiting_handoff(
    s: Session,
    priority: Priority = Priority.NORMAL,
    *,
    territory: str | None = None,
    under_16: bool = False,
    queued_at: dt.datetime | None = None,
) -> Handoff:
    conv = conversation(s)
    req = queue.Request(conv.id, conv.user_id, priority, "request_human", territory, under_16)
    handoff, created = queue.request(s, req)
    assert created
    if handoff.status is HandoffStatus.REQUESTED:
        queue.answer_consent(s, handoff, share_history=False)
    assert handoff.status is HandoffStatus.WAITING
    if queued_at is not None:
        handoff.queued_at = queued_at
    s.flush()
    return handoff


def ids(handoffs: Sequence[Handoff]) -> list[int]:
    return [h.id for h in handoffs]


def events(s: Session, handoff: Handoff, kind: str) -> int:
    return (
        s.scalar(
            select(func.count()).where(
                HandoffEvent.handoff_id == handoff.id, HandoffEvent.kind == kind
            )
        )
        or 0
    )


def test_order_is_priority_then_time_queued(s: Session) -> None:
    minute = dt.timedelta(minutes=1)
    normal_late = waiting_handoff(s, Priority.NORMAL, queued_at=T0 + 2 * minute)
    normal_early = waiting_handoff(s, Priority.NORMAL, queued_at=T0)
    high_late = waiting_handoff(s, Priority.HIGH, queued_at=T0 + 3 * minute)
    urgent = waiting_handoff(s, Priority.URGENT, queued_at=T0 + 4 * minute)
    high_early = waiting_handoff(s, Priority.HIGH, queued_at=T0 + minute)
    expected = ids([urgent, high_early, high_late, normal_early, normal_late])
    assert ids(queue.waiting(s)) == expected
    assert ids(queue.waiting(s, referent(s))) == expected


def test_position_counts_what_is_served_first_in_the_same_pool(s: Session) -> None:
    minute = dt.timedelta(minutes=1)
    first = waiting_handoff(s, queued_at=T0)
    second = waiting_handoff(s, queued_at=T0 + minute)
    urgent = waiting_handoff(s, Priority.URGENT, queued_at=T0 + 2 * minute)
    elsewhere = waiting_handoff(s, territory="b", queued_at=T0 - minute)
    assert [queue.position(s, h) for h in (urgent, first, second)] == [1, 2, 3]
    # Another territory is another pool: its own line, not counted ahead of the others.
    assert queue.position(s, elsewhere) == 1

    assert queue.claim(s, urgent.id, referent(s)) is ClaimResult.CLAIMED
    assert queue.position(s, urgent) is None  # no longer waiting
    assert [queue.position(s, h) for h in (first, second)] == [1, 2]


def test_routing_by_territory_age_and_role(s: Session) -> None:
    in_a = waiting_handoff(s, territory="a")
    in_b = waiting_handoff(s, territory="b")
    nowhere = waiting_handoff(s)  # territory unknown: visible to everyone
    young_a = waiting_handoff(s, territory="a", under_16=True)
    young_nowhere = waiting_handoff(s, under_16=True)

    local = referent(s, ["a"])
    school = referent(s, ["a"], under_16=True)
    other = referent(s, ["b"])
    no_territory = referent(s, [])
    supervisor = referent(s, [], role=Role.SUPERVISOR)

    seen = {
        "local": {in_a.id, nowhere.id},
        "school": {in_a.id, nowhere.id, young_a.id, young_nowhere.id},
        "other": {in_b.id, nowhere.id},
        "no_territory": {nowhere.id},
        "supervisor": {in_a.id, in_b.id, nowhere.id, young_a.id, young_nowhere.id},
    }
    people = {
        "local": local,
        "school": school,
        "other": other,
        "no_territory": no_territory,
        "supervisor": supervisor,
    }
    everything = queue.waiting(s)
    for name, person in people.items():
        assert set(ids(queue.waiting(s, person))) == seen[name], name
        # The SQL filter (queue list) and the Python check (claim) agree.
        assert {h.id for h in everything if queue.can_see(person, h)} == seen[name], name

    assert queue.claim(s, in_b.id, local) is ClaimResult.NOT_VISIBLE
    assert queue.claim(s, young_a.id, local) is ClaimResult.NOT_VISIBLE
    assert queue.claim(s, young_a.id, school) is ClaimResult.CLAIMED
    assert queue.claim(s, in_b.id, supervisor) is ClaimResult.CLAIMED
    assert queue.claim(s, 10**9, local) is ClaimResult.NOT_FOUND


def test_claim_refused_at_capacity(s: Session) -> None:
    person = referent(s, capacity=2)
    first, second, third = (waiting_handoff(s) for _ in range(3))
    assert queue.claim(s, first.id, person) is ClaimResult.CLAIMED
    assert queue.claim(s, second.id, person) is ClaimResult.CLAIMED
    assert queue.claim(s, third.id, person) is ClaimResult.AT_CAPACITY
    s.refresh(third)
    assert third.status is HandoffStatus.WAITING
    assert third.referent_id is None
    assert events(s, third, "claimed") == 0

    queue.close(s, first, person, Outcome.INFORMATION_GIVEN)
    assert queue.claim(s, third.id, person) is ClaimResult.CLAIMED


def test_capacity_holds_when_one_referent_claims_several_at_once(
    sessions: sessionmaker[Session],
) -> None:
    """Two console tabs, or quick clicks on several lines: the claims arrive together."""
    capacity, attempts = 3, 8
    with session_scope(sessions) as s:
        handoff_ids = [waiting_handoff(s).id for _ in range(attempts)]
        person_id = referent(s, capacity=capacity).id
    start = threading.Barrier(attempts)

    def claim(handoff_id: int) -> ClaimResult:
        start.wait()
        with session_scope(sessions) as s:
            person = s.get(Referent, person_id)
            assert person is not None
            return queue.claim(s, handoff_id, person)

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        results = Counter(pool.map(claim, handoff_ids))
    assert results == {ClaimResult.CLAIMED: capacity, ClaimResult.AT_CAPACITY: attempts - capacity}
    with session_scope(sessions) as s:
        assert queue.active_count(s, person_id) == capacity


def test_claim_of_a_taken_handoff_gives_already_taken(s: Session) -> None:
    handoff = waiting_handoff(s)
    fast, slow = referent(s), referent(s)
    assert queue.claim(s, handoff.id, fast) is ClaimResult.CLAIMED
    assert queue.claim(s, handoff.id, slow) is ClaimResult.ALREADY_TAKEN
    assert queue.claim(s, handoff.id, fast) is ClaimResult.ALREADY_TAKEN
    s.refresh(handoff)
    assert handoff.referent_id == fast.id
    assert handoff.claimed_at is not None
    assert events(s, handoff, "claimed") == 1

    queue.close(s, handoff, fast, Outcome.NO_ANSWER)
    assert queue.claim(s, handoff.id, slow) is ClaimResult.NO_LONGER_WAITING


def test_release_puts_it_back_at_its_original_place(s: Session) -> None:
    minute = dt.timedelta(minutes=1)
    first = waiting_handoff(s, queued_at=T0)
    waiting_handoff(s, queued_at=T0 + minute)
    waiting_handoff(s, queued_at=T0 + 2 * minute)
    before = ids(queue.waiting(s))
    holder, colleague = referent(s), referent(s)

    assert queue.claim(s, first.id, holder) is ClaimResult.CLAIMED
    assert ids(queue.waiting(s)) == before[1:]
    with pytest.raises(QueueError):
        queue.release(s, first, colleague)  # only the holder (or a supervisor)

    queue.release(s, first, holder)
    s.flush()
    assert ids(queue.waiting(s)) == before
    assert queue.position(s, first) == 1
    assert first.queued_at == T0
    assert first.referent_id is None
    assert first.claimed_at is None
    assert events(s, first, "released") == 1
    assert queue.claim(s, first.id, colleague) is ClaimResult.CLAIMED


def test_transfer_only_to_a_colleague_who_may_see_it_and_has_room(s: Session) -> None:
    handoff = waiting_handoff(s, territory="a")
    holder = referent(s, ["a"])
    assert queue.claim(s, handoff.id, holder) is ClaimResult.CLAIMED

    with pytest.raises(QueueError):
        queue.transfer(s, handoff, holder, referent(s, ["b"]))
    full = referent(s, ["a"], capacity=1)
    assert queue.claim(s, waiting_handoff(s, territory="a").id, full) is ClaimResult.CLAIMED
    with pytest.raises(QueueError):
        queue.transfer(s, handoff, holder, full)
    s.refresh(handoff)
    assert handoff.referent_id == holder.id

    colleague = referent(s, ["a"])
    queue.transfer(s, handoff, holder, colleague)
    s.flush()
    s.refresh(handoff)
    assert handoff.referent_id == colleague.id
    assert handoff.status is HandoffStatus.ASSIGNED
    assert events(s, handoff, "transferred") == 1


def test_one_open_handoff_per_conversation(s: Session) -> None:
    conv = conversation(s)

    def ask(priority: Priority, reason: str = "request_human") -> tuple[Handoff, bool]:
        return queue.request(s, queue.Request(conv.id, conv.user_id, priority, reason))

    handoff, created = ask(Priority.NORMAL)
    assert created
    assert handoff.status is HandoffStatus.REQUESTED

    again, created = ask(Priority.HIGH, "nlu_fallback")
    assert not created
    assert again.id == handoff.id
    assert (handoff.priority, handoff.priority_rank) == (Priority.HIGH, 1)
    assert handoff.status is HandoffStatus.REQUESTED  # still waits for the consent answer

    again, created = ask(Priority.URGENT, "urgent_violence")
    assert not created
    assert again.id == handoff.id
    assert handoff.priority is Priority.URGENT
    assert handoff.status is HandoffStatus.WAITING
    assert handoff.queued_at is not None

    _, created = ask(Priority.NORMAL)  # never lowered
    assert not created
    assert handoff.priority is Priority.URGENT
    s.flush()
    count = select(func.count()).where(Handoff.conversation_id == conv.id)
    assert s.scalar(count) == 1
    assert events(s, handoff, "priority_raised") == 2

    # Once it is over, a new request opens a new handoff.
    supervisor = referent(s, role=Role.SUPERVISOR)
    assert queue.claim(s, handoff.id, supervisor) is ClaimResult.CLAIMED
    queue.close(s, handoff, supervisor, Outcome.NO_ANSWER)
    fresh, created = ask(Priority.NORMAL)
    assert created
    assert fresh.id != handoff.id
    assert s.scalar(count) == 2


def test_database_refuses_a_second_open_handoff(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as s:
        conv = conversation(s)
        queue.request(s, queue.Request(conv.id, conv.user_id, Priority.NORMAL, "request_human"))
        conv_id, user_id = conv.id, conv.user_id
    # Bypassing the service: the partial unique index holds on both backends.
    with pytest.raises(IntegrityError), session_scope(sessions) as s:
        s.add(
            Handoff(
                conversation_id=conv_id,
                user_id=user_id,
                status=HandoffStatus.WAITING,
                priority=Priority.NORMAL,
                priority_rank=Priority.NORMAL.rank,
                reason="request_human",
            )
        )


def test_escalation_after_5_minutes_urgent_24_hours_others_once(s: Session) -> None:
    now = utcnow()
    second = dt.timedelta(seconds=1)
    urgent_due = waiting_handoff(s, Priority.URGENT, queued_at=now - dt.timedelta(minutes=5))
    urgent_soon = waiting_handoff(
        s, Priority.URGENT, queued_at=now - dt.timedelta(minutes=5) + second
    )
    normal_due = waiting_handoff(s, Priority.NORMAL, queued_at=now - dt.timedelta(hours=24))
    high_due = waiting_handoff(s, Priority.HIGH, queued_at=now - dt.timedelta(hours=25))
    high_soon = waiting_handoff(s, Priority.HIGH, queued_at=now - dt.timedelta(hours=24) + second)
    held = waiting_handoff(s, Priority.URGENT, queued_at=now - dt.timedelta(hours=1))
    assert queue.claim(s, held.id, referent(s, role=Role.SUPERVISOR)) is ClaimResult.CLAIMED
    # Waiting for the consent answer is not waiting in the queue.
    conv = conversation(s)
    queue.request(s, queue.Request(conv.id, conv.user_id, Priority.NORMAL, "request_human"))

    due = queue.due_for_escalation(s, now)
    assert set(ids(due)) == {urgent_due.id, normal_due.id, high_due.id}
    assert all(h.escalated_at == now for h in due)
    s.flush()
    # Once only: the next runs pick up the newly due ones, never the escalated ones again.
    assert queue.due_for_escalation(s, now) == []
    later = queue.due_for_escalation(s, now + dt.timedelta(hours=48))
    assert set(ids(later)) == {urgent_soon.id, high_soon.id}
    s.flush()
    assert [events(s, h, "escalated") for h in due + later] == [1] * 5

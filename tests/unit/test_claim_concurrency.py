"""Concurrent claims by 20 référents on 200 waiting conversations give zero double
assignments, on SQLite and (``-m postgres``) PostgreSQL.

Every référent (one thread, one session per claim, like one console request per click)
tries to take every handoff, in its own shuffled order, all starting at the same moment.
Capacity is far above 200 so that only the race decides who gets what.
"""

from __future__ import annotations

import math
import random
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.conversations import store
from bot.conversations.models import Channel, new_id
from bot.db import make_engine, make_session_factory, session_scope
from handoff import queue
from handoff.models import Handoff, HandoffEvent, HandoffStatus, Priority, Referent
from handoff.queue import ClaimResult

HANDOFFS = 200
REFERENTS = 20
PRIORITIES = (Priority.URGENT, Priority.HIGH, Priority.NORMAL)


def _setup(sessions: sessionmaker[Session]) -> tuple[list[int], list[str]]:
    with session_scope(sessions) as s:
        handoff_ids = []
        for i in range(HANDOFFS):
            user = store.get_or_create_user(s, Channel.WEB, new_id())
            conv = store.current_conversation(s, user)
            req = queue.Request(conv.id, user.id, PRIORITIES[i % 3], "request_human", "demo")
            handoff, _ = queue.request(s, req)
            if handoff.status is HandoffStatus.REQUESTED:
                queue.answer_consent(s, handoff, share_history=False)
            handoff_ids.append(handoff.id)
        referents = [
            Referent(
                email=f"referent{n}@example.org",
                display_name=f"Référent {n}",
                password_hash="not-a-real-hash",
                territories=["demo"],
                capacity=1000,
            )
            for n in range(REFERENTS)
        ]
        s.add_all(referents)
        s.flush()
        return handoff_ids, [r.id for r in referents]


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """The shared ``sessions`` fixture (same SQLite / PostgreSQL parametrisation), but with
    a connection pool that fits the 20 threads: the default pool (5 + 10 overflow) would
    leave 5 référents waiting for a connection, out of the race, and time that wait."""
    engine = make_engine(database_url, pool_size=REFERENTS)
    yield make_session_factory(engine)
    engine.dispose()


def test_concurrent_claims_never_assign_twice(sessions: sessionmaker[Session]) -> None:
    handoff_ids, referent_ids = _setup(sessions)
    start = threading.Barrier(REFERENTS)
    retries = Counter[str]()

    def claim_one(handoff_id: int, referent_id: str) -> ClaimResult:
        while True:
            try:
                with session_scope(sessions) as s:
                    referent = s.get(Referent, referent_id)
                    assert referent is not None
                    return queue.claim(s, handoff_id, referent)
            except OperationalError as error:
                # SQLite has one writer at a time; the engine waits up to 30 s
                # (busy_timeout), so this should not happen, but if SQLite still answers
                # "database is locked" the claim is retried: an error is never a claim.
                if "database is locked" not in str(error):
                    raise
                retries[referent_id] += 1

    def referent_run(index: int) -> tuple[str, Counter[ClaimResult], list[float]]:
        referent_id = referent_ids[index]
        order = list(handoff_ids)
        random.Random(index).shuffle(order)
        results: Counter[ClaimResult] = Counter()
        latencies = []
        start.wait()
        for handoff_id in order:
            began = time.perf_counter()
            results[claim_one(handoff_id, referent_id)] += 1
            latencies.append(time.perf_counter() - began)
        return referent_id, results, latencies

    with ThreadPoolExecutor(max_workers=REFERENTS) as pool:
        runs = [f.result() for f in [pool.submit(referent_run, i) for i in range(REFERENTS)]]

    claimed = {referent_id: results[ClaimResult.CLAIMED] for referent_id, results, _ in runs}
    for _, results, _ in runs:
        # Anything but a win is "someone else was faster".
        assert set(results) <= {ClaimResult.CLAIMED, ClaimResult.ALREADY_TAKEN}
        assert results.total() == HANDOFFS
    assert sum(claimed.values()) == HANDOFFS

    with session_scope(sessions) as s:
        rows = s.execute(select(Handoff.status, Handoff.referent_id)).all()
        assert len(rows) == HANDOFFS
        assert all(status is HandoffStatus.ASSIGNED for status, _ in rows)
        assert all(referent_id is not None for _, referent_id in rows)
        held = Counter(referent_id for _, referent_id in rows)
        assert held == Counter({r: n for r, n in claimed.items() if n})
        claim_events = s.scalar(select(func.count()).where(HandoffEvent.kind == "claimed"))
        assert claim_events == HANDOFFS
        per_handoff = (
            s.execute(
                select(HandoffEvent.handoff_id, func.count())
                .where(HandoffEvent.kind == "claimed")
                .group_by(HandoffEvent.handoff_id)
            )
            .tuples()
            .all()
        )
        assert dict(per_handoff) == dict.fromkeys(handoff_ids, 1)
        backend = s.get_bind().dialect.name

    latencies = sorted(seconds * 1000 for _, _, run in runs for seconds in run)
    p95 = latencies[math.ceil(0.95 * len(latencies)) - 1]
    print(
        f"\n[{backend}] {len(latencies)} claim attempts by {REFERENTS} référents: "
        f"median {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms, "
        f"max {latencies[-1]:.1f} ms; wins per référent {sorted(claimed.values())}; "
        f"'database is locked' retries: {sum(retries.values())}"
    )

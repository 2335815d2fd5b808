"""The reminder scheduler with a controllable clock: due reminders go once, whatever runs
twice; a second instance never sends while the first leads, and takes over when it dies;
reminders due while nothing ran are sent if still useful, skipped with a log line if not.
The last tests use the real clock and APScheduler's persistent job store."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.appointments import sending, service, texts
from bot.appointments.models import Mode, Reminder, ReminderKind, ReminderStatus, apscheduler_jobs
from bot.appointments.planning import PARIS, ReminderConfig
from bot.appointments.scheduler import ReminderScheduler
from bot.db import session_scope, utcnow
from bot.messages import OutboundMessage
from tests.utils.reminder_worker import add_user

START = dt.datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)
TTL = dt.timedelta(seconds=30)


class FakeClock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now.astimezone(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)

    def set(self, moment: dt.datetime) -> None:
        self.now = moment.astimezone(dt.UTC)


class Sink:
    """Records what would be pushed; can be told to fail, like a router whose database
    is unreachable."""

    def __init__(self) -> None:
        self.pushed: list[tuple[str, OutboundMessage]] = []
        self.at: list[dt.datetime] = []
        self.failing = False

    async def __call__(self, user_id: str, message: OutboundMessage) -> None:
        if self.failing:
            raise ConnectionError("router unavailable")
        self.pushed.append((user_id, message))
        self.at.append(utcnow())

    def counts(self) -> Counter[str]:
        return Counter(user_id for user_id, _ in self.pushed)


def schedule(
    sessions: sessionmaker[Session],
    count: int,
    starts_at: dt.datetime,
    now: dt.datetime,
    config: ReminderConfig | None = None,
) -> list[str]:
    with session_scope(sessions) as session:
        users = []
        for _ in range(count):
            user_id = add_user(session)
            service.create(
                session,
                user_id=user_id,
                starts_at=starts_at,
                mode=Mode.PHONE,
                now=now,
                **({"config": config} if config else {}),
            )
            users.append(user_id)
        return users


def scheduler(
    sessions: sessionmaker[Session], sink: Sink, clock: FakeClock, **options: object
) -> ReminderScheduler:
    return ReminderScheduler(sessions, sink, clock=clock, lease_ttl=TTL, use_jobs=False, **options)  # type: ignore[arg-type]


def statuses(sessions: sessionmaker[Session]) -> Counter[tuple[ReminderKind, ReminderStatus]]:
    with session_scope(sessions) as session:
        return Counter((r.kind, r.status) for r in session.scalars(select(Reminder)))


async def test_due_reminders_go_once_however_often_the_run_repeats(
    sessions: sessionmaker[Session],
) -> None:
    clock, sink = FakeClock(START), Sink()
    users = schedule(sessions, 5, START + dt.timedelta(days=2, hours=5), START)
    instance = scheduler(sessions, sink, clock)
    assert await instance.tick()
    assert (await instance.run_due()).sent == 0  # nothing due yet
    clock.set(START + dt.timedelta(days=1, hours=9, minutes=1))  # 18:01 the day before
    await instance.tick()  # the lease loop renews as time goes by
    first, second = await instance.run_due(), await instance.run_due()
    assert (first.sent, second.sent) == (5, 0)
    assert sink.counts() == Counter(users)
    assert all("demain" in (m.text or "") for _, m in sink.pushed)
    await instance.stop()


async def test_two_instances_never_both_send(sessions: sessionmaker[Session]) -> None:
    clock, sink_a, sink_b = FakeClock(START), Sink(), Sink()
    users = schedule(sessions, 4, START + dt.timedelta(days=1, hours=5), START)
    a, b = scheduler(sessions, sink_a, clock), scheduler(sessions, sink_b, clock)
    assert await a.tick()
    assert not await b.tick()
    clock.set(START + dt.timedelta(hours=9, minutes=1))  # day-before reminders due
    assert await a.tick()
    assert not await b.tick()
    await asyncio.gather(a.run_due(), b.run_due())
    assert sink_a.counts() == Counter(users)
    assert not sink_b.pushed

    # A dies without a word; B takes over once the lease has expired.
    clock.advance(seconds=TTL.total_seconds() / 2)
    assert not await b.tick()
    clock.advance(seconds=TTL.total_seconds() / 2)
    assert await b.tick()
    clock.set(START + dt.timedelta(days=1, hours=3, minutes=1))  # two hours before
    assert await b.tick()
    # A comes back from a long pause believing it still leads: the claim's lease check
    # stops it.
    a.lease.expires_at = clock() + TTL
    await asyncio.gather(a.run_due(), b.run_due())
    assert len(sink_a.pushed) == 4
    assert sink_b.counts() == Counter(users)
    await a.stop()
    await b.stop()


async def test_standby_takes_over_at_once_when_the_leader_stops(
    sessions: sessionmaker[Session],
) -> None:
    clock = FakeClock(START)
    a, b = scheduler(sessions, Sink(), clock), scheduler(sessions, Sink(), clock)
    assert await a.tick()
    assert not await b.tick()
    await a.stop()
    assert await b.tick()
    assert not await a.tick()
    await b.stop()


async def test_reminders_due_while_down_go_if_useful_and_are_skipped_if_not(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    clock, sink = FakeClock(START), Sink()
    soon = START + dt.timedelta(days=1, hours=5)  # tomorrow 14:00
    gone = START + dt.timedelta(hours=4)  # today 13:00
    useful = schedule(sessions, 2, soon, START)
    past = schedule(sessions, 2, gone, START)
    # Nothing ran from 09:00 until 13:45: today's reminders are no longer useful, while
    # tomorrow's are not due yet; then until tomorrow 12:30.
    clock.set(START + dt.timedelta(hours=4, minutes=45))
    instance = scheduler(sessions, sink, clock)
    with caplog.at_level(logging.INFO, logger="bot.appointments.sending"):
        await instance.tick()  # taking the lead runs what is due
    assert not sink.pushed
    assert sum("skipped: too_late" in r.getMessage() for r in caplog.records) == 2
    await instance.stop()
    clock.set(soon - dt.timedelta(hours=1, minutes=30))
    restarted = scheduler(sessions, sink, clock)
    await restarted.tick()
    # Once each: tomorrow's people get the later reminder only, today's the after-check.
    assert sink.counts() == Counter(useful + past)
    texts = {user_id: message.text or "" for user_id, message in sink.pushed}
    assert all(texts[u].startswith("⏰ C'est aujourd'hui") for u in useful)
    assert all(texts[u].endswith("a bien eu lieu ?") for u in past)
    assert statuses(sessions)[ReminderKind.DAY_BEFORE, ReminderStatus.SKIPPED] == 2 + 2
    await restarted.stop()


async def test_a_failed_push_is_retried_not_lost(sessions: sessionmaker[Session]) -> None:
    clock, sink = FakeClock(START), Sink()
    users = schedule(sessions, 2, START + dt.timedelta(days=1, hours=5), START)
    instance = scheduler(sessions, sink, clock)
    await instance.tick()
    clock.set(START + dt.timedelta(hours=9, minutes=1))
    await instance.tick()
    sink.failing = True
    report = await instance.run_due()
    assert (report.sent, report.failed) == (0, 2)
    sink.failing = False
    assert (await instance.run_due()).sent == 2
    assert sink.counts() == Counter(users)
    with session_scope(sessions) as session:
        undelivered = session.scalar(
            select(func.count()).where(
                Reminder.status == ReminderStatus.SENT, Reminder.delivered_at.is_(None)
            )
        )
    assert undelivered == 0
    await instance.stop()


async def test_a_standby_instance_sends_nothing(sessions: sessionmaker[Session]) -> None:
    clock, sink = FakeClock(START), Sink()
    schedule(sessions, 1, START + dt.timedelta(days=1, hours=5), START)
    leader, standby = scheduler(sessions, Sink(), clock), scheduler(sessions, sink, clock)
    await leader.tick()
    await standby.tick()
    clock.set(START + dt.timedelta(hours=9, minutes=1))
    assert await leader.tick()
    assert not await standby.tick()
    assert (await standby.run_due()).sent == 0
    assert not await standby.deliver("0" * 32)
    await leader.stop()
    await standby.stop()


# --- real clock, APScheduler's persistent job store -----------------------------------
NO_QUIET = ReminderConfig(day_before_at=None, quiet_start=None)


async def test_wake_up_jobs_send_on_time_between_sweeps(sessions: sessionmaker[Session]) -> None:
    sink = Sink()
    now = utcnow()
    due_at = now + dt.timedelta(seconds=1.5)
    users = schedule(sessions, 3, due_at + dt.timedelta(hours=2), now, NO_QUIET)
    instance = ReminderScheduler(
        sessions, sink, config=NO_QUIET, sweep_every=dt.timedelta(minutes=10), lease_ttl=TTL
    )
    await instance.start()
    for _ in range(100):
        if len(sink.pushed) >= 3:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    await instance.stop()
    assert sink.counts() == Counter(users)
    # The sweep runs every 10 minutes: only the wake-up jobs can have sent them this soon.
    lateness = max(sink.at) - due_at
    assert dt.timedelta(0) <= lateness < dt.timedelta(seconds=1)
    with session_scope(sessions) as session:
        woken = session.scalar(select(func.count()).where(Reminder.wake_at.is_not(None)))
        jobs = session.execute(select(apscheduler_jobs.c.id)).scalars().all()
    assert woken == 3
    assert jobs == ["reminders:sweep"]  # the fired date jobs are gone from the store


async def test_standby_instance_takes_over_with_real_time(sessions: sessionmaker[Session]) -> None:
    ttl = dt.timedelta(seconds=1)
    a = ReminderScheduler(sessions, Sink(), lease_ttl=ttl, use_jobs=False)
    b = ReminderScheduler(sessions, Sink(), lease_ttl=ttl, use_jobs=False)
    await a.start()
    await asyncio.sleep(0.1)
    await b.start()
    await asyncio.sleep(0.2)
    assert a.is_leader
    assert not b.is_leader
    await a.stop()
    await asyncio.sleep(0.6)
    assert b.is_leader
    await b.stop()


async def test_a_claim_without_delivery_is_reported_not_resent(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    """A process that died between its claim and the sink: at most once wins."""
    clock, sink = FakeClock(START), Sink()
    schedule(sessions, 1, START + dt.timedelta(days=1, hours=5), START)
    clock.set(START + dt.timedelta(hours=9, minutes=1))
    with session_scope(sessions) as session:
        (due,) = sending.due_reminders(session, clock())
        assert sending.claim_and_record(session, due, clock(), texts.render(PARIS))
    instance = scheduler(sessions, sink, clock)
    with caplog.at_level(logging.WARNING, logger="bot.appointments.scheduler"):
        await instance.tick()
    assert not sink.pushed
    assert any(due in r.getMessage() for r in caplog.records)
    await instance.stop()

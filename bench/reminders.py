"""Benchmark: 10,000 appointments, their reminders delivered none missing, none twice.

    python -m bench.reminders [--count 10000] [--sample 200] [--postgres URL|auto]

For each database (a fresh SQLite file; PostgreSQL too with ``--postgres``: ``auto``
starts a throwaway server from Debian's packages, a URL is used inside a schema of its
own that is dropped afterwards):

1. **Schedule**: ``count`` appointments over the next 30 days (one person each, local
   start times 08:00-19:45 so that quiet-hour moves happen), each created by
   ``service.create`` in its own transaction, as a référent's click would. Timed.
2. **Deliver, fast fake clock** (throughput): a ``ReminderScheduler`` whose clock jumps to
   the next pending due time, again and again, until none is left, through a local sink.
   Measured: reminders delivered per second of real time, delivered / missing (pending
   at creation, never delivered) / duplicated (delivered twice to one person for one
   reminder). Lateness against the fake clock is zero by construction, so it is not shown.
3. **Deliver, real clock** (punctuality): ``sample`` more appointments whose reminder is
   due 5 to 25 s ahead, with the full table in place, sent by the production path
   (APScheduler wake-up jobs in the persistent job store, the lease, a sweep every 60 s).
   Measured: lateness = arrival at the sink - due time (max, p50, p95).

Writes a table to ``reports/bench-reminders.md`` and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import random
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.appointments import sending, service
from bot.appointments.models import Mode, Reminder, ReminderStatus
from bot.appointments.planning import PARIS, ReminderConfig
from bot.appointments.scheduler import ReminderScheduler
from bot.config import PROJECT_ROOT
from bot.conversations.models import Channel, User, new_id
from bot.db import make_engine, make_session_factory, session_scope, utcnow
from bot.messages import OutboundMessage

REPORT = PROJECT_ROOT / "reports" / "bench-reminders.md"
SAMPLE_CONFIG = ReminderConfig(day_before_at=None, quiet_start=None)  # one reminder, any hour


@dataclass
class Figures:
    backend: str
    count: int = 0
    schedule_seconds: float = 0.0
    reminders_expected: int = 0
    delivered: int = 0
    missing: int = 0
    duplicates: int = 0
    skipped_at_send: int = 0
    deliver_seconds: float = 0.0
    fake_steps: int = 0
    sample: int = 0
    sample_delivered: int = 0
    sample_missing: int = 0
    sample_duplicates: int = 0
    lateness: list[float] = field(default_factory=list)


class FakeClock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class CountingSink:
    """The local sink: counts what each person receives, and when; ``all_in`` is set once
    ``expected`` different people have received something."""

    def __init__(self, expected: int = 0) -> None:
        self.received: Counter[str] = Counter()
        self.arrivals: dict[str, list[float]] = {}
        self.expected = expected
        self.all_in = asyncio.Event()

    async def __call__(self, user_id: str, message: OutboundMessage) -> None:
        self.received[user_id] += 1
        self.arrivals.setdefault(user_id, []).append(time.time())
        if self.expected and len(self.received) >= self.expected:
            self.all_in.set()


def migrate(url: str) -> None:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    command.upgrade(config, "head")


def add_users(sessions: sessionmaker[Session], count: int) -> list[str]:
    with session_scope(sessions) as session:
        users = [User(id=new_id(), channel=Channel.WEB, external_id=new_id()) for _ in range(count)]
        session.add_all(users)
        return [u.id for u in users]


def schedule(sessions: sessionmaker[Session], users: list[str], now: dt.datetime) -> None:
    rng = random.Random(6)  # noqa: S311  (reproducible test data, not a secret)
    today = now.astimezone(PARIS).date()
    for user_id in users:
        day = today + dt.timedelta(days=rng.randint(1, 30))
        minutes = rng.randrange(8 * 60, 20 * 60, 15)
        starts_at = dt.datetime.combine(
            day, dt.time(minutes // 60, minutes % 60), tzinfo=PARIS
        ).astimezone(dt.UTC)
        with session_scope(sessions) as session:
            service.create(
                session,
                user_id=user_id,
                starts_at=starts_at,
                mode=Mode.IN_PERSON,
                place="Mission locale",
                duration_minutes=45,
                now=now,
            )


def pending_per_user(sessions: sessionmaker[Session]) -> Counter[str]:
    with session_scope(sessions) as session:
        rows = session.execute(
            select(Reminder.user_id, func.count())
            .where(Reminder.status == ReminderStatus.PENDING)
            .group_by(Reminder.user_id)
        )
        return Counter(dict(rows.tuples().all()))


async def deliver_fast(sessions: sessionmaker[Session], figures: Figures, now: dt.datetime) -> None:
    expected = pending_per_user(sessions)
    figures.reminders_expected = sum(expected.values())
    clock, sink = FakeClock(now), CountingSink()
    scheduler = ReminderScheduler(
        sessions, sink, clock=clock, name="bench-fast", use_jobs=False, batch=1000
    )
    started = time.perf_counter()
    await scheduler.tick()
    while True:
        with session_scope(sessions) as session:
            due = sending.next_due_at(session)
        if due is None:
            break
        clock.now = max(clock.now, due)
        await scheduler.tick()  # renews the lease at the fake time, as the loop would
        await scheduler.run_due()
        figures.fake_steps += 1
    figures.deliver_seconds = time.perf_counter() - started
    await scheduler.stop()
    figures.delivered = sum(sink.received.values())
    figures.missing = sum((expected - sink.received).values())
    figures.duplicates = sum((sink.received - expected).values())
    with session_scope(sessions) as session:
        figures.skipped_at_send = (
            session.scalar(
                select(func.count()).where(
                    Reminder.status == ReminderStatus.SKIPPED,
                    Reminder.skip_reason.not_in(["past_at_creation", "merged"]),
                )
            )
            or 0
        )


async def deliver_real(sessions: sessionmaker[Session], figures: Figures, sample: int) -> None:
    users = add_users(sessions, sample)
    now = utcnow()
    due: dict[str, float] = {}
    with session_scope(sessions) as session:
        for index, user_id in enumerate(users):
            due_at = now + dt.timedelta(seconds=5 + 20 * index / max(1, sample - 1))
            service.create(
                session,
                user_id=user_id,
                starts_at=due_at + dt.timedelta(hours=2),
                mode=Mode.PHONE,
                now=now,
                config=SAMPLE_CONFIG,
            )
            due[user_id] = due_at.timestamp()
    sink = CountingSink(expected=sample)
    scheduler = ReminderScheduler(sessions, sink, config=SAMPLE_CONFIG, name="bench-real")
    await scheduler.start()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(sink.all_in.wait(), max(due.values()) + 15 - time.time())
    await asyncio.sleep(1.0)  # room for a duplicate to show
    await scheduler.stop()
    figures.sample = sample
    figures.sample_delivered = sum(sink.received.values())
    figures.sample_missing = sum(1 for u in users if sink.received[u] == 0)
    figures.sample_duplicates = sum(max(0, sink.received[u] - 1) for u in users)
    figures.lateness = sorted(sink.arrivals[u][0] - due[u] for u in users if sink.arrivals.get(u))


async def run_backend(url: str, backend: str, count: int, sample: int) -> Figures:
    figures = Figures(backend, count=count)
    engine = make_engine(url, pool_size=5)
    sessions = make_session_factory(engine)
    try:
        now = utcnow()
        users = add_users(sessions, count)
        started = time.perf_counter()
        schedule(sessions, users, now)
        figures.schedule_seconds = time.perf_counter() - started
        print(f"[{backend}] scheduled {count} appointments in {figures.schedule_seconds:.1f} s")
        await deliver_fast(sessions, figures, now)
        print(f"[{backend}] delivered {figures.delivered} in {figures.deliver_seconds:.1f} s")
        if sample:
            await deliver_real(sessions, figures, sample)
            print(f"[{backend}] real-clock sample: {figures.sample_delivered}/{sample} delivered")
    finally:
        engine.dispose()
    return figures


@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """A schema of its own in the given database, dropped afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


def ms(seconds: float) -> str:
    return f"{1000 * seconds:.0f} ms"


def table(results: list[Figures]) -> str:
    def row(label: str, cells: list[str]) -> str:
        return f"| {label} | " + " | ".join(cells) + " |"

    def each(fmt: str, attribute: str) -> list[str]:
        return [fmt.format(getattr(f, attribute)) for f in results]

    lines = [
        row("", [f.backend for f in results]),
        row("---", ["---:" for _ in results]),
        row("appointments scheduled", each("{:,}", "count")),
        row(
            "time to schedule them (one transaction each)",
            [
                f"{f.schedule_seconds:.1f} s ({1000 * f.schedule_seconds / f.count:.1f} ms each)"
                for f in results
            ],
        ),
        row("reminders pending after scheduling", each("{:,}", "reminders_expected")),
        row("delivered (fast fake clock)", each("{:,}", "delivered")),
        row("missing", each("{:,}", "missing")),
        row("duplicates", each("{:,}", "duplicates")),
        row("skipped at sending time", each("{:,}", "skipped_at_send")),
        row(
            "delivery throughput",
            [
                f"{f.delivered / f.deliver_seconds:,.0f} reminders/s ({f.fake_steps:,} clock jumps)"
                for f in results
            ],
        ),
        row(
            "real-clock sample: delivered / missing / duplicates",
            [f"{f.sample_delivered} / {f.sample_missing} / {f.sample_duplicates}" for f in results],
        ),
        row(
            "real-clock lateness max",
            [f"{1000 * max(f.lateness, default=float('nan')):.0f} ms" for f in results],
        ),
        row(
            "real-clock lateness p50 / p95",
            [
                f"{ms(percentile(f.lateness, 0.5))} / {ms(percentile(f.lateness, 0.95))}"
                for f in results
            ],
        ),
    ]
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> list[Figures]:
    results = []
    with tempfile.TemporaryDirectory(prefix="relais-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate(url)
        results.append(await run_backend(url, "SQLite", args.count, args.sample))
    if args.postgres == "auto":
        from tests.utils.postgres import postgres_server

        with postgres_server() as url:
            migrate(url)
            results.append(await run_backend(url, "PostgreSQL", args.count, args.sample))
    elif args.postgres:
        with postgres_schema(args.postgres) as url:
            migrate(url)
            results.append(await run_backend(url, "PostgreSQL", args.count, args.sample))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=200, help="real-clock reminders (0: none)")
    parser.add_argument("--postgres", help="a PostgreSQL URL, or 'auto' for a throwaway server")
    parser.add_argument("--out", type=Path, default=REPORT)
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    report = "\n".join(
        [
            "# Reminders benchmark",
            "",
            f"`python -m bench.reminders --count {args.count} --sample {args.sample}"
            + (
                f" --postgres {'auto' if args.postgres == 'auto' else 'URL'}`"
                if args.postgres
                else "`"
            ),
            f"({utcnow():%Y-%m-%d %H:%M} UTC). Throughput: a fake clock jumps from one due time"
            " to the next; lateness: real clock, APScheduler wake-up jobs, arrival at the sink"
            " minus the due time.",
            "",
            table(results),
            "",
        ]
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print(report)


if __name__ == "__main__":
    main()

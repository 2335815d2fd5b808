"""A reminder scheduler in a process of its own (the restart test kills it with SIGKILL),
and the small factories the appointment tests share.

    python -m tests.utils.reminder_worker --db URL --out FILE --ready FILE \
        [--plan 1.5,1.5,6] [--lease-ttl 2]

With ``--plan``, it first creates one person and one appointment per number, whose
reminder is due that many seconds after start; then it runs a ``ReminderScheduler``
(APScheduler with its persistent job store, leader lease, sweep) whose sink appends
``<user id> <reminder kind>`` lines to ``--out``. It writes ``--ready`` once it leads and
its wake-up jobs are registered (the file holds the planning time), and runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import signal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.appointments import service
from bot.appointments.models import Mode, Reminder, ReminderStatus
from bot.appointments.planning import ReminderConfig
from bot.appointments.scheduler import ReminderScheduler
from bot.conversations import store
from bot.conversations.models import Channel, new_id
from bot.db import make_engine, make_session_factory, session_scope, utcnow
from bot.messages import OutboundMessage

# Only the "two hours before" reminder, no quiet hours: the test runs at any hour and
# each appointment yields exactly one reminder due at a chosen second.
WORKER_CONFIG = ReminderConfig(day_before_at=None, quiet_start=None)
HOURS_BEFORE = dt.timedelta(hours=2)


def add_user(session: Session, locale: str = "fr") -> str:
    """A person on the web channel; returns their id."""
    return store.get_or_create_user(session, Channel.WEB, new_id(), locale).id


def plan(session: Session, offsets: list[float], now: dt.datetime) -> list[str]:
    """One person and one appointment per offset; its reminder is due ``offset`` s later."""
    user_ids = []
    for offset in offsets:
        user_id = add_user(session)
        service.create(
            session,
            user_id=user_id,
            starts_at=now + HOURS_BEFORE + dt.timedelta(seconds=offset),
            mode=Mode.PHONE,
            now=now,
            config=WORKER_CONFIG,
        )
        user_ids.append(user_id)
    return user_ids


def _all_woken(sessions: sessionmaker[Session]) -> bool:
    """Every pending reminder due within the hour has its wake-up job in the job store."""
    now = utcnow()
    with session_scope(sessions) as session:
        unwoken = session.scalar(
            select(Reminder.id)
            .where(
                Reminder.status == ReminderStatus.PENDING,
                Reminder.due_at > now,
                Reminder.due_at < now + dt.timedelta(hours=1),
                Reminder.wake_at.is_(None),
            )
            .limit(1)
        )
    return unwoken is None


async def run(args: argparse.Namespace) -> None:
    engine = make_engine(args.db)
    sessions = make_session_factory(engine)
    planned_at = utcnow()
    if args.plan:
        with session_scope(sessions) as session:
            plan(session, [float(x) for x in args.plan.split(",")], planned_at)
    out = Path(args.out)

    def append(line: str) -> None:
        with out.open("a") as lines:
            lines.write(line)
            lines.flush()
            os.fsync(lines.fileno())

    async def sink(user_id: str, message: OutboundMessage) -> None:
        payload = message.buttons[0].payload if message.buttons else ""
        await asyncio.to_thread(append, f"{user_id} {payload}\n")

    ttl = dt.timedelta(seconds=args.lease_ttl)
    scheduler = ReminderScheduler(
        sessions,
        sink,
        config=WORKER_CONFIG,
        lease_ttl=ttl,
        renew_every=ttl / 4,
        sweep_every=dt.timedelta(seconds=1),
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await scheduler.start()
    # Polling on purpose: the condition lives in the database and the lease.
    while not (scheduler.is_leader and _all_woken(sessions)):  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    await asyncio.to_thread(write_atomically, Path(args.ready), planned_at.isoformat())
    await stop.wait()
    await scheduler.stop()
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--ready", required=True)
    parser.add_argument("--plan", default="")
    parser.add_argument("--lease-ttl", type=float, default=2.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(run(args))


def write_atomically(path: Path, text: str) -> None:
    """The test polls for the file: it must never see it half written (empty)."""
    partial = path.with_suffix(".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


if __name__ == "__main__":
    main()

"""The leader lease: one scheduler at a time runs reminders.

APScheduler 3 cannot share a job store between running schedulers (each would run every
job), so every instance competes for one row of ``scheduler_leases``; the holder of an
unexpired lease is the leader, the others wait on standby and take over once it expires
(a crashed leader stops renewing; a stopping one releases it at once).

Acquire and renew are single conditional statements, atomic on SQLite (one writer at a
time) and PostgreSQL (row lock, re-checked ``WHERE``):

    UPDATE scheduler_leases SET holder=:me, expires_at=:now+ttl
     WHERE name=:name AND (holder=:me OR expires_at <= :now)

and, when no row exists yet, an ``INSERT`` that only one instance can win (primary key).
Expiry is read from the instance's clock: clocks of different hosts must agree within a
fraction of the TTL (NTP does far better). The claim of each reminder checks the lease
again in its own statement, so even a leader paused past its expiry cannot send.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.appointments.models import SchedulerLease
from bot.appointments.sending import LeaseRef
from bot.db import session_scope

logger = logging.getLogger(__name__)

DEFAULT_TTL = dt.timedelta(seconds=30)


def new_holder() -> str:
    """A name for this instance: random, so that a restarted process is a new holder."""
    return uuid.uuid4().hex


class LeaderLease:
    """One instance's side of the lease named ``name``."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        name: str = "reminders",
        holder: str | None = None,
        ttl: dt.timedelta = DEFAULT_TTL,
    ) -> None:
        self._sessions = sessions
        self.ref = LeaseRef(name, holder or new_holder())
        self.ttl = ttl
        self.expires_at: dt.datetime | None = None

    def held(self, now: dt.datetime) -> bool:
        """This instance's own view: it renewed the lease and it has not expired since."""
        return self.expires_at is not None and now < self.expires_at

    def acquire(self, now: dt.datetime) -> bool:
        """Take or renew the lease; True when this instance holds it until ``now + ttl``."""
        expires_at = now + self.ttl
        with session_scope(self._sessions) as session:
            result = session.execute(
                update(SchedulerLease)
                .where(
                    SchedulerLease.name == self.ref.name,
                    (SchedulerLease.holder == self.ref.holder) | (SchedulerLease.expires_at <= now),
                )
                .values(holder=self.ref.holder, expires_at=expires_at)
                .execution_options(synchronize_session=False)
            )
            won = cast(CursorResult[Any], result).rowcount == 1
        if not won:
            won = self._insert(expires_at)
        was_leader = self.held(now)
        self.expires_at = expires_at if won else None
        if won and not was_leader:
            logger.info("scheduler %s leads %s", self.ref.holder, self.ref.name)
        elif was_leader and not won:
            logger.warning("scheduler %s lost the lease %s", self.ref.holder, self.ref.name)
        return won

    def _insert(self, expires_at: dt.datetime) -> bool:
        """The first instance ever creates the row; of two at once, the key keeps one."""
        try:
            with session_scope(self._sessions) as session:
                if session.get(SchedulerLease, self.ref.name) is not None:
                    return False
                session.add(
                    SchedulerLease(
                        name=self.ref.name, holder=self.ref.holder, expires_at=expires_at
                    )
                )
        except IntegrityError:
            return False
        return True

    def release(self, now: dt.datetime) -> None:
        """Step down: the lease expires now, so a standby instance takes over at once."""
        with session_scope(self._sessions) as session:
            session.execute(
                update(SchedulerLease)
                .where(
                    SchedulerLease.name == self.ref.name, SchedulerLease.holder == self.ref.holder
                )
                .values(expires_at=now)
                .execution_options(synchronize_session=False)
            )
        if self.expires_at is not None:
            logger.info("scheduler %s released %s", self.ref.holder, self.ref.name)
        self.expires_at = None

"""The reminder scheduler: APScheduler wakes it up, the ``reminders`` table decides.

Design (why each piece is there):

- **The table is the truth.** A reminder is sent when its row goes from pending to sent
  (``sending.claim_and_record``, a conditional update), never because a job ran.
- **Wake-up jobs for punctuality.** The leader keeps one APScheduler ``date`` job per
  pending reminder due within ``wake_horizon`` (1 h), in a persistent
  ``SQLAlchemyJobStore`` on the application database, so a reminder goes at its second,
  not at the next sweep. ``reminders.wake_at`` records the due time a job was made for:
  a new, moved or deferred reminder has none yet and gets one at the next sweep. A job
  for a cancelled or moved reminder is harmless (its claim finds nothing to send).
- **A sweep for completeness.** At leadership start and every ``sweep_every`` (60 s) the
  leader claims everything due and still pending: what was due while no process ran (sent
  if still useful, skipped with a log line otherwise), what a lost job would have sent,
  what another process (the action server, the console) planned meanwhile.
- **One leader.** Only the holder of the ``scheduler_leases`` row runs APScheduler and the
  sweep (``leader.LeaderLease``); a second instance polls on standby and takes over when
  the lease expires. Each claim re-checks the lease in its own statement.

So a process killed between planning and firing loses nothing: on restart the persisted
jobs of past reminders fire at once (``misfire_grace_time=None``) and the sweep runs; both
race for the same rows and the conditional update lets exactly one send. The one window
left is between a claim's commit and the sink taking the message (a crash there loses
that message rather than risk sending it twice); such rows have ``delivered_at`` empty and
are reported at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.appointments import sending, texts
from bot.appointments.leader import DEFAULT_TTL, LeaderLease
from bot.appointments.models import JOBS_TABLE
from bot.appointments.planning import DEFAULT_CONFIG, PARIS, ReminderConfig
from bot.appointments.sending import Claim, Render
from bot.db import make_engine, session_scope, utcnow
from bot.messages import OutboundMessage

logger = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
# Where a claimed reminder goes: ``ConversationRouter.push`` in production.
Sink = Callable[[str, OutboundMessage], Awaitable[object]]

# The leader of each lease name in this process, for the jobs APScheduler runs: a
# persisted job names a module-level function and plain arguments, not an object.
_LEADERS: dict[str, ReminderScheduler] = {}


async def fire_reminder(name: str, reminder_id: str) -> None:
    """APScheduler job: one reminder is due (the row decides whether it goes)."""
    leader = _LEADERS.get(name)
    if leader is not None:
        await leader.deliver(reminder_id)


async def sweep(name: str) -> None:
    """APScheduler job: wake-ups to register, then everything due."""
    leader = _LEADERS.get(name)
    if leader is not None:
        await leader.run_due()


@dataclass(slots=True)
class RunReport:
    sent: int = 0
    skipped_or_deferred: int = 0  # or claimed by someone else
    failed: int = 0


class ReminderScheduler:
    """Runs reminders while it holds the lease; waits on standby otherwise."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        sink: Sink,
        *,
        tz: dt.tzinfo = PARIS,
        config: ReminderConfig = DEFAULT_CONFIG,
        clock: Clock = utcnow,
        name: str = "reminders",
        holder: str | None = None,
        lease_ttl: dt.timedelta = DEFAULT_TTL,
        renew_every: dt.timedelta | None = None,
        sweep_every: dt.timedelta = dt.timedelta(seconds=60),
        wake_horizon: dt.timedelta = dt.timedelta(hours=1),
        use_jobs: bool = True,
        render: Render | None = None,
        batch: int = 500,
    ) -> None:
        self._sessions = sessions
        self._sink = sink
        self.tz, self.config, self.clock = tz, config, clock
        self.lease = LeaderLease(sessions, name, holder, lease_ttl)
        self.renew_every = renew_every or lease_ttl / 3
        self.sweep_every = sweep_every
        self.wake_horizon = wake_horizon
        self.use_jobs = use_jobs
        self.render: Render = render or texts.render(tz)
        self.batch = batch
        self._jobs: AsyncIOScheduler | None = None
        self._jobs_engine: Engine | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._sweep_task: asyncio.Task[None] | None = None  # without jobs: a plain loop
        self._catch_up: asyncio.Task[RunReport] | None = None
        self._stopping = asyncio.Event()
        self._sweeping = asyncio.Lock()

    @property
    def name(self) -> str:
        return self.lease.ref.name

    @property
    def is_leader(self) -> bool:
        return self.lease.held(self.clock())

    # --- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        """Start competing for the lease in the background (returns at once)."""
        self._stopping.clear()
        self._loop_task = asyncio.create_task(self._lease_loop(), name=f"lease:{self.name}")

    async def stop(self) -> None:
        """Stop running reminders and hand the lease over at once."""
        self._stopping.set()
        if self._loop_task is not None:
            await self._loop_task
            self._loop_task = None
        await self._step_down()
        try:
            self.lease.release(self.clock())
        except SQLAlchemyError:
            logger.exception("could not release the scheduler lease (it will expire)")

    async def _lease_loop(self) -> None:
        while not self._stopping.is_set():
            await self.tick(wait=False)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.renew_every.total_seconds())

    async def tick(self, wait: bool = True) -> bool:
        """Take or renew the lease, start or stop leading accordingly; True when leading.
        On taking the lead, a catch-up run starts; ``wait`` waits for it (the lease loop
        does not: a long backlog must not keep it from renewing)."""
        try:
            leading = self.lease.acquire(self.clock())
        except SQLAlchemyError:
            logger.exception("scheduler lease unavailable; standing by")
            leading = False
        if leading and _LEADERS.get(self.name) is not self:
            await self._lead()
            if wait and self._catch_up is not None:
                await self._catch_up
        elif not leading and _LEADERS.get(self.name) is self:
            await self._step_down()
        return leading

    async def _lead(self) -> None:
        _LEADERS[self.name] = self
        now = self.clock()
        with session_scope(self._sessions) as session:
            lost = sending.unconfirmed(session, now - dt.timedelta(days=1), now)
        if lost:
            # Claimed by a process that died before handing them over: not resent.
            logger.warning(
                "%d reminders claimed without confirmed delivery: %s", len(lost), lost[:20]
            )
        if self.use_jobs:
            self._start_jobs()
        else:
            self._sweep_task = asyncio.create_task(self._sweep_loop(), name=f"sweep:{self.name}")
        self._catch_up = asyncio.create_task(self.run_due(), name=f"catch-up:{self.name}")

    def _start_jobs(self) -> None:
        bind = self._sessions.kw["bind"]
        # Its own engine: APScheduler disposes of its engine at shutdown.
        self._jobs_engine = make_engine(bind.url.render_as_string(hide_password=False))
        self._jobs = AsyncIOScheduler(
            jobstores={
                "default": SQLAlchemyJobStore(engine=self._jobs_engine, tablename=JOBS_TABLE)
            },
            # A missed wake-up still runs, however late: the row says if it is still useful.
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
            timezone=dt.UTC,
        )
        self._jobs.start()
        self._jobs.add_job(
            sweep,
            "interval",
            seconds=self.sweep_every.total_seconds(),
            args=[self.name],
            id=f"{self.name}:sweep",
            replace_existing=True,
        )

    async def _sweep_loop(self) -> None:
        while _LEADERS.get(self.name) is self:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.sweep_every.total_seconds())
            if self._stopping.is_set():
                return
            await self.run_due()

    async def _step_down(self) -> None:
        if _LEADERS.get(self.name) is self:
            del _LEADERS[self.name]
        if self._jobs is not None:
            if self._jobs.running:
                self._jobs.shutdown(wait=False)
                await asyncio.sleep(0)  # APScheduler shuts down in the next loop iteration
            self._jobs = None
        for task in (self._sweep_task, self._catch_up):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._sweep_task = self._catch_up = None

    # --- work --------------------------------------------------------------------------
    async def run_due(self) -> RunReport:
        """Register wake-ups, then claim and send every reminder due now, batch by batch
        (each due reminder is tried once per run)."""
        report = RunReport()
        async with self._sweeping:
            if not self.is_leader:
                return report
            self._register_wakeups()
            after: tuple[dt.datetime, str] | None = None
            while self.is_leader:
                now = self.clock()
                with session_scope(self._sessions) as session:
                    due = sending.due_batch(session, now, self.batch, after)
                if not due:
                    break
                after = (due[-1][1], due[-1][0])
                delivered: list[str] = []
                for reminder_id, _ in due:
                    outcome = await self._deliver(reminder_id, now, confirm=False)
                    if outcome is None:
                        report.skipped_or_deferred += 1
                    elif outcome:
                        report.sent += 1
                        delivered.append(reminder_id)
                    else:
                        report.failed += 1  # pending again: the next run retries it
                with session_scope(self._sessions) as session:
                    sending.mark_delivered(session, delivered, self.clock())
                await asyncio.sleep(0)  # let the lease loop renew between batches
        return report

    async def deliver(self, reminder_id: str) -> bool:
        """Claim one reminder and hand it to the sink (a wake-up job calls this)."""
        if not self.is_leader:
            return False
        return bool(await self._deliver(reminder_id, self.clock(), confirm=True))

    async def _deliver(self, reminder_id: str, now: dt.datetime, confirm: bool) -> bool | None:
        """True: sent. False: the sink failed (pending again). None: nothing to send."""
        with session_scope(self._sessions) as session:
            claim = sending.claim_and_record(
                session,
                reminder_id,
                now,
                self.render,
                tz=self.tz,
                config=self.config,
                lease=self.lease.ref,
            )
        if claim is None:
            return None
        try:
            await self._sink(claim.user_id, claim.message)
        except Exception:  # the sink's failure must not lose the reminder: release it
            logger.exception("reminder %s not delivered; it will be retried", reminder_id)
            self._release(claim)
            return False
        logger.info("reminder %s sent (%s)", reminder_id, claim.kind.value)
        if confirm:
            with session_scope(self._sessions) as session:
                sending.mark_delivered(session, [reminder_id], self.clock())
        return True

    def _release(self, claim: Claim) -> None:
        try:
            with session_scope(self._sessions) as session:
                sending.release_claim(session, claim)
        except SQLAlchemyError:
            logger.exception("reminder %s could not be released", claim.reminder_id)

    def _register_wakeups(self) -> None:
        """One APScheduler job per reminder due within the horizon that has none yet."""
        if self._jobs is None:
            return
        now = self.clock()
        with session_scope(self._sessions) as session:
            pending = sending.to_wake(session, now, self.wake_horizon)
        if not pending:
            return
        # Paused while adding, so APScheduler re-reads its store once, not once per job.
        self._jobs.pause()
        try:
            for reminder_id, due_at in pending:
                self._jobs.add_job(
                    fire_reminder,
                    "date",
                    run_date=due_at,
                    args=[self.name, reminder_id],
                    id=f"reminder:{reminder_id}",
                    replace_existing=True,
                )
        finally:
            self._jobs.resume()
        with session_scope(self._sessions) as session:
            sending.set_woken(session, pending)

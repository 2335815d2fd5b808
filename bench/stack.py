"""Benchmark of the whole stack: reply latency through the gateway against raw Rasa,
training time, peak memory of each process, and concurrent queue claims.

    python -m bench.stack [--levels 1,10,50] [--messages 800] [--rounds 4] [--handoffs 40]
                          [--referents 20] [--train] [--reminders reports/bench-reminders.md]

On a stack of its own (``python -m bot.supervisor`` on free loopback ports, a throwaway
SQLite database, every rate limit off, the current trained model):

1. **Reply latency and throughput** at each concurrency level: ``level`` simulated
   people at once, each running whole conversations (``/greet`` as the chat page sends
   it, a typed greeting, knowledge questions, a place question, thanks; nothing urgent
   and no request for a person, so that both paths do the same dialogue work). Through
   the **gateway**: each conversation is its own web chat session (``POST
   /api/chat/sessions``, then its messages with the bearer token), so the gateway's own
   work is included: session, rate-limit check, recording every message (encrypted) in
   its database, routing. **Raw Rasa**: the same messages to the REST webhook the gateway
   calls (``POST /webhooks/rest/webhook``, same metadata), each conversation its own
   sender id. Both are warmed up first; the two paths take turns (``rounds`` times:
   gateway then Rasa, then Rasa then gateway...) so that a change of the machine's load,
   or a pause of one process, weighs on both. Latency =
   one message's HTTP round trip; errors = HTTP error, timeout, no answer at all, or the
   gateway's "briefly unavailable" answer. The headline is the ratio gateway / Rasa at
   p95 (goal <= 1.15).
2. **Queue claims**: ``handoffs`` requests made through the web chat as a person would
   (ask for a person, "no, straight away" to the questions offered first, the age band,
   then "yes" to sharing the conversation), then ``referents`` référents logged into the
   console all press "Prendre" on every one of them at once, in the same order (the
   worst case for a race). Measured: claim latency, the answers (each refusal by its
   reason), and double assignments (a request with two winners, two ``claimed`` events,
   or a holder in the database that is not the one winner): must be 0.
3. **Peak memory** (``VmHWM`` in ``/proc``) of the supervisor and each of its children,
   read at the end of the run.
4. **Training time** of the full model: read from the last ``make model`` (it writes
   ``relais-<hash>.train-seconds`` next to the cached model), or measured in this run
   with ``--train`` (a full training into a temporary directory, before the stack starts).

Writes a table to ``reports/bench.md`` (the reminders table of ``make bench-reminders``
appended when given) and prints it. ``tests/integration/test_bench.py`` runs the same
code with tiny counts on the test stack, so that it cannot rot; speed is never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import platform
import random
import re
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import select

from bench.reminders import migrate
from bot import crypto, timing
from bot.config import PROJECT_ROOT
from bot.db import make_engine, make_session_factory, session_scope
from bot.web.sessions import WebChatSession
from handoff.console.api import CLAIM_ERRORS
from handoff.models import Handoff, HandoffEvent, HandoffStatus
from handoff.queue import ClaimResult
from tests.utils.chat import AGE_PAYLOAD, OFFER_PAYLOAD, payloads_of
from tests.utils.console import PASSWORD, create_referent
from tests.utils.ports import free_port
from tests.utils.stack import Stack, wait_healthy

REPORT = PROJECT_ROOT / "reports" / "bench.md"
HASH_FILE = PROJECT_ROOT / "build" / "rasa" / "HASH"
TRAIN_LOG = PROJECT_ROOT / "build" / "train.log"
RASA = PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"
DEFAULT_MODEL_CACHE = Path.home() / ".cache" / "relais" / "models"
REQUEST_TIMEOUT = 60.0
# What the gateway sends along with each message (bot/router.py): the raw side sends it
# too, so that Rasa does the same work on both paths.
METADATA = {"locale": "fr", "channel": "web"}

# The message mix, in French as people write it. One conversation draws one of each kind
# in this order; the i-th conversation is the same on both paths (seeded by its index).
GREETINGS = ["slt", "bonjour", "salut ça va", "coucou", "bjr"]
QUESTIONS = [
    "c koi l'alternance",
    "combien gagne un apprenti",
    "c quoi un cfa",
    "jusqu'à quel âge on peut etre apprenti",
    "c quoi le cej",
    "comment faire un cv",
    "c koi le service civique",
    "salaire apprenti 17 ans",
    "comment s'inscrire dans un cfa",
    "ça marche comment l'apprentissage concrètement",
]
PLACES = ["y a un cio vers Saint-Démo ?", "elle est où la mission locale à 99110"]
THANKS = ["merci", "merci beaucoup", "ok merci"]


def script(index: int, length: int) -> list[str]:
    """The messages of conversation ``index``: the chat page's ``/greet``, a typed
    greeting, two questions, a place question, two questions, thanks (cut at length)."""
    rng = random.Random(index)  # noqa: S311  (reproducible test data, not a secret)
    questions = rng.sample(QUESTIONS, 4)
    messages = [
        "/greet",
        rng.choice(GREETINGS),
        questions[0],
        questions[1],
        rng.choice(PLACES),
        questions[2],
        questions[3],
        rng.choice(THANKS),
    ]
    return messages[: max(1, length)]


@dataclass(frozen=True)
class Profile:
    """How much to measure. ``LONG`` is ``make bench``; ``QUICK`` runs in ``make test``."""

    levels: tuple[int, ...] = (1, 10, 50)
    # Per path and level, rounded to whole conversations (at least one per person at
    # once and per round: 50 at once make 1,600). Enough for a p95 that a pause hitting
    # every conversation at once does not decide alone.
    messages: int = 800
    script_length: int = 8
    rounds: int = 4  # turns taken by the two paths per level
    warmup: int = 2  # conversations per path before measuring
    handoffs: int = 40
    referents: int = 20
    max_seconds: float = 300.0  # per path and round: no new conversation after that


LONG = Profile()
QUICK = Profile(
    levels=(2,), messages=8, script_length=4, rounds=1, warmup=1, handoffs=2, referents=3
)


# --- figures ----------------------------------------------------------------------------
@dataclass
class PathFigures:
    """One path (gateway or raw Rasa) at one concurrency level."""

    path: str
    concurrency: int
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    conversations: int = 0
    seconds: float = 0.0
    # The gateway's Server-Timing of each timed reply (bot/timing.py), with its latency.
    stages: list[tuple[float, dict[str, float]]] = field(default_factory=list)

    @property
    def messages(self) -> int:
        return len(self.latencies) + self.errors

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else float("nan")


@dataclass
class Level:
    concurrency: int
    gateway: PathFigures
    rasa: PathFigures

    def ratio(self, share: float) -> float:
        return _ratio(
            percentile(self.gateway.latencies, share), percentile(self.rasa.latencies, share)
        )

    @property
    def throughput_ratio(self) -> float:
        return _ratio(self.gateway.per_second, self.rasa.per_second)


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


@dataclass
class ClaimFigures:
    referents: int
    handoffs: int = 0  # waiting requests made for the race
    not_queued: int = 0  # requests whose conversation did not end in the queue
    latencies: list[float] = field(default_factory=list)
    answers: Counter[str] = field(default_factory=Counter)
    double_assignments: int = 0
    unclaimed: int = 0
    seconds: float = 0.0


@dataclass
class Training:
    seconds: float | None
    source: str
    peak_rss_kb: int | None = None


@dataclass
class Memory:
    name: str
    pid: int
    peak_kb: int
    extra: list[int] = field(default_factory=list)  # peaks of its own subprocesses, if any


@dataclass
class Figures:
    levels: list[Level]
    claims: ClaimFigures
    memory: list[Memory]
    training: Training | None = None
    # Every text the simulated people typed (the tests check none reached a log).
    written: set[str] = field(default_factory=set)
    cpu: CpuShare | None = None


@dataclass
class CpuShare:
    """How busy the machine was while measuring, in shares of all its cores."""

    seconds: float
    ours: float  # the stack and the load generator
    others: float  # every other process: the noise in the figures


def percentile(values: list[float], share: float) -> float:
    """Linear interpolation between closest ranks (as ``statistics.quantiles``
    ``inclusive``), defined for a single value too."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{1000 * seconds:.0f} ms"


# --- 1. reply latency -------------------------------------------------------------------
def _client(base_url: str, connections: int) -> httpx.AsyncClient:
    # trust_env=False: loopback only, whatever proxy the environment names.
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=REQUEST_TIMEOUT,
        trust_env=False,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


async def _timed(
    figures: PathFigures | None, call: Awaitable[httpx.Response], ok: Callable[[Any], bool]
) -> None:
    started = time.perf_counter()
    try:
        response = await call
        good = response.status_code == 200 and ok(response.json())
    except (httpx.HTTPError, ValueError):
        good = False
    if figures is None:  # warm-up
        return
    if good:
        latency = time.perf_counter() - started
        figures.latencies.append(latency)
        if "server-timing" in response.headers:
            figures.stages.append((latency, timing.parse(response.headers["server-timing"])))
    else:
        figures.errors += 1


async def gateway_conversation(
    http: httpx.AsyncClient, messages: list[str], figures: PathFigures | None
) -> None:
    """One web chat session, as the chat page does (the session itself is not timed)."""
    try:
        response = await http.post("/api/chat/sessions", json={"locale": "fr"})
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError):
        if figures is not None:
            figures.errors += len(messages)
        return
    url = f"/api/chat/sessions/{body['session_id']}/messages"
    headers = {"Authorization": f"Bearer {body['token']}"}
    for text in messages:
        payload = {"payload": text} if text.startswith("/") else {"text": text}
        await _timed(
            figures,
            http.post(url, headers=headers, json=payload),
            # The gateway answers 200 when Rasa failed or timed out (the "briefly
            # unavailable" message, from "system"): only a reply of the bot counts.
            lambda answer: any(m.get("from") == "bot" for m in answer.get("messages", [])),
        )


async def rasa_conversation(
    http: httpx.AsyncClient, messages: list[str], figures: PathFigures | None
) -> None:
    """The same conversation straight to Rasa's REST channel, as the gateway sends it
    (the webhook is a channel: Rasa's token guards its HTTP API, not the channels)."""
    sender = f"bench-{uuid.uuid4().hex}"
    for text in messages:
        await _timed(
            figures,
            http.post(
                "/webhooks/rest/webhook",
                json={"sender": sender, "message": text, "metadata": METADATA},
            ),
            lambda answer: isinstance(answer, list) and bool(answer),
        )


Conversation = Callable[[httpx.AsyncClient, list[str], PathFigures | None], Awaitable[None]]


async def run_path(
    http: httpx.AsyncClient,
    conversation: Conversation,
    figures: PathFigures,
    per_worker: int,
    profile: Profile,
    first_index: int,
) -> None:
    """``concurrency`` workers, each running ``per_worker`` conversations one after the
    other (none started after ``max_seconds``)."""
    deadline = time.monotonic() + profile.max_seconds

    async def worker(number: int) -> None:
        for turn in range(per_worker):
            if time.monotonic() > deadline:
                return
            index = first_index + number * per_worker + turn
            await conversation(http, script(index, profile.script_length), figures)
            figures.conversations += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(figures.concurrency)))
    figures.seconds += time.perf_counter() - started


async def measure_latency(
    stack: Stack, profile: Profile, written: set[str] | None = None
) -> list[Level]:
    rasa_url = f"http://127.0.0.1:{stack.rasa_port}"
    connections = max(profile.levels) + 10
    levels = []
    async with _client(stack.base_url, connections) as gw, _client(rasa_url, connections) as raw:
        for number in range(profile.warmup):
            await gateway_conversation(gw, script(-1 - number, 8), None)
            await rasa_conversation(raw, script(-1 - number, 8), None)
            if written is not None:
                written.update(script(-1 - number, 8))
        index = 0
        for concurrency in profile.levels:
            level = Level(
                concurrency, PathFigures("gateway", concurrency), PathFigures("rasa", concurrency)
            )
            per_worker = max(
                1,
                round(profile.messages / (profile.rounds * concurrency * profile.script_length)),
            )
            for round_number in range(profile.rounds):
                sides: list[tuple[httpx.AsyncClient, Conversation, PathFigures]] = [
                    (gw, gateway_conversation, level.gateway),
                    (raw, rasa_conversation, level.rasa),
                ]
                if round_number % 2:
                    sides.reverse()
                for http, conversation, figures in sides:
                    # Both paths get the same conversations (same indexes, same messages).
                    await run_path(http, conversation, figures, per_worker, profile, index)
                if written is not None:
                    for number in range(index, index + concurrency * per_worker):
                        written.update(script(number, profile.script_length))
                index += concurrency * per_worker
            print(
                f"[latency] {concurrency} at once: gateway p95 "
                f"{ms(percentile(level.gateway.latencies, 0.95))}, Rasa p95 "
                f"{ms(percentile(level.rasa.latencies, 0.95))}, errors "
                f"{level.gateway.errors} / {level.rasa.errors}",
                flush=True,
            )
            levels.append(level)
    return levels


# --- 2. queue claims --------------------------------------------------------------------
async def request_a_person(http: httpx.AsyncClient) -> str | None:
    """A web chat conversation that ends waiting in the queue (as ``ask_for_a_person`` in
    the tests, then "yes" to sharing); its session id, or None when it did not."""
    response = await http.post("/api/chat/sessions", json={"locale": "fr"})
    if response.status_code != 201:
        return None
    body = response.json()
    url = f"/api/chat/sessions/{body['session_id']}/messages"
    headers = {"Authorization": f"Bearer {body['token']}"}

    async def send(payload: str) -> dict[str, Any]:
        answer = await http.post(url, headers=headers, json={"payload": payload})
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    try:
        await send("/greet")
        reply = await send("/request_human")
        if OFFER_PAYLOAD in payloads_of(reply):
            reply = await send("/request_human")  # "Non, directement"
        if AGE_PAYLOAD in payloads_of(reply):
            reply = await send(AGE_PAYLOAD)
        reply = await send("/handoff_share_yes")
    except (httpx.HTTPError, ValueError):
        return None
    queued = (reply.get("handoff") or {}).get("status") == "waiting"
    return str(body["session_id"]) if queued else None


def handoffs_of(database_url: str, session_ids: list[str]) -> list[int]:
    """The waiting requests of these web chat sessions (read from the database: the chat
    API does not show a request's id to the person)."""
    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            rows = session.scalars(
                select(Handoff.id)
                .join(WebChatSession, WebChatSession.user_id == Handoff.user_id)
                .where(WebChatSession.id.in_(session_ids), Handoff.status == HandoffStatus.WAITING)
                .order_by(Handoff.id)
            )
            return list(rows)
    finally:
        engine.dispose()


def holders_of(database_url: str, ids: list[int]) -> tuple[dict[int, str | None], Counter[int]]:
    """Each request's holder and its number of ``claimed`` events, from the database."""
    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            holders = dict(
                session.execute(select(Handoff.id, Handoff.referent_id).where(Handoff.id.in_(ids)))
                .tuples()
                .all()
            )
            claimed = Counter(
                session.scalars(
                    select(HandoffEvent.handoff_id).where(
                        HandoffEvent.handoff_id.in_(ids), HandoffEvent.kind == "claimed"
                    )
                )
            )
            return holders, claimed
    finally:
        engine.dispose()


# The console's refusal words, back to their reason (404 covers both "not visible" and
# "not found": the console does not tell them apart, on purpose).
REASONS = {
    words: ("not_visible_or_found" if status == 404 else result.value)
    for result, (status, words) in CLAIM_ERRORS.items()
}


async def _bounded(calls: list[Callable[[], Awaitable[Any]]], at_once: int) -> list[Any]:
    gate = asyncio.Semaphore(at_once)

    async def one(call: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await call()

    return await asyncio.gather(*(one(c) for c in calls))


async def measure_claims(stack: Stack, profile: Profile) -> ClaimFigures:
    figures = ClaimFigures(profile.referents)
    run = uuid.uuid4().hex[:8]
    emails = [f"bench-{run}-{n}@example.org" for n in range(profile.referents)]
    for email in emails:  # straight into the database, as the tests do (argon2 is slow)
        create_referent(stack.database_url, email)
    async with _client(stack.base_url, 20) as people:
        sessions = await _bounded(
            [lambda: request_a_person(people) for _ in range(profile.handoffs)], 5
        )
    queued = [s for s in sessions if s is not None]
    figures.not_queued = profile.handoffs - len(queued)
    ids = handoffs_of(stack.database_url, queued)
    figures.handoffs = len(ids)

    consoles = [_client(stack.base_url, 4) for _ in emails]
    winners: dict[int, list[str]] = {i: [] for i in ids}
    try:
        me: list[str] = []
        for console, email in zip(consoles, emails, strict=True):
            response = await console.post(
                "/console/api/login", json={"email": email, "password": PASSWORD}
            )
            response.raise_for_status()
            console.headers["X-CSRF-Token"] = response.json()["me"]["csrf_token"]
            me.append(response.json()["me"]["id"])
        start = asyncio.Event()

        async def referent(console: httpx.AsyncClient, referent_id: str) -> None:
            await start.wait()
            for handoff_id in ids:  # everyone in the same order: the most contention
                started = time.perf_counter()
                try:
                    answer = await console.post(f"/console/api/handoffs/{handoff_id}/claim")
                except httpx.HTTPError as exc:
                    figures.answers[f"error: {type(exc).__name__}"] += 1
                    continue
                figures.latencies.append(time.perf_counter() - started)
                if answer.status_code == 200:
                    figures.answers[ClaimResult.CLAIMED.value] += 1
                    winners[handoff_id].append(referent_id)
                    continue
                try:
                    words = answer.json().get("error", "")
                except ValueError:
                    words = ""
                figures.answers[REASONS.get(words, f"HTTP {answer.status_code}")] += 1

        tasks = [asyncio.create_task(referent(c, r)) for c, r in zip(consoles, me, strict=True)]
        await asyncio.sleep(0.1)  # every référent waiting at the line
        started = time.perf_counter()
        start.set()
        await asyncio.gather(*tasks)
        figures.seconds = time.perf_counter() - started

        holders, claimed_events = holders_of(stack.database_url, ids)
        for handoff_id, won in winners.items():
            if not won:
                figures.unclaimed += 1
            elif (
                len(won) > 1 or claimed_events[handoff_id] != 1 or holders.get(handoff_id) != won[0]
            ):
                figures.double_assignments += 1

        # Leave the queue as found (the test stack is shared): each holder closes theirs.
        by_id = dict(zip(me, consoles, strict=True))

        def close(handoff_id: int, holder: str) -> Callable[[], Awaitable[httpx.Response]]:
            return lambda: by_id[holder].post(
                f"/console/api/handoffs/{handoff_id}/close", json={"outcome": "no_answer"}
            )

        await _bounded([close(h, won[0]) for h, won in winners.items() if won], 5)
    finally:
        for console in consoles:
            await console.aclose()
    print(
        f"[claims] {figures.handoffs} requests, {len(figures.latencies)} claims: "
        f"{dict(figures.answers)}, double assignments {figures.double_assignments}",
        flush=True,
    )
    return figures


# --- 3. peak memory ---------------------------------------------------------------------
def _status(pid: int) -> dict[str, str]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The parent is the 2nd field after the command in parentheses (which may hold
            # spaces and parentheses itself: split after the last one).
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def _descendants(tree: dict[int, list[int]], pid: int) -> list[int]:
    found = []
    for child in tree.get(pid, []):
        found += [child, *_descendants(tree, child)]
    return found


def _name_of(pid: int) -> str:
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    command = " ".join(a.decode(errors="replace") for a in argv)
    if "rasa_sdk" in command:
        return "action server"
    if "bot.serve" in command:
        return "gateway"
    if "bot.engine_launch" in command or re.search(r"rasa run\b", command):
        return "Rasa server"
    return Path(argv[0].decode(errors="replace")).name


def _peak_kb(pid: int) -> int:
    return int(_status(pid).get("VmHWM", "0 kB").split()[0])


def peak_memory(supervisor_pid: int) -> list[Memory]:
    """``VmHWM`` (the peak resident set) of the supervisor and each child, with the
    peaks of any subprocess a child started itself."""
    tree = _children()
    rows = [Memory("supervisor", supervisor_pid, _peak_kb(supervisor_pid))]
    for child in tree.get(supervisor_pid, []):
        try:
            rows.append(
                Memory(
                    _name_of(child),
                    child,
                    _peak_kb(child),
                    [_peak_kb(p) for p in _descendants(tree, child)],
                )
            )
        except OSError:  # it ended while we looked
            continue
    order = ["gateway", "Rasa server", "action server", "supervisor"]
    return sorted(rows, key=lambda m: order.index(m.name) if m.name in order else len(order))


# --- 4. training time -------------------------------------------------------------------
def model_hash() -> str:
    return HASH_FILE.read_text(encoding="utf-8").strip()


def last_training(model_cache: Path) -> Training:
    """The duration of the training of the current model, as ``make model`` recorded it
    (``seconds=`` and ``components_from_rasa_cache=`` lines); else from the timestamps of
    ``build/train.log`` when it is this model's log. Rasa restores unchanged components
    from its own training cache: such a training is said not to be a full one."""
    digest = model_hash()
    record = model_cache / f"relais-{digest}.train-seconds"
    if record.exists():
        fields = dict(
            line.partition("=")[::2] for line in record.read_text().splitlines() if "=" in line
        )
        seconds, cached = (
            float(fields.get("seconds", "nan")),
            int(fields.get("components_from_rasa_cache") or 0),
        )
        source = f"last `make model` ({record.name})"
    elif TRAIN_LOG.exists() and f"relais-{digest}" in TRAIN_LOG.read_text(errors="replace"):
        log = TRAIN_LOG.read_text(errors="replace")
        stamps = re.findall(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) ", log, re.MULTILINE)
        if len(stamps) < 2:
            return Training(None, "not measured in this run")
        first, last = (dt.datetime.fromisoformat(s) for s in (stamps[0], stamps[-1]))
        seconds = (last - first).total_seconds()
        cached = log.count("Restored component")
        source = "build/train.log timestamps (Rasa's start-up not included)"
    else:
        return Training(None, "not measured in this run")
    if cached:
        source += (
            f"; {cached} components restored from Rasa's training cache, so not a full"
            " training (`make bench TRAIN=1` times one)"
        )
    return Training(seconds, source)


def timed_training() -> Training:
    """A full training of the current inputs into a temporary directory (the model cache,
    Rasa's training cache and ``models/`` are left alone), with its peak memory."""
    with tempfile.TemporaryDirectory(prefix="relais-bench-train-") as tmp:
        log_path = Path(tmp) / "train.log"
        build = PROJECT_ROOT / "build" / "rasa"
        print("[training] a full training, timed (15-20 min on two cores)...", flush=True)
        started = time.perf_counter()
        with log_path.open("wb") as log:
            done = subprocess.run(  # noqa: S603  (our own engine, fixed arguments)
                [
                    str(RASA),
                    "train",
                    "--config",
                    str(build / "config.yml"),
                    "--domain",
                    str(build / "domain.yml"),
                    "--data",
                    str(build / "data"),
                    "--out",
                    tmp,
                    "--fixed-model-name",
                    f"relais-{model_hash()}",
                ],
                cwd=PROJECT_ROOT,
                # An empty training cache of its own: every component is trained, and
                # the developer's cache (~/.rasa/cache) is neither used nor filled.
                env={
                    **os.environ,
                    "RASA_TELEMETRY_ENABLED": "false",
                    "RASA_CACHE_DIRECTORY": str(Path(tmp) / "rasa-cache"),
                },
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            sys.stderr.write(log_path.read_text(errors="replace")[-4000:])
            raise SystemExit("the timed training failed")
    # The largest child this process waited for: the training (nothing else ran yet).
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return Training(seconds, "measured in this run (`--train`)", peak)


# --- the stack of the benchmark ---------------------------------------------------------
@contextmanager
def bench_stack(tmp: Path) -> Iterator[Stack]:
    """The supervisor on free ports, as ``tests/utils/stack.py`` starts it, with the
    benchmark's settings."""
    var_dir = tmp / "var"
    var_dir.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{var_dir / 'app.db'}"
    # A throwaway data key for the throwaway database, in this process (the migration
    # encrypts) and in the stack: never the developer's own, nor var/dev-data-key.
    data_key = Fernet.generate_key().decode()
    crypto.use_keys([data_key])
    migrate(database_url)
    port, rasa_port, actions_port = free_port(), free_port(), free_port()
    admin_token = secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "RASA_PORT": str(rasa_port),
        "ACTIONS_PORT": str(actions_port),
        "DATABASE_URL": database_url,
        "TRACKER_STORE_URL": f"sqlite:///{var_dir / 'rasa-tracker.db'}",
        "VAR_DIR": str(var_dir),
        "ADMIN_API_TOKEN": admin_token,
        "RASA_TOKEN": secrets.token_urlsafe(24),
        "DATA_ENCRYPTION_KEYS": data_key,
        # Rasa's tracker events are encrypted too (bot/tracker_store.py): a throwaway key.
        "TRACKER_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ENVIRONMENT": "development",
        "LOG_LEVEL": "WARNING",
        # Each web chat reply says where its time went (bot/timing.py): the slowest
        # replies are explained in the report.
        "SERVER_TIMING": "true",
        # Someone is on duty whatever the hour, so requests go straight to the queue.
        "WORKING_HOURS": '{"mon-sun": "00:00-23:59"}',
        # Every simulated person comes from 127.0.0.1 and sends faster than a person:
        # the limits would measure themselves (their cost per message stays in).
        "RATE_LIMIT_IP_MESSAGES_PER_MINUTE": "0",
        "RATE_LIMIT_IP_SESSIONS_PER_MINUTE": "0",
        "RATE_LIMIT_IP_LOGINS_PER_MINUTE": "0",
        "RATE_LIMIT_SESSION_MESSAGES_PER_MINUTE": "0",
    }
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "REFERENTS_TELEGRAM_CHAT_ID",
        "SUPERVISORS_TELEGRAM_CHAT_ID",
    ):
        env.pop(name, None)  # no call leaves the machine
    log_path = tmp / "stack.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.supervisor"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    stack = Stack(
        f"http://127.0.0.1:{port}",
        database_url,
        admin_token,
        rasa_port,
        actions_port,
        var_dir,
        log_path,
        process,
    )
    try:
        started = time.monotonic()
        wait_healthy(stack.base_url)
        print(f"[stack] ready in {time.monotonic() - started:.0f} s", flush=True)
        yield stack
    except BaseException:
        sys.stderr.write(stack.log()[-6000:])
        raise
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def measure(stack: Stack, profile: Profile) -> Figures:
    """Everything measured on a running stack (the benchmark's own, or the tests')."""
    written: set[str] = set()
    started, before = time.monotonic(), cpu_seconds(stack.process.pid)
    levels = await measure_latency(stack, profile, written)
    claims = await measure_claims(stack, profile)
    after, seconds = cpu_seconds(stack.process.pid), time.monotonic() - started
    capacity = seconds * len(os.sched_getaffinity(0))
    ours = after[1] - before[1]
    share = CpuShare(seconds, ours / capacity, max(0.0, after[0] - before[0] - ours) / capacity)
    # Payloads ("/greet") are buttons, not typed text.
    typed = {text for text in written if not text.startswith("/")}
    return Figures(levels, claims, peak_memory(stack.process.pid), written=typed, cpu=share)


def cpu_seconds(supervisor_pid: int) -> tuple[float, float]:
    """CPU time used so far by the whole machine (``/proc/stat``, every core) and by the
    stack and this process (user + system)."""
    tick = os.sysconf("SC_CLK_TCK")
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    # user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    values = [int(v) for v in fields[:8]]
    machine = (sum(values) - values[3] - values[4]) / tick
    ours = sum(os.times()[:2])
    for pid in [supervisor_pid, *_descendants(_children(), supervisor_pid)]:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ours += (int(stat[11]) + int(stat[12])) / tick  # utime, stime
    return machine, ours


# --- the table --------------------------------------------------------------------------
def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kb = int(line.split()[1])
    return (
        f"{len(os.sched_getaffinity(0))} cores ({cpu}), {memory_kb / 2**20:.1f} GiB memory, "
        f"Linux {platform.release()}, Python {platform.python_version()} (load generator)"
    )


def _mb(kb: int) -> str:
    return f"{kb / 1024:,.0f} MB"


STAGE_NAMES = {
    "auth-wait": "waiting for a thread: session check",
    "auth": "session check (database)",
    "record-wait": "waiting for a thread: recording the message",
    "record": "recording the message (database)",
    "engine": "Rasa (NLU, dialogue, actions)",
    "answer-wait": "waiting for a thread: recording the answer",
    "answer": "recording the answer (database)",
}


def stages_table(levels: list[Level]) -> str | None:
    """Where the gateway's replies spent their time: all of them against the slowest 5%
    (mean seconds per stage; "outside the handler" is the round trip minus the handler's
    total: HTTP, the event loop, the client)."""
    rows = []
    for level in levels:
        timed = level.gateway.stages
        if not timed:
            continue
        cut = percentile([latency for latency, _ in timed], 0.95)
        slow = [(latency, stages) for latency, stages in timed if latency >= cut]
        rows.append((level.concurrency, _mean_stages(timed), _mean_stages(slow), len(slow)))
    if not rows:
        return None
    names = [*STAGE_NAMES, "other", "outside"]
    lines = [
        "| at once | replies | "
        + " | ".join(STAGE_NAMES.get(n, n) for n in names[:-2])
        + " | other stages | outside the handler | round trip |",
        "|---:|---|" + "---:|" * (len(names) + 1),
    ]
    for concurrency, every, slow, count in rows:
        for label, means in (("all", every), (f"slowest 5% ({count})", slow)):
            lines.append(
                f"| {concurrency} | {label} | "
                + " | ".join(ms(means.get(n, 0.0)) for n in names)
                + f" | {ms(means['round trip'])} |"
            )
    return "\n".join(lines)


def _mean_stages(timed: list[tuple[float, dict[str, float]]]) -> dict[str, float]:
    sums: Counter[str] = Counter()
    for latency, stages in timed:
        for name, seconds in stages.items():
            key = name if name in STAGE_NAMES or name == "total" else "other"
            sums[key] += seconds
        sums["outside"] += latency - stages.get("total", 0.0)
        sums["round trip"] += latency
    # "other": stages the gateway adds later (a new name shows here until named above).
    return {name: total / len(timed) for name, total in sums.items()}


def latency_table(levels: list[Level]) -> str:
    lines = [
        "| at once | path | messages | errors | p50 | p95 | p99 | messages/s |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for level in levels:
        for figures, label in ((level.gateway, "gateway (web chat API)"), (level.rasa, "Rasa")):
            values = figures.latencies
            lines.append(
                f"| {level.concurrency} | {label} | {figures.messages} | {figures.errors} | "
                f"{ms(percentile(values, 0.5))} | {ms(percentile(values, 0.95))} | "
                f"{ms(percentile(values, 0.99))} | {figures.per_second:.1f} |"
            )
        lines.append(
            f"| {level.concurrency} | **gateway / Rasa** | | | {level.ratio(0.5):.2f} | "
            f"**{level.ratio(0.95):.2f}** | {level.ratio(0.99):.2f} | "
            f"{level.throughput_ratio:.2f} |"
        )
    return "\n".join(lines)


def resources_table(training: Training | None, memory: list[Memory]) -> str:
    lines = ["| figure | value |", "|---|---:|"]
    if training is not None:
        took = (
            f"{training.seconds / 60:.1f} min ({training.seconds:.0f} s), {training.source}"
            if training.seconds is not None
            else training.source
        )
        lines.append(f"| training time, full model | {took} |")
        if training.peak_rss_kb is not None:
            lines.append(f"| peak RSS, training | {_mb(training.peak_rss_kb)} |")
    for row in memory:
        extra = f" (+ {len(row.extra)} subprocesses, {_mb(sum(row.extra))})" if row.extra else ""
        lines.append(f"| peak RSS, {row.name} | {_mb(row.peak_kb)}{extra} |")
    # Forked workers share pages with their parent: the sum is an upper bound.
    total = sum(r.peak_kb + sum(r.extra) for r in memory)
    lines.append(f"| peak RSS, whole stack (sum of the peaks) | {_mb(total)} |")
    return "\n".join(lines)


def claims_table(claims: ClaimFigures) -> str:
    refusals = ", ".join(
        f"{reason} {count}"
        for reason, count in sorted(claims.answers.items())
        if reason != ClaimResult.CLAIMED.value
    )
    rows = [
        ("référents claiming at once", f"{claims.referents}"),
        ("waiting requests (made through the web chat)", f"{claims.handoffs}"),
        ("requests that did not reach the queue", f"{claims.not_queued}"),
        ("claim attempts", f"{sum(claims.answers.values())}"),
        ("claimed (exactly one winner each)", f"{claims.answers[ClaimResult.CLAIMED.value]}"),
        ("**double assignments**", f"**{claims.double_assignments}**"),
        ("requests nobody got", f"{claims.unclaimed}"),
        ("refusals by reason", refusals or "none"),
        (
            "claim latency p50 / p95 / max",
            f"{ms(percentile(claims.latencies, 0.5))} / {ms(percentile(claims.latencies, 0.95))}"
            f" / {ms(max(claims.latencies, default=float('nan')))}",
        ),
        ("whole race", ms(claims.seconds)),
    ]
    return "\n".join(["| figure | value |", "|---|---:|", *(f"| {a} | {b} |" for a, b in rows)])


def report(
    figures: Figures, profile: Profile, header: list[str], reminders: str | None = None
) -> str:
    headline = ", ".join(
        f"{level.ratio(0.95):.2f} at {level.concurrency} at once" for level in figures.levels
    )
    parts = [
        "# Stack benchmark",
        "",
        *header,
        "",
        f"Headline, gateway / Rasa at p95 (goal <= 1.15): {headline}.",
        "",
        *(
            [
                f"CPU while measuring ({figures.cpu.seconds:.0f} s): the stack and the"
                f" load generator {figures.cpu.ours:.0%} of the machine, other processes"
                f" {figures.cpu.others:.0%} (the noise in these figures).",
                "",
            ]
            if figures.cpu is not None
            else []
        ),
        "## Reply latency and throughput",
        "",
        f"Whole conversations of {profile.script_length} messages (`/greet`, a greeting,"
        " knowledge questions, a place question, thanks), the same ones on both paths;"
        " latency is one message's round trip, messages/s the answered messages over the"
        " path's wall time (the gateway's includes opening each web chat session).",
        "",
        latency_table(figures.levels),
        "",
        *(
            [
                "Where the gateway's replies spent their time (mean per reply, from its"
                " `Server-Timing` header): every reply against the slowest 5%.",
                "",
                table,
                "",
            ]
            if (table := stages_table(figures.levels)) is not None
            else []
        ),
        "## Training and memory",
        "",
        resources_table(figures.training, figures.memory),
        "",
        "## Queue claims",
        "",
        f'{figures.claims.referents} référents logged into the console press "Prendre" on'
        " every waiting request at once, in the same order.",
        "",
        claims_table(figures.claims),
        "",
    ]
    if reminders is not None:
        parts += ["## Reminders (`make bench-reminders`)", "", reminders.strip(), ""]
    return "\n".join(parts)


def reminders_table(path: Path) -> str | None:
    """The table of ``reports/bench-reminders.md`` (its lines from the first ``|``)."""
    if not path.exists():
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    intro = [line for line in lines[1:] if line and not line.startswith("|")]
    table = [line for line in lines if line.startswith("|")]
    return "\n".join([*intro, "", *table])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", default=",".join(map(str, LONG.levels)))
    parser.add_argument("--messages", type=int, default=LONG.messages)
    parser.add_argument("--rounds", type=int, default=LONG.rounds)
    parser.add_argument("--handoffs", type=int, default=LONG.handoffs)
    parser.add_argument("--referents", type=int, default=LONG.referents)
    parser.add_argument("--train", action="store_true", help="time a full training first")
    parser.add_argument("--model-cache", type=Path, default=DEFAULT_MODEL_CACHE)
    parser.add_argument("--reminders", type=Path, help="a bench-reminders report to include")
    parser.add_argument("--out", type=Path, default=REPORT)
    args = parser.parse_args()
    profile = Profile(
        levels=tuple(int(n) for n in args.levels.split(",")),
        messages=args.messages,
        rounds=args.rounds,
        handoffs=args.handoffs,
        referents=args.referents,
    )
    model = PROJECT_ROOT / "models" / f"relais-{model_hash()}.tar.gz"
    if not model.exists():
        raise SystemExit(f"No trained model at {model}: run `make model` first.")
    training = timed_training() if args.train else last_training(args.model_cache)
    started = dt.datetime.now(dt.UTC)
    with (
        tempfile.TemporaryDirectory(prefix="relais-bench-") as tmp,
        bench_stack(Path(tmp)) as stack,
    ):
        figures = asyncio.run(measure(stack, profile))
    figures.training = training
    header = [
        f"`python -m bench.stack --levels {args.levels} --messages {args.messages}"
        f" --rounds {args.rounds} --handoffs {args.handoffs} --referents {args.referents}"
        + (" --train`" if args.train else "`"),
        f"({started:%Y-%m-%d %H:%M} UTC, {(dt.datetime.now(dt.UTC) - started).seconds / 60:.0f}"
        f" min), model"
        f" `{model.name}`, SQLite, every process on this machine (the load generator too).",
        "",
        f"Machine: {machine()}.",
    ]
    text = report(
        figures, profile, header, reminders_table(args.reminders) if args.reminders else None
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

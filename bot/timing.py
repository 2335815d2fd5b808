"""Where one request's time went, stage by stage, for a ``Server-Timing`` header.

Stages are named by the code (``auth``, ``record``, ``engine``, ``answer``...), never by
what was said: the header carries durations only, no personal data. Worker-thread stages
also say how long they waited for a free thread (``<stage>-wait``), which is where a busy
database or a full pool shows. The figures feed the stack benchmark (``bench/``): a slow
reply is explained by its stages, or by the time outside them (the event loop, HTTP).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

_stages: ContextVar[dict[str, float] | None] = ContextVar("relais_stages", default=None)

P = ParamSpec("P")
R = TypeVar("R")


def start() -> dict[str, float]:
    """Begin timing the current request (its task and the worker threads it calls)."""
    stages: dict[str, float] = {}
    _stages.set(stages)
    return stages


def add(name: str, seconds: float) -> None:
    stages = _stages.get()
    if stages is not None:  # outside a timed request: nothing to do
        stages[name] = stages.get(name, 0.0) + seconds


@contextmanager
def stage(name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        add(name, time.perf_counter() - started)


async def in_thread(name: str, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """``asyncio.to_thread`` with the wait for a free thread and the run timed apart.
    (``to_thread`` copies the context, so the thread adds to this request's stages.)"""
    submitted = time.perf_counter()

    def run() -> R:
        add(f"{name}-wait", time.perf_counter() - submitted)
        with stage(name):
            return function(*args, **kwargs)

    return await asyncio.to_thread(run)


def header(stages: dict[str, float]) -> str:
    """The ``Server-Timing`` value: ``engine;dur=812.4, record;dur=3.1``."""
    return ", ".join(f"{name};dur={1000 * seconds:.1f}" for name, seconds in stages.items())


def parse(value: str) -> dict[str, float]:
    """A ``Server-Timing`` value read back, in seconds (what ``header`` wrote)."""
    stages: dict[str, float] = {}
    for part in value.split(","):
        name, _, rest = part.strip().partition(";")
        if name and rest.startswith("dur="):
            try:
                stages[name] = float(rest[4:]) / 1000
            except ValueError:
                continue
    return stages

"""Stage timings of one request (bot/timing.py), read back as the benchmark reads them."""

from __future__ import annotations

import asyncio
import time

from bot import timing


def test_stages_of_a_request_include_its_worker_threads() -> None:
    def slow_write(seconds: float) -> str:
        time.sleep(seconds)
        return "done"

    async def request() -> tuple[str, dict[str, float]]:
        stages = timing.start()
        with timing.stage("total"):
            result = await timing.in_thread("record", slow_write, 0.05)
        return result, stages

    result, stages = asyncio.run(request())
    assert result == "done"
    assert set(stages) == {"record-wait", "record", "total"}
    assert stages["record"] >= 0.05
    assert stages["total"] >= stages["record"] + stages["record-wait"] - 0.001


def test_time_waiting_for_a_free_thread_is_its_own_stage() -> None:
    async def request() -> dict[str, float]:
        stages = timing.start()
        loop = asyncio.get_running_loop()
        # One worker thread, busy for 0.1 s: the request's own work waits for it.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1) as pool:
            loop.set_default_executor(pool)
            blocker = loop.run_in_executor(None, time.sleep, 0.1)
            await timing.in_thread("record", lambda: None)
            await blocker
        return stages

    stages = asyncio.run(request())
    assert stages["record-wait"] >= 0.08
    assert stages["record"] < 0.05


def test_outside_a_timed_request_nothing_is_kept() -> None:
    async def untimed() -> int:
        with timing.stage("engine"):
            pass
        return await timing.in_thread("record", lambda: 7)

    assert asyncio.run(untimed()) == 7


def test_header_reads_back() -> None:
    header = timing.header({"auth": 0.0012, "engine": 0.8124})
    assert header == "auth;dur=1.2, engine;dur=812.4"
    assert timing.parse(header) == {"auth": 0.0012, "engine": 0.8124}
    assert timing.parse("bad, engine;dur=x, cache;desc=hit") == {}


def test_benchmark_explains_its_slowest_replies() -> None:
    from bench import stack as bench

    gateway = bench.PathFigures("gateway", 2)
    for number in range(20):
        engine = 2.0 if number == 19 else 0.1
        stages = {"record": 0.01, "engine": engine, "answer": 0.01, "total": engine + 0.02}
        gateway.latencies.append(engine + 0.05)
        gateway.stages.append((engine + 0.05, stages))
    level = bench.Level(2, gateway, bench.PathFigures("rasa", 2))
    table = bench.stages_table([level])
    assert table is not None
    every, slow = [line.split(" | ") for line in table.splitlines()[2:]]
    assert every[1] == "all"
    assert slow[1] == "slowest 5% (1)"
    engine_column = table.splitlines()[0].split(" | ").index("Rasa (NLU, dialogue, actions)")
    assert slow[engine_column] == "2000 ms"
    assert every[engine_column] == "195 ms"
    assert slow[-2] == "30 ms"  # outside the handler

"""The stack benchmark's quick profile on the shared test stack, so that the benchmark
code (``make bench``) cannot rot. Speed is measured there, never asserted here: this only
checks that every figure is produced and that nothing failed."""

from __future__ import annotations

from bench import stack as bench
from tests.utils.chat import remember_written
from tests.utils.stack import Stack


async def test_the_quick_benchmark_fills_every_row_without_an_error(stack: Stack) -> None:
    figures = await bench.measure(stack, bench.QUICK)
    for text in figures.written:  # checked absent from the stack's log at its stop
        remember_written(text)
    figures.training = bench.last_training(bench.DEFAULT_MODEL_CACHE)

    (level,) = figures.levels
    assert level.concurrency == 2
    for path in (level.gateway, level.rasa):
        assert path.errors == 0, path
        assert path.conversations == 2
        assert len(path.latencies) == 2 * bench.QUICK.script_length

    claims = figures.claims
    assert claims.not_queued == 0
    assert claims.handoffs == bench.QUICK.handoffs
    assert claims.answers["claimed"] == claims.handoffs, claims.answers
    assert claims.double_assignments == 0
    assert claims.unclaimed == 0
    assert sum(claims.answers.values()) == bench.QUICK.referents * claims.handoffs
    assert not [reason for reason in claims.answers if reason.startswith(("error", "HTTP"))]

    assert [m.name for m in figures.memory] == [
        "gateway",
        "Rasa server",
        "action server",
        "supervisor",
    ]
    assert all(m.peak_kb > 0 for m in figures.memory)
    assert figures.cpu is not None

    text = bench.report(figures, bench.QUICK, ["quick profile"])
    rows = [line.split("|")[2].strip() for line in text.splitlines() if line.startswith("| 2 |")]
    assert rows == [
        "gateway (web chat API)",
        "Rasa",
        "**gateway / Rasa**",
        # Where the gateway's time went, from its Server-Timing header (the test stack
        # turns it on): every reply, then the slowest 5%.
        "all",
        "slowest 5% (1)",
    ]
    assert len(level.gateway.stages) == len(level.gateway.latencies)
    assert all(stages["engine"] > 0 for _latency, stages in level.gateway.stages)
    for label in (
        "training time, full model",
        "peak RSS, gateway",
        "peak RSS, Rasa server",
        "peak RSS, action server",
        "peak RSS, supervisor",
        "**double assignments** | **0**",
        "claim latency p50 / p95 / max",
    ):
        assert f"| {label}" in text, label
    assert "nan" not in text

"""A small run of the load benchmark, plus its statistics and the engine emission hook.

Targets are not asserted here (they belong to the full benchmark, ``make perf``): the smoke
run proves the benchmark works end to end — both sides run, every partial image is matched
to its emission, the report is complete and nothing failed.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import pytest
from openai.types.responses import ResponseImageGenCallPartialImageEvent
from openai.types.responses.tool_param import ImageGeneration

from agent.config import Settings
from agent.engine import Engine, EngineConfig
from agent.turn.client import build_client

HERE = Path(__file__).resolve().parent
USERS, TURNS, PARTIALS = 3, 2, 2


def _module(name: str) -> ModuleType:
    """Load a sibling benchmark module by path (tests/perf is scripts, not a package)."""
    if str(HERE) not in sys.path:  # the benchmark modules import each other by name
        sys.path.insert(0, str(HERE))
    spec = importlib.util.spec_from_file_location(f"perf_smoke_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


stats = _module("perf_stats")
trace = _module("perf_trace")
proc = _module("perf_proc")


def test_percentiles_interpolate_between_ranks() -> None:
    assert stats.percentile([1, 2, 3, 4], 50) == 2.5
    assert stats.percentile([10.0], 95) == 10.0
    assert stats.percentile(list(range(101)), 95) == 95
    assert stats.percentile([], 50) is None
    with pytest.raises(ValueError, match=r"0\.\.100"):
        stats.percentile([1], 101)


def test_ratio_is_none_without_a_baseline() -> None:
    assert stats.ratio(110.0, 100.0) == 1.1
    assert stats.ratio(5.0, 0.0) is None
    assert stats.ratio(None, 3.0) is None


def test_report_checks_targets_and_rss_per_session() -> None:
    app = stats.SideResult(turn_latency_ms=[100.0, 120.0], partial_delay_ms=[20.0], turns_ok=2)
    base = stats.SideResult(turn_latency_ms=[100.0, 100.0], partial_delay_ms=[5.0], turns_ok=2)
    server = stats.ServerSample(loop_lag_max_ms=80.0, rss_before_mb=100.0, rss_after_mb=103.0)
    server.app_cpu_s, server.generator_cpu_s, server.wall_s = [0.03, 0.05], 1.0, 4.0
    report = stats.build_report({"users": 2, "profile": "burst"}, app, base, server)
    assert report["ratios"]["p95_turn_latency"] == pytest.approx(1.19)
    assert report["rss_mb_per_session"] == 1.5
    assert report["targets"]["loop_lag_max_ms"]["met"] is False
    assert report["targets"]["p95_turn_latency_ratio"] == {"value": 1.19, "limit": 1.5, "met": True}
    # Two workers: CPU is summed over them, per measured turn.
    assert report["app_cpu_ms_per_turn"] == 40.0
    assert report["cpu"]["app_cpu_ms_per_turn_by_worker"] == [15.0, 25.0]
    assert report["cpu"]["generator_core_share"] == 0.25
    assert report["targets"]["app_cpu_ms_per_turn"]["met"] is False
    assert report["errors"] == 0
    realistic = stats.build_report({"users": 2, "profile": "realistic"}, app, base, server)
    assert realistic["targets"]["p95_turn_latency_ratio"]["met"] is False  # limit 1.03
    assert "CPU ms per turn" in stats.format_table(report)


def test_cpu_time_of_a_process_comes_from_proc() -> None:
    import os

    before = proc.cpu_s(os.getpid())
    sum(i * i for i in range(300_000))  # burn a little CPU
    after = proc.cpu_s(os.getpid())
    assert before is not None and after is not None and after > before
    assert proc.cpu_s(2**22 + 12345) is None  # no such process


def test_serve_workers_are_found_in_the_supervisor_log(tmp_path: Path) -> None:
    app = _module("perf_app")
    log = tmp_path / "app.log"
    log.write_text(
        "worker w1 pid 101 port 5001\nworker w2 pid 102 port 5002\n[w1] ready\n"
        "worker w1 exited with -9\nworker w1 pid 103 port 5001\n",
        encoding="utf-8",
    )
    server = proc.ServerProcess(["serve"], {}, port=1, ready_path="/", log_path=log)
    assert app.app_processes(server, 2) == [
        (103, "http://127.0.0.1:5001"),  # the restarted worker, not the dead one
        (102, "http://127.0.0.1:5002"),
    ]


def test_profiles_set_latency_engine_and_think_time() -> None:
    load = _module("load")
    cfg, _, _, _ = load.parse_args(["--profile", "realistic", "--users", "5"])
    assert (cfg.latency_ms, cfg.engine, cfg.turns, cfg.profile) == (
        (5000, 15000),
        "external",
        2,
        "realistic",
    )
    assert cfg.think_s > 0 and cfg.ramp_s == 15.0  # users ramp over the final latency
    burst, _, _, _ = load.parse_args(["--latency", "200,400", "--engine", "external"])
    assert (burst.profile, burst.latency_ms, burst.engine, burst.think_s) == (
        "burst",
        (200, 400),
        "external",
        0.0,
    )
    with pytest.raises(SystemExit):
        load.parse_args(["--workers", "2", "--engine", "embedded"])


async def test_trace_records_each_partial_the_client_receives(tmp_path: Path) -> None:
    emitted: dict[tuple[str, int], float] = {}
    uninstall = trace.install(lambda item, index, t: emitted.__setitem__((item, index), t))
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    engine = Engine(EngineConfig(db_path=None))
    client = build_client(settings, engine)
    received: list[tuple[str, int]] = []
    try:
        tool: ImageGeneration = {
            "type": "image_generation",
            "size": "1024x1024",
            "partial_images": 2,
        }
        stream = await client.responses.create(
            model="gpt-5.1", input="Draw a lighthouse", tools=[tool], stream=True
        )
        async with stream:
            async for event in stream:
                if isinstance(event, ResponseImageGenCallPartialImageEvent):
                    received.append((event.item_id, event.partial_image_index))
    finally:
        uninstall()
        await client.close()
        await engine.aclose()
    assert len(received) == 2
    assert sorted(emitted) == sorted(received)


async def test_the_baseline_reads_events_light_across_chunk_boundaries() -> None:
    baseline = _module("perf_baseline")
    big = "A" * 300_000  # an image's base64: kept out of the JSON parser
    events = [
        {"type": "response.created", "response": {"id": "resp_1"}},
        {"type": baseline.PARTIAL_EVENT, "item_id": "ig_1", "partial_image_index": 0,
         "partial_image_b64": big},
        {"type": "response.completed", "response": {"id": "resp_1"}},
    ]  # fmt: skip
    wire = (
        b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)
        + b"data: [DONE]\n\n"
    )

    async def chunks() -> AsyncIterator[bytes]:
        # Cuts inside a separator, inside the base64, and one byte before the end.
        cut = [0, 5, 61, 62, 70_000, 250_000, len(wire) - 1, len(wire)]
        for a, b in itertools.pairwise(cut):
            yield wire[a:b]

    got = [event async for event in baseline.light_events(chunks())]
    assert got == events


def test_file_sink_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "emissions.jsonl"
    sink = trace.FileSink(path)
    sink("ig_abc", 0, 1.5)
    sink("ig_abc", 1, 2.5)
    sink.close()
    assert trace.read_trace(path) == {("ig_abc", 0): 1.5, ("ig_abc", 1): 2.5}


@pytest.mark.e2e
def test_smoke_run_reports_both_sides_without_errors(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    args = [sys.executable, str(HERE / "load.py"), "--users", str(USERS), "--turns", str(TURNS)]
    args += ["--latency", "200,400", "--time-limit", "120", "--out", str(out)]
    run = subprocess.run(args, capture_output=True, text=True, timeout=170, check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    assert "turn latency p95 ms" in run.stdout
    report = json.loads(out.read_text(encoding="utf-8"))

    assert report["errors"] == 0
    for key in ("p50_turn_latency", "p95_turn_latency", "p95_partial_delay"):
        assert isinstance(report["ratios"][key], float) and report["ratios"][key] > 0
    assert report["loop_lag_ms"]["max"] >= report["loop_lag_ms"]["p99"] >= 0
    # The measured phase starts clean: the app's own reset route forgot start-up lag.
    assert report["loop_lag_ms"]["reset_before_measuring"] == "app: POST /atelier/metrics/reset"
    assert isinstance(report["rss_mb_per_session"], float)
    # CPU time from /proc: the app's per measured turn, the load generator's core share.
    assert report["app_cpu_ms_per_turn"] > 0
    assert report["cpu"]["workers"] == 1
    assert 0 < report["cpu"]["generator_core_share"] < 2
    for side in ("app", "baseline"):
        section = report[side]
        assert section["turns_ok"] == USERS * TURNS
        assert section["turn_latency_ms"]["count"] == USERS * TURNS
        assert section["partial_delay_ms"]["count"] == USERS * TURNS * PARTIALS
        assert section["partials_unmatched"] == 0
        assert section["turn_latency_ms"]["p50"] >= 400  # the engine's final image is at 400 ms
    assert set(report["targets"]) == {
        "p95_turn_latency_ratio",
        "p95_partial_fetch_ms",
        "loop_lag_max_ms",
        "rss_mb_per_session",
        "app_cpu_ms_per_turn",
        "generator_core_share",
        "errors",
    }

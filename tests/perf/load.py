"""Atelier's load benchmark: N simulated users through the app vs the same requests straight
to the engine.

    python tests/perf/load.py --profile realistic --users 100 --out test-output/perf.json
    python tests/perf/load.py --profile burst --users 100 --size 3840x2160

Profiles (perf_plan.PROFILES; any explicit option overrides them): ``realistic`` (first
partial at 5 s, final at 15 s, engine in its own process, 2 turns, 5 s think time) and
``burst`` (1 s / 2 s, engine in the app's process, 3 turns back to back; the default).

1. Baseline: the app's own requests with the openai SDK on an in-process engine (see
   perf_baseline for why that is the fair baseline), same users, ramp and latency profile.
2. App: ``chainlit run ui/app.py --headless`` on a free port (CI and OPENAI_* unset, a temp
   ATELIER_DATA_DIR, ``ATELIER_ENGINE_FAULT=latency=a,b``, generous budgets), N users over
   socket.io, one generation then refinements each.

Measured: turn latency (message sent -> the turn's bill line), partial-image delay (engine
emission -> the client's ``element`` event, and -> its bytes downloaded), the server's loop
lag (/atelier/metrics, reset before the measured phase) and RSS (/proc/<pid>/status) per
session, and every error. The report is JSON (``--out``) plus a table on stdout. Targets are
checked in the report, never asserted here; the exit status is 1 only when errors happened.

Every loop is bounded (turn timeout, time limit, startup timeout); only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from perf_app import app_server, run_app
from perf_baseline import engine_server, run_baseline
from perf_plan import PROFILES, LoadConfig
from perf_stats import build_report, format_table

from agent.images.spec import SpecError, validate_size


def parse_args(argv: Sequence[str] | None = None) -> tuple[LoadConfig, Path | None, bool]:
    """The run's config, where to write the report, and whether to skip the baseline."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="burst")
    parser.add_argument("--users", type=int, default=10, help="concurrent users (default 10)")
    parser.add_argument("--turns", type=int, default=None, help="turns per user (profile)")
    parser.add_argument("--size", default="1024x1024", help="image size, e.g. 3840x2160")
    parser.add_argument(
        "--latency", default=None, help="engine latency 'first partial ms,final ms' (profile)"
    )
    parser.add_argument("--think", type=float, default=None, help="seconds between turns")
    parser.add_argument(
        "--workers", type=int, default=1, help="app processes: atelier serve --workers N"
    )
    parser.add_argument("--partial-images", type=int, default=2)
    parser.add_argument(
        "--ramp",
        type=float,
        default=None,
        help="seconds over which users start, evenly spread (default: the final latency)",
    )
    parser.add_argument("--warmup", type=int, default=1, help="warm-up turns (not measured)")
    parser.add_argument("--turn-timeout", type=float, default=None, help="seconds per turn")
    parser.add_argument("--time-limit", type=float, default=1800.0, help="seconds per side")
    parser.add_argument(
        "--no-fetch-partials",
        action="store_true",
        help="do not download partial images (only time their element events)",
    )
    parser.add_argument(
        "--engine",
        choices=("embedded", "external"),
        default=None,
        help="the app's engine: in its process (default, no key) or a standalone engine "
        "process reached over HTTP like the real API (isolates the app's own cost)",
    )
    parser.add_argument("--skip-baseline", action="store_true", help="measure the app only")
    parser.add_argument("--out", type=Path, default=None, help="write the JSON report here")
    parser.add_argument(
        "--keep-logs",
        type=Path,
        default=None,
        help="copy the servers' logs here (with ATELIER_PERF_SLOW_MS=N the app logs every "
        "event-loop callback slower than N ms)",
    )
    args = parser.parse_args(argv)
    profile = PROFILES[args.profile]
    latency = args.latency or ",".join(str(v) for v in profile.latency_ms)
    try:
        first, final = (int(v) for v in latency.split(","))
    except ValueError:
        parser.error("--latency takes two integers in ms: --latency 15000,30000")
    try:
        validate_size("gpt-image-2", args.size)
    except SpecError as exc:
        parser.error(f"--size {args.size}: {exc.message}")
    timeout = args.turn_timeout or max(120.0, 10 * final / 1000)
    try:
        cfg = LoadConfig(
            users=args.users,
            turns=profile.turns if args.turns is None else args.turns,
            size=args.size,
            latency_ms=(first, final),
            partial_images=args.partial_images,
            ramp_s=final / 1000 if args.ramp is None else args.ramp,
            warmup_turns=args.warmup,
            turn_timeout_s=timeout,
            time_limit_s=args.time_limit,
            fetch_partials=not args.no_fetch_partials,
            think_s=profile.think_s if args.think is None else args.think,
            profile=args.profile,
            engine=args.engine or profile.engine,
            workers=args.workers,
        )
    except ValueError as exc:
        parser.error(str(exc))
    return cfg, args.out, args.skip_baseline, args.keep_logs


async def run(
    cfg: LoadConfig, skip_baseline: bool = False, keep_logs: Path | None = None
) -> dict[str, Any]:
    """Run both sides one after the other and build the report."""
    from perf_stats import SideResult

    with tempfile.TemporaryDirectory(prefix="atelier-perf-") as tmp:
        workdir = Path(tmp)
        print(f"baseline: {cfg.users} users x {cfg.turns} turns ...", file=sys.stderr)
        baseline = SideResult() if skip_baseline else await run_baseline(cfg, workdir)
        print("app: starting chainlit ...", file=sys.stderr)
        engine = engine_server(cfg, workdir, "app-engine") if cfg.engine == "external" else None
        server = app_server(cfg, workdir, engine)
        try:
            if engine is not None:
                await engine.start()
            await server.start()
            print(f"app: {cfg.users} users x {cfg.turns} turns ...", file=sys.stderr)
            app, sample = await run_app(cfg, server, engine)
        finally:
            await server.stop()
            if engine is not None:
                await engine.stop()
        if app.errors:
            print(f"server log tail:\n{server.log_tail(20)}", file=sys.stderr)
        if keep_logs is not None:
            keep_logs.mkdir(parents=True, exist_ok=True)
            for log in workdir.glob("*.log"):
                shutil.copy(log, keep_logs / log.name)
    return build_report(cfg.as_dict(), app, baseline, sample)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the table, write the report; 1 if any error happened."""
    cfg, out, skip_baseline, keep_logs = parse_args(argv)
    report = asyncio.run(run(cfg, skip_baseline, keep_logs))
    print(format_table(report))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"report written to {out}")
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

"""``atelier serve --workers 2``: real Chainlit workers behind real haproxy, 20 socket.io users.

The users spread over both workers (haproxy's sticky cookie says which), each runs a turn.
Then one worker is killed with SIGKILL while turns are in flight: its users reconnect
through the balancer, resume their threads on the surviving (or restarted) worker and find
everything that had finished; the other worker's users finish their turns undisturbed.

Run twice: with everything on the shared SQLite file, and with the store, the ledger and the
Chainlit data layer (threads, steps, elements) on PostgreSQL. The workers share one data dir
either way (the auth secret, image files).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from agent.ops.serve import STICKY_COOKIE
from agent.store.db import Store

pytestmark = pytest.mark.e2e

USERS = 20
START_TIMEOUT_S = 240.0
# Slow enough that a turn is surely in flight when a worker is killed.
ENGINE_ENV = {"ATELIER_ENGINE_FAULT": "latency=1500,3000", "ATELIER_PARTIAL_IMAGES": "2"}
WORKER_LINE = re.compile(r"^worker (w\d+) pid (\d+) port (\d+)$")


@dataclass
class Cluster:
    """The running ``atelier serve`` and what it said."""

    url: str
    process: asyncio.subprocess.Process
    pids: dict[str, int] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    started: Counter[str] = field(default_factory=Counter)
    restarted: asyncio.Event = field(default_factory=asyncio.Event)


@asynccontextmanager
async def serve_workers(
    harness: ModuleType, data_dir: Path, workers: int, extra_env: dict[str, str]
) -> AsyncIterator[Cluster]:
    """Run ``atelier serve --workers N`` on a free port; SIGTERM it afterwards."""
    port = harness.free_port()
    env = harness.server_env(data_dir, {**ENGINE_ENV, **extra_env})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent.cli", "serve", "--workers", str(workers),
        "--host", "127.0.0.1", "--port", str(port),
        env=env, cwd=data_dir.parent,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    cluster = Cluster(f"http://127.0.0.1:{port}", process)
    ready = asyncio.Event()

    async def drain() -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            cluster.lines.append(line)
            found = WORKER_LINE.match(line)
            if found:
                cluster.pids[found.group(1)] = int(found.group(2))
                cluster.started[found.group(1)] += 1
                if cluster.started[found.group(1)] > 1:
                    cluster.restarted.set()
            if line.startswith("Atelier is available at"):
                ready.set()

    reader = asyncio.create_task(drain())
    try:
        waiter = asyncio.create_task(ready.wait())
        done, _ = await asyncio.wait(
            {waiter, reader}, timeout=START_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
        )
        if waiter not in done:
            waiter.cancel()
            raise AssertionError("atelier serve did not start:\n" + "\n".join(cluster.lines[-60:]))
        yield cluster
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 60)
            except TimeoutError:
                process.kill()
                await process.wait()
        await reader


def worker_of(client: Any) -> str:
    """Which worker haproxy pinned this client to."""
    return str(client.http.cookies.get(STICKY_COOKIE))


async def first_turn(client: Any, n: int) -> str:
    """Connect, run one image turn to its bill line; return the thread id."""
    await client.connect(profile="Studio")
    await client.send(f"A lighthouse poster number {n} at dusk")
    await client.message("This turn $")
    return str((await client.event("first_interaction", since=0))["thread_id"])


def _is_partial(name: str, data: Any) -> bool:
    return name == "element" and str(data.get("name", "")).startswith("partial-")


@pytest.fixture(params=["sqlite", "postgres"])
def store_env(request: pytest.FixtureRequest, services: ModuleType) -> dict[str, str]:
    """Where the workers' store lives: the shared SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return {}
    cluster = request.getfixturevalue("pg_cluster")
    return {"ATELIER_DATABASE_URL": services.create_database(cluster, "workers")}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_twenty_users_over_two_workers_survive_a_killed_worker(
    harness: ModuleType, data_dir: Path, store_env: dict[str, str]
) -> None:
    async with serve_workers(harness, data_dir, 2, store_env) as cluster:
        assert set(cluster.pids) == {"w1", "w2"}
        clients = [harness.Client(cluster) for _ in range(USERS)]
        try:
            threads = await asyncio.gather(*(first_turn(c, n) for n, c in enumerate(clients)))
            spread = Counter(worker_of(c) for c in clients)
            assert set(spread) == {"w1", "w2"}, spread
            assert min(spread.values()) >= USERS // 4, spread

            # Everyone starts a second turn; once a w1 user's turn is visibly in flight
            # (a partial image arrived), w1 dies.
            marks = [await c.send("make the sky warmer") for c in clients]
            victims = [i for i, c in enumerate(clients) if worker_of(c) == "w1"]
            await clients[victims[0]].recorder.wait_for(_is_partial, since=marks[victims[0]])
            os.kill(cluster.pids["w1"], signal.SIGKILL)

            # The other worker's users finish their turn.
            survivors = [i for i in range(USERS) if i not in victims]
            await asyncio.gather(
                *(clients[i].message("This turn $", since=marks[i]) for i in survivors)
            )

            # The killed worker's users reconnect through the balancer and resume.
            async def resume(i: int) -> None:
                await clients[i].close()
                again = harness.Client(cluster)
                clients[i] = again
                await again.connect(profile="Studio", thread_id=threads[i])
                resumed = await again.event("resume_thread")
                outputs = " ".join(str(step.get("output", "")) for step in resumed["steps"])
                assert f"lighthouse poster number {i}" in outputs  # the finished turn's prompt
                assert "This turn $" in outputs  # and its bill line
                # The thread goes on where it was.
                await again.send("add the tagline 'Open late'")
                await again.message("This turn $")

            await asyncio.gather(*(resume(i) for i in victims))
            assert any(line.startswith("worker w1 exited") for line in cluster.lines)
            await asyncio.wait_for(cluster.restarted.wait(), 120)  # the supervisor replaced it
        finally:
            await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    # Stopping `atelier serve` stopped every worker it started.
    assert not [pid for pid in cluster.pids.values() if _alive(pid)]
    if store_env:  # the store and the data layer really were PostgreSQL (no SQLite file)
        store = await Store.open(store_env["ATELIER_DATABASE_URL"])
        try:
            rows = await store.database.fetch("SELECT COUNT(*) FROM sessions")
            assert rows[0][0] >= USERS
            rows = await store.database.fetch("SELECT COUNT(*) FROM cl_threads")
            assert rows[0][0] >= USERS
        finally:
            await store.close()
        tables: set[str] = set()
        if (data_dir / "atelier.db").exists():
            with sqlite3.connect(data_dir / "atelier.db") as db:
                tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
            db.close()
        assert not tables & {"sessions", "cl_threads", "cl_steps"}

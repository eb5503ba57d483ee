"""Several Chainlit workers behind haproxy with sticky sessions, on one machine.

Chainlit keeps each chat session in its process's memory and its socket.io server has no
shared manager, so every request of one browser must reach the worker that holds its
session: haproxy inserts a cookie naming the worker on the first response (``cookie ...
insert``), and the browser's later HTTP requests, socket.io long-polling requests and the
websocket upgrade all carry it. When a worker dies, ``option redispatch`` sends its users to
a live one (the cookie is rewritten there) and the supervisor starts a replacement.

Each worker is ``chainlit run ui/app.py --headless`` on a free 127.0.0.1 port with its own
app root (Chainlit deletes ``<app root>/.files`` on shutdown) and CI unset (Chainlit's CLI
would otherwise fake the OpenAI key). They share the data dir: the SQLite file (WAL, one
disk) or ``ATELIER_DATABASE_URL``, and ``ATELIER_STORAGE_URL`` when set; the auth secret is
read from the shared data dir or the environment, so a token from one worker is valid on
all. This module never imports chainlit.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "ui" / "app.py"
READY_LINE = "Your app is available at"
STICKY_COOKIE = "ATELIER_WORKER"
WORKER_START_TIMEOUT_S = 120.0
RESTART_DELAY_S = 1.0
MAX_RESTARTS = 20


class ServeError(RuntimeError):
    """The workers or the balancer could not be started."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def find_program(name: str) -> str:
    """``name`` next to this Python (the virtualenv's scripts) or on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name) or (shutil.which(name, path="/usr/sbin:/sbin"))
    if found is None:
        hint = " (Debian: apt-get install haproxy)" if name == "haproxy" else ""
        raise ServeError(f"{name} not found{hint}.")
    return found


def haproxy_config(
    host: str, port: int, workers: Mapping[str, int], *, stats_socket: Path | None = None
) -> str:
    """An haproxy configuration: one frontend on host:port, cookie-sticky workers behind it."""
    servers = "\n".join(
        f"    server {name} 127.0.0.1:{worker_port} cookie {name} check inter 1s fall 2 rise 1"
        for name, worker_port in workers.items()
    )
    stats = f"    stats socket {stats_socket} mode 600 level admin\n" if stats_socket else ""
    return f"""global
    maxconn 4096
{stats}
defaults
    mode http
    option http-server-close
    option forwardfor
    option redispatch
    retries 2
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
    timeout http-request 30s

frontend atelier
    bind {host}:{port}
    default_backend workers

backend workers
    balance roundrobin
    cookie {STICKY_COOKIE} insert indirect nocache httponly
{servers}
"""


def make_app_root(where: Path) -> Path:
    """A private Chainlit app root: the repo's config, readme and public files, own .files."""
    where.mkdir(parents=True, exist_ok=True)
    (where / ".chainlit").mkdir(exist_ok=True)
    shutil.copy(REPO / ".chainlit" / "config.toml", where / ".chainlit" / "config.toml")
    for name in ("chainlit.md", "public"):
        link = where / name
        if not link.exists():
            link.symlink_to(REPO / name)
    return where


@dataclass
class Worker:
    """One Chainlit process and how to restart it."""

    name: str
    port: int
    root: Path
    process: asyncio.subprocess.Process | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    restarts: int = 0


class Supervisor:
    """Starts N workers and haproxy, keeps the workers alive, stops everything on exit."""

    def __init__(
        self,
        workers: int,
        host: str,
        port: int,
        *,
        env: Mapping[str, str] | None = None,
        run_dir: Path | None = None,
        out: TextIO = sys.stdout,
    ) -> None:
        """Plan ``workers`` workers behind ``host:port``; ``env`` defaults to os.environ."""
        if workers < 1:
            raise ServeError(f"--workers must be at least 1, not {workers}.")
        self.host, self.port = host, port
        base = dict(os.environ if env is None else env)
        base.pop("CI", None)
        base["PYTHONUNBUFFERED"] = "1"
        self.env = base
        self.run_dir = run_dir or Path(tempfile.mkdtemp(prefix="atelier-serve-"))
        self.out = out
        self.workers = [
            Worker(f"w{n}", free_port(), self.run_dir / f"app-root-w{n}")
            for n in range(1, workers + 1)
        ]
        self.balancer: asyncio.subprocess.Process | None = None
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def say(self, line: str) -> None:
        """One line on our output (the tests and operators read these)."""
        self.out.write(line + "\n")
        self.out.flush()

    async def _spawn(self, worker: Worker) -> None:
        make_app_root(worker.root)
        env = dict(self.env, CHAINLIT_APP_ROOT=str(worker.root))
        worker.ready.clear()
        worker.process = await asyncio.create_subprocess_exec(
            find_program("chainlit"), "run", str(APP), "--headless",
            "--host", "127.0.0.1", "--port", str(worker.port),
            cwd=worker.root, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        self.say(f"worker {worker.name} pid {worker.process.pid} port {worker.port}")

    async def _watch(self, worker: Worker) -> None:
        """Relay a worker's output, mark it ready, restart it when it dies."""
        while not self._stopping.is_set():
            process = worker.process
            assert process is not None and process.stdout is not None
            async for raw in process.stdout:
                line = raw.decode("utf-8", "replace").rstrip()
                self.say(f"[{worker.name}] {line}")
                if READY_LINE in line:
                    worker.ready.set()
            code = await process.wait()
            if self._stopping.is_set():
                return
            self.say(f"worker {worker.name} exited with {code}")
            if worker.restarts >= MAX_RESTARTS:
                self.say(f"worker {worker.name} restarted {MAX_RESTARTS} times: giving up")
                self._stopping.set()
                return
            worker.restarts += 1
            await asyncio.sleep(RESTART_DELAY_S)  # do not spin on a worker that cannot start
            await self._spawn(worker)

    async def start(self) -> None:
        """Start every worker, wait until each serves, then start the balancer."""
        for worker in self.workers:
            await self._spawn(worker)
            self._tasks.append(asyncio.create_task(self._watch(worker)))
        waits = [asyncio.create_task(w.ready.wait()) for w in self.workers]
        _, pending = await asyncio.wait(waits, timeout=WORKER_START_TIMEOUT_S)
        for task in pending:
            task.cancel()
        if pending:
            late = [w.name for w in self.workers if not w.ready.is_set()]
            raise ServeError(f"workers {late} did not start within {WORKER_START_TIMEOUT_S} s.")
        config = self.run_dir / "haproxy.cfg"
        config.write_text(
            haproxy_config(self.host, self.port, {w.name: w.port for w in self.workers}),
            encoding="utf-8",
        )
        haproxy = find_program("haproxy")
        check = await asyncio.create_subprocess_exec(
            haproxy, "-c", "-q", "-f", str(config), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await check.communicate()
        if check.returncode != 0:
            raise ServeError(f"haproxy refused its configuration: {output.decode()}")
        self.balancer = await asyncio.create_subprocess_exec(haproxy, "-db", "-f", str(config))
        await self._wait_for_balancer()
        self.say(
            f"Atelier is available at http://{self.host}:{self.port} "
            f"({len(self.workers)} workers behind haproxy, pid {self.balancer.pid})"
        )

    def request_stop(self) -> None:
        """Ask ``wait`` to return (signal handlers call this)."""
        self._stopping.set()

    async def _wait_for_balancer(self) -> None:
        assert self.balancer is not None
        probe_host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        for _ in range(200):
            if self.balancer.returncode is not None:
                raise ServeError(f"haproxy exited with {self.balancer.returncode}.")
            try:
                _, writer = await asyncio.open_connection(probe_host, self.port)
            except OSError:
                await asyncio.sleep(0.05)  # haproxy binds within milliseconds
                continue
            writer.close()
            await writer.wait_closed()
            return
        raise ServeError(f"haproxy did not listen on {self.host}:{self.port}.")

    async def wait(self) -> int:
        """Until the balancer exits or ``stop`` is called; the balancer's exit code or 0."""
        assert self.balancer is not None
        balancer = asyncio.create_task(self.balancer.wait())
        stopping = asyncio.create_task(self._stopping.wait())
        await asyncio.wait({balancer, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if balancer.done():
            self.say(f"haproxy exited with {balancer.result()}")
            return balancer.result() or 1
        balancer.cancel()
        return 0

    async def stop(self) -> None:
        """Stop the balancer and every worker (SIGTERM, then SIGKILL after 20 s)."""
        self._stopping.set()
        processes = [w.process for w in self.workers if w.process is not None]
        if self.balancer is not None:
            processes.insert(0, self.balancer)
        for process in processes:
            if process.returncode is None:
                process.terminate()
        for process in processes:
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def serve(workers: int, host: str, port: int) -> int:
    """Run the workers and the balancer until SIGINT/SIGTERM; always stop them all."""
    supervisor = Supervisor(workers, host, port)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, supervisor.request_stop)
    try:
        await supervisor.start()
        return await supervisor.wait()
    finally:
        await supervisor.stop()
        shutil.rmtree(supervisor.run_dir, ignore_errors=True)

"""A server subprocess for the benchmark: started through perf_server, polled, measured, stopped.

Only 127.0.0.1 is used: the server binds it and every request goes to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
# Never inherited: a real key, a CI flag (Chainlit fakes the key) or logins would change
# what is measured.
DROP_ENV = (
    "CI",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "ATELIER_USERS",
    "ATELIER_USERS_FILE",
    "ATELIER_ENGINE_DB",
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def rss_mb(pid: int) -> float | None:
    """VmRSS of process ``pid`` in MB, from /proc/<pid>/status; None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def cpu_s(pid: int) -> float | None:
    """CPU time (user + system) process ``pid`` has used, in seconds, from /proc/<pid>/stat;
    None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    # The command name (field 2) may hold spaces: count fields after its closing ")".
    fields = text.rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """CPU time (user + system) this process has used, in seconds."""
    times = os.times()
    return times.user + times.system


class ServerProcess:
    """``python perf_server.py <command...>`` in the repo, logging to ``log_path``."""

    def __init__(
        self,
        command: list[str],
        env: dict[str, str],
        *,
        port: int,
        ready_path: str,
        log_path: Path,
        startup_timeout_s: float = 90.0,
    ) -> None:
        self.command = command
        self.port = port
        self.base_url = f"http://{HOST}:{port}"
        self.ready_path = ready_path
        self.log_path = log_path
        self.startup_timeout_s = startup_timeout_s
        base = {k: v for k, v in os.environ.items() if k not in DROP_ENV}
        base["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(HERE), base.get("PYTHONPATH", "")) if p
        )
        self.env = {**base, **env}
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The server's process id."""
        if self._proc is None:
            raise RuntimeError("the server is not started")
        return self._proc.pid

    def _spawn(self) -> subprocess.Popen[bytes]:
        args = [sys.executable, str(HERE / "perf_server.py"), *self.command]
        with self.log_path.open("wb") as log:
            return subprocess.Popen(
                args, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    async def start(self) -> None:
        """Start the server and wait (bounded) until ``ready_path`` answers 200."""
        self._proc = await asyncio.to_thread(self._spawn)
        deadline = time.monotonic() + self.startup_timeout_s
        async with httpx.AsyncClient(base_url=self.base_url, timeout=5) as http:
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    raise RuntimeError(f"{self.command[0]} exited at start:\n{self.log_tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(self.ready_path)).status_code == 200:
                        return
                await asyncio.sleep(0.2)  # polling a subprocess: there is no event to wait on
        await self.stop()
        raise RuntimeError(
            f"{self.command[0]} did not answer within {self.startup_timeout_s} s:\n"
            f"{self.log_tail()}"
        )

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's output, for error messages."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def rss_mb(self) -> float | None:
        """The server's resident memory now."""
        return rss_mb(self.pid)

    def cpu_s(self) -> float | None:
        """CPU seconds the server process has used so far."""
        return cpu_s(self.pid)

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within 10 s."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            await asyncio.to_thread(proc.wait, 10)
        except subprocess.TimeoutExpired:
            proc.kill()
            await asyncio.to_thread(proc.wait, 10)

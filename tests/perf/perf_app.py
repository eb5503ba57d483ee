# mypy: disable-error-code="no-untyped-call"
# (python-socketio leaves AsyncClient untyped; everything else here is checked.)
"""The app side: the Chainlit server as a subprocess, and simulated users over socket.io.

A user is what the browser is on the wire (FACTS.md): sign in through ``/auth/header`` (the
app's single-user mode), connect socket.io on ``/ws/socket.io``, emit
``connection_successful``, wait for the chat start to finish (``set_commands``), then send
each message and wait for the turn's bill line. Partial images arrive as ``element`` events
named ``partial-<stage>-<call id tail>``, their bytes inline as a ``data:`` URL (in hand on
arrival) or, with ``fetch_partials``, downloaded from ``/project/file/<chainlitKey>`` as a
browser would.

Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import socketio
from perf_plan import LoadConfig
from perf_proc import HOST, REPO, ServerProcess, cpu_s, free_port, own_cpu_s, rss_mb
from perf_stats import ServerSample, SideResult
from perf_trace import read_trace

PARTIAL_NAME = re.compile(r"^partial-(?:(\d+)-)?([A-Za-z0-9_]+)$")
WORKER_LINE = re.compile(r"^worker (w\d+) pid (\d+) port (\d+)$", re.MULTILINE)
BUDGET = "1000000"


def app_root(root: Path) -> Path:
    """A private Chainlit app root that reads the repo's config, public files and readme.

    Chainlit keeps session files in ``<app root>/.files`` and deletes that whole directory
    when a server shuts down, so two servers sharing the repo as their root (this benchmark,
    an e2e test, ``make run``) delete each other's files mid-run.
    """
    root.mkdir(parents=True, exist_ok=True)
    for name in (".chainlit", "public", "chainlit.md"):
        if (REPO / name).exists() and not (root / name).exists():
            (root / name).symlink_to(REPO / name)
    return root


def app_server(
    cfg: LoadConfig, workdir: Path, engine: ServerProcess | None = None
) -> ServerProcess:
    """``chainlit run ui/app.py --headless`` on a free port with temp data, the run's size,
    partials and latency profile, and budgets nobody reaches.

    On the embedded engine by default (no key). With ``engine`` (a standalone engine
    process), the app talks to it over HTTP as it would to OpenAI (a key and
    OPENAI_BASE_URL), so the server process holds only the app.
    """
    port = free_port()
    env = {
        "CHAINLIT_APP_ROOT": str(app_root(workdir / "app-root")),
        "ATELIER_DATA_DIR": str(workdir / "app-data"),
        "ATELIER_ENGINE_FAULT": cfg.fault,
        "ATELIER_SIZE": cfg.size,
        "ATELIER_PARTIAL_IMAGES": str(cfg.partial_images),
        "ATELIER_SESSION_BUDGET_USD": BUDGET,
        "ATELIER_SUPPORT_SESSION_BUDGET_USD": BUDGET,
        "ATELIER_USER_DAILY_BUDGET_USD": BUDGET,
        "ATELIER_APP_DAILY_BUDGET_USD": BUDGET,
        "ATELIER_LOG_LEVEL": "WARNING",
        "ATELIER_PERF_TRACE": str(workdir / "app-emissions.jsonl"),
    }
    if engine is not None:
        env["OPENAI_API_KEY"] = "atelier-perf"
        env["OPENAI_BASE_URL"] = f"{engine.base_url}/v1"
        env["ATELIER_PERF_TRACE"] = engine.env["ATELIER_PERF_TRACE"]
    command = ["chainlit", "run", "ui/app.py", "--headless", "--host", HOST, "--port", str(port)]
    ready = "/atelier/metrics"
    if cfg.workers > 1:  # agent.ops.serve: N chainlit workers behind haproxy
        command = ["serve", "--workers", str(cfg.workers), "--host", HOST, "--port", str(port)]
        ready = "/auth/config"  # metrics answer no proxied request; each worker is asked direct
    return ServerProcess(command, env, port=port, ready_path=ready, log_path=workdir / "app.log")


def app_processes(server: ServerProcess, workers: int) -> list[tuple[int, str]]:
    """(pid, base URL) of each app process: the server itself, or each ``serve`` worker
    (as the supervisor's ``worker <name> pid <pid> port <port>`` lines name them)."""
    if workers <= 1:
        return [(server.pid, server.base_url)]
    text = server.log_path.read_text(encoding="utf-8", errors="replace")
    latest = {
        name: (int(pid), f"http://{HOST}:{port}") for name, pid, port in WORKER_LINE.findall(text)
    }
    return list(latest.values())


async def sign_in(base_url: str) -> str:
    """The Cookie header of the single local user (POST /auth/header)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        response = await http.post("/auth/header")
        response.raise_for_status()
        cookies = "; ".join(f"{name}={value}" for name, value in response.cookies.items())
    if not cookies:
        raise RuntimeError("/auth/header set no cookie: is the app in single-user mode?")
    return cookies


async def metrics(http: httpx.AsyncClient) -> dict[str, Any]:
    """GET /atelier/metrics."""
    response = await http.get("/atelier/metrics")
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


async def reset_metrics(http: httpx.AsyncClient) -> str | None:
    """Make the server forget its loop-lag samples; returns how, or None if it could not.

    Uses the app's ``POST /atelier/metrics/reset``; the proof is the sample count dropping.
    """
    before = (await metrics(http)).get("lag_samples") or 0
    with contextlib.suppress(httpx.HTTPError):
        await http.post("/atelier/metrics/reset")
    after = (await metrics(http)).get("lag_samples") or 0
    return "app: POST /atelier/metrics/reset" if before > 5 and after < before else None


@dataclass
class _Turn:
    started: float
    done: asyncio.Event = field(default_factory=asyncio.Event)
    bill: str | None = None
    finals: int = 0
    first_partial: float | None = None  # when its first partial image arrived
    final: float | None = None  # when its final image arrived
    bill_at: float | None = None


class AppUser:
    """One simulated browser tab."""

    def __init__(
        self, index: int, base_url: str, cookie: str, http: httpx.AsyncClient, cfg: LoadConfig
    ) -> None:
        self.index = index
        self.base_url = base_url
        self.cookie = cookie
        self.http = http
        self.cfg = cfg
        self.session_id = str(uuid.uuid4())
        self.sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        self.ready = asyncio.Event()
        self.turn: _Turn | None = None
        # (call id tail, partial index, received at, fetched at or None)
        self.partials: list[tuple[str, int, float, float | None]] = []
        self._fetches: set[asyncio.Task[None]] = set()
        self.errors: list[str] = []
        self.sio.on("set_commands", self._on_ready)
        self.sio.on("element", self._on_element)
        self.sio.on("new_message", self._on_message)
        self.sio.on("disconnect", self._on_disconnect)

    async def _on_ready(self, data: Any) -> None:
        self.ready.set()

    async def _on_disconnect(self, *args: Any) -> None:
        if self.turn is not None and not self.turn.done.is_set():
            self.errors.append(f"user {self.index}: disconnected during a turn")
            self.turn.done.set()

    async def _on_element(self, element: dict[str, Any]) -> None:
        now = time.monotonic()
        name = str(element.get("name") or "")
        match = PARTIAL_NAME.match(name)
        if match is None:
            if self.turn is not None and element.get("type") == "image":
                self.turn.finals += 1
                self.turn.final = self.turn.final or now
            return
        if self.turn is not None and self.turn.first_partial is None:
            self.turn.first_partial = now
        stage = int(match.group(1) or 1)
        entry = len(self.partials)
        # A data: URL carries the bytes in the event itself: in hand on arrival.
        in_hand = now if str(element.get("url") or "").startswith("data:") else None
        self.partials.append((match.group(2), stage - 1, now, in_hand))
        key = element.get("chainlitKey")
        if self.cfg.fetch_partials and key:
            task = asyncio.create_task(self._fetch(entry, str(key)))
            self._fetches.add(task)
            task.add_done_callback(self._fetches.discard)

    async def _fetch(self, entry: int, key: str) -> None:
        try:
            response = await self.http.get(
                f"/project/file/{key}",
                params={"session_id": self.session_id},
                headers={"Cookie": self.cookie},
            )
            body = response.content
        except httpx.HTTPError as exc:
            self.errors.append(f"user {self.index}: partial download failed: {exc!r}")
            return
        if response.status_code != 200 or not body:
            self.errors.append(f"user {self.index}: partial download HTTP {response.status_code}")
            return
        call, index, received, _ = self.partials[entry]
        self.partials[entry] = (call, index, received, time.monotonic())

    async def _on_message(self, message: dict[str, Any]) -> None:
        metadata = message.get("metadata") or {}
        if metadata.get("atelier") != "bill" or self.turn is None:
            return
        self.turn.bill = str(message.get("output") or "")
        self.turn.bill_at = time.monotonic()
        self.turn.done.set()

    async def connect(self) -> None:
        """Open the socket like the web client and wait for the chat to start."""
        await self.sio.connect(
            self.base_url,
            headers={"Cookie": self.cookie},
            auth={
                "sessionId": self.session_id,
                "clientType": "webapp",
                "userEnv": "{}",
                "chatProfile": "Studio",
                "threadId": None,
            },
            transports=["websocket"],
            socketio_path="/ws/socket.io",
            wait_timeout=30,
        )
        await self.sio.emit("connection_successful")
        async with asyncio.timeout(60):
            await self.ready.wait()

    async def send(self, text: str) -> _Turn:
        """Send one message and wait for its bill line (bounded by the turn timeout)."""
        turn = _Turn(started=time.monotonic())
        self.turn = turn
        message = {
            "id": str(uuid.uuid4()),
            "type": "user_message",
            "output": text,
            "createdAt": datetime.now(UTC).isoformat(),
            "name": "User",
        }
        await self.sio.emit("client_message", {"message": message, "fileReferences": None})
        async with asyncio.timeout(self.cfg.turn_timeout_s):
            await turn.done.wait()
        return turn

    async def open(self, result: SideResult) -> bool:
        """Connect; a failure goes to ``result``."""
        try:
            await self.connect()
        except (TimeoutError, socketio.exceptions.ConnectionError) as exc:
            result.errors.append(f"user {self.index}: could not connect: {exc!r}")
            return False
        return True

    async def play(self, result: SideResult, texts: list[str], delay_s: float) -> None:
        """Play ``texts`` one turn at a time from ``delay_s``; failures go to ``result``."""
        await asyncio.sleep(delay_s)  # the ramp: this user's start time, not a wait-for-event
        for number, text in enumerate(texts, start=1):
            if number > 1 and self.cfg.think_s:
                await asyncio.sleep(self.cfg.think_s)  # the user looks at the result
            try:
                turn = await self.send(text)
            except TimeoutError:
                result.errors.append(f"user {self.index} turn {number}: no bill line in time")
                return
            latency_ms = (time.monotonic() - turn.started) * 1000
            if turn.bill is None or not turn.bill.startswith("This turn"):
                result.errors.append(f"user {self.index} turn {number}: {turn.bill!r}"[:300])
                return
            if turn.finals == 0:
                result.errors.append(f"user {self.index} turn {number}: no final image")
                return
            result.turn_latency_ms.append(latency_ms)
            result.turns_ok += 1
            if turn.first_partial is not None:  # minus the engine's own first-partial latency
                to_first = (turn.first_partial - turn.started) * 1000 - self.cfg.latency_ms[0]
                result.phase_ms["send_to_first_partial_extra"].append(to_first)
            if turn.final is not None and turn.bill_at is not None:
                result.phase_ms["final_image_to_bill"].append((turn.bill_at - turn.final) * 1000)

    async def finish_fetches(self) -> None:
        """Wait (bounded) for partial downloads still in flight."""
        if self._fetches:
            async with asyncio.timeout(60):
                await asyncio.gather(*self._fetches)

    async def close(self) -> None:
        """Disconnect the socket."""
        if self.sio.connected:
            await self.sio.disconnect()


def match_partials(
    users: list[AppUser], emitted: dict[tuple[str, int], float], result: SideResult
) -> None:
    """Turn each user's partial receipts into delays since the engine emitted them."""
    by_tail: dict[tuple[str, int], float] = {}
    for (item_id, index), t in emitted.items():
        by_tail[(item_id[-8:], index)] = t
    for user in users:
        for tail, index, received, fetched in user.partials:
            sent = by_tail.get((tail[-8:], index))
            if sent is None:
                result.partials_unmatched += 1
                continue
            result.partial_delay_ms.append((received - sent) * 1000)
            if fetched is not None:
                result.partial_fetch_ms.append((fetched - sent) * 1000)


class _Servers:
    """The app's processes (one, or ``serve``'s workers) and the external engine, measured
    together: loop lag and RSS from each worker, CPU time from /proc."""

    def __init__(
        self, cfg: LoadConfig, server: ServerProcess, engine: ServerProcess | None
    ) -> None:
        self.processes = app_processes(server, cfg.workers)
        self.engine = engine
        self.sample = ServerSample(workers=len(self.processes))
        self._cpu: list[float | None] = []
        self._engine_cpu: float | None = None
        self._own_cpu = 0.0
        self._began = 0.0

    def rss_mb(self) -> float | None:
        """The app processes' resident memory, summed."""
        values = [rss_mb(pid) for pid, _ in self.processes]
        return None if None in values else sum(v for v in values if v is not None)

    async def reset(self) -> None:
        """Forget each worker's lag samples; note the RSS before the sessions."""
        how = []
        for _, url in self.processes:
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                how.append(await reset_metrics(http))
        self.sample.lag_reset = how[0] if all(h == how[0] for h in how) else None
        self.sample.rss_before_mb = self.rss_mb()

    def start_clocks(self) -> None:
        """Start measuring CPU time (app, engine, this load generator)."""
        self._cpu = [cpu_s(pid) for pid, _ in self.processes]
        self._engine_cpu = cpu_s(self.engine.pid) if self.engine is not None else None
        self._own_cpu = own_cpu_s()
        self._began = time.monotonic()

    async def measure(self) -> None:
        """CPU used since ``reset``, then each worker's loop lag and the RSS now."""
        sample = self.sample
        sample.wall_s = time.monotonic() - self._began
        sample.generator_cpu_s = own_cpu_s() - self._own_cpu
        after = [cpu_s(pid) for pid, _ in self.processes]
        sample.app_cpu_s = [
            a - b for a, b in zip(after, self._cpu, strict=True) if a is not None and b is not None
        ]
        if self.engine is not None and self._engine_cpu is not None:
            engine_now = cpu_s(self.engine.pid)
            if engine_now is not None:
                sample.engine_cpu_s = engine_now - self._engine_cpu
        stats = []
        for _, url in self.processes:
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                stats.append(await metrics(http))
        lags = [s.get("loop_lag_max_ms") for s in stats]
        p99s = [s.get("loop_lag_p99_ms") for s in stats]
        sample.loop_lag_max_ms = max((v for v in lags if v is not None), default=None)
        sample.loop_lag_p99_ms = max((v for v in p99s if v is not None), default=None)
        sample.lag_samples = sum(int(s.get("lag_samples") or 0) for s in stats)
        sample.rss_after_mb = self.rss_mb()


async def _one_user(
    cfg: LoadConfig, index: int, base_url: str, cookie: str | None, http: httpx.AsyncClient
) -> AppUser:
    """A user; behind ``serve`` each signs in for itself, so haproxy spreads them."""
    return AppUser(index, base_url, cookie or await sign_in(base_url), http, cfg)


async def run_app(
    cfg: LoadConfig, server: ServerProcess, engine: ServerProcess | None = None
) -> tuple[SideResult, ServerSample]:
    """Warm up, then run ``cfg.users`` concurrent users against a started app server."""
    result = SideResult()
    servers = _Servers(cfg, server, engine)
    sample = servers.sample
    shared_cookie = None if cfg.workers > 1 else await sign_in(server.base_url)
    texts = cfg.texts()
    # A browser tab has its own connections: do not let one shared pool queue the downloads.
    limits = httpx.Limits(max_connections=4 * cfg.users + 8, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60, limits=limits) as http:
        if cfg.warmup_turns:
            warm = SideResult()
            warm_user = await _one_user(cfg, -1, server.base_url, shared_cookie, http)
            try:
                if await warm_user.open(warm):
                    await warm_user.play(warm, texts[: cfg.warmup_turns], 0.0)
                await warm_user.finish_fetches()
            finally:
                await warm_user.close()
            result.errors.extend(f"warm-up: {e}" for e in warm.errors + warm_user.errors)
        await servers.reset()
        users = [
            await _one_user(cfg, i, server.base_url, shared_cookie, http) for i in range(cfg.users)
        ]
        # Everyone connects first, so turns start on the same schedule as the baseline's.
        connected = await asyncio.gather(*(u.open(result) for u in users))
        servers.start_clocks()
        began = time.monotonic()
        try:
            async with asyncio.timeout(cfg.time_limit_s):
                await asyncio.gather(
                    *(
                        u.play(result, texts, cfg.start_offset_s(i))
                        for i, u in enumerate(users)
                        if connected[i]
                    )
                )
                await asyncio.gather(*(u.finish_fetches() for u in users))
        except TimeoutError:
            result.errors.append(f"app: time limit of {cfg.time_limit_s} s reached")
        result.wall_s = time.monotonic() - began
        await servers.measure()
        await asyncio.gather(*(u.close() for u in users))
        for user in users:
            result.errors.extend(user.errors)
        sample.rss_after_disconnect_mb = servers.rss_mb()
    emitted = await asyncio.to_thread(read_trace, Path(server.env["ATELIER_PERF_TRACE"]))
    match_partials(users, emitted, result)
    return result, sample

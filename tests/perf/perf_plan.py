"""What the simulated users do, shared by both sides of the benchmark."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# One generation, then refinements the engine's edit parser recognises (none changes size).
GENERATE = "Draw a poster of a lighthouse at dusk over a calm sea"
REFINEMENTS = (
    "Make it warmer",
    "Add more contrast",
    "Make it a little brighter",
    "Make it softer",
)


@dataclass(frozen=True)
class Profile:
    """A named load shape: engine latency, where the engine runs, turns and pauses."""

    latency_ms: tuple[int, int]
    engine: str
    turns: int
    think_s: float


PROFILES = {
    # Real image calls: first partial at 5 s, final at 15 s, the engine in its own process
    # (as OpenAI is), users arriving over 15 s and reading each result for 5 s.
    "realistic": Profile((5000, 15000), "external", 2, 5.0),
    # Everyone at once on a fast in-process engine: the stress case.
    "burst": Profile((1000, 2000), "embedded", 3, 0.0),
}


@dataclass(frozen=True)
class LoadConfig:
    """One benchmark run: who does what, how fast the engine answers, and the limits."""

    users: int
    turns: int
    size: str
    latency_ms: tuple[int, int]  # engine: first partial, final image (ms after the request)
    partial_images: int = 2
    ramp_s: float = 0.0  # users start evenly spread over this many seconds
    warmup_turns: int = 1
    turn_timeout_s: float = 120.0
    time_limit_s: float = 1800.0
    fetch_partials: bool = True
    think_s: float = 0.0  # a user's pause between one turn's bill line and the next message
    profile: str = "custom"
    engine: str = "embedded"  # the app's engine: "embedded" (in its process) or "external"
    workers: int = 1  # app processes (``atelier serve --workers N`` when more than one)

    def __post_init__(self) -> None:
        if self.users < 1 or self.turns < 1:
            raise ValueError("--users and --turns must be at least 1.")
        first, final = self.latency_ms
        if first < 0 or final < first:
            raise ValueError("--latency is 'first,final' in ms with 0 <= first <= final.")
        if not 0 <= self.partial_images <= 3:
            raise ValueError("--partial-images must be 0..3.")
        if self.think_s < 0 or self.workers < 1:
            raise ValueError("--think must be >= 0 and --workers >= 1.")
        if self.workers > 1 and self.engine != "external":
            raise ValueError("--workers N > 1 needs --engine external (one engine for all).")

    @property
    def fault(self) -> str:
        """The engine-wide fault spec giving every request this latency profile."""
        return f"latency={self.latency_ms[0]},{self.latency_ms[1]}"

    def texts(self) -> list[str]:
        """The messages one user sends: a generation, then refinements."""
        return [GENERATE] + [REFINEMENTS[k % len(REFINEMENTS)] for k in range(self.turns - 1)]

    def start_offset_s(self, user: int) -> float:
        """When user ``user`` (0-based) starts, relative to the measured phase."""
        return self.ramp_s * user / self.users

    def as_dict(self) -> dict[str, Any]:
        """The config as it appears in the report."""
        data = asdict(self)
        data["latency_ms"] = list(self.latency_ms)
        return data

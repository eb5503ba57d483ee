"""Injected faults, chosen per request (``x-atelier-fault`` header) or engine-wide.

Grammar: ``fault[+fault...]`` where each fault is
``name[=args][;times=N][;retry_after=SECONDS]``:

- ``rate_limit``: answer 429 with ``retry-after`` / ``retry-after-ms`` headers
  (``retry_after`` defaults to 1 second);
- ``server_error``: answer 500;
- ``timeout``: send nothing until the client gives up;
- ``cut_stream``: stream normally, then drop the connection right after the first
  ``partial_image`` event (or before the final image if there are no partials);
- ``latency=A,B``: first partial image A ms after the request, final image at B ms, other
  partials spread evenly between (emulating the real API's 15-45 s).

``times=N`` makes a fault fire only for the first N requests carrying that exact spec string
(retries resend the same header, so "fail twice, then succeed" is ``rate_limit;times=2``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace

FAULT_NAMES = ("rate_limit", "server_error", "timeout", "cut_stream", "latency")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


class FaultSpecError(ValueError):
    """A fault spec string does not follow the grammar."""


@dataclass(frozen=True)
class Fault:
    """One parsed fault."""

    name: str
    times: int | None = None
    retry_after_s: float = 1.0
    first_ms: int = 0
    final_ms: int = 0


@dataclass(frozen=True)
class FaultPlan:
    """The faults that fire for one request."""

    rate_limit: Fault | None = None
    server_error: bool = False
    timeout: bool = False
    cut_stream: bool = False
    latency: tuple[int, int] | None = None  # (first partial ms, final ms)

    @property
    def any(self) -> bool:
        """True when at least one fault fires."""
        return bool(
            self.rate_limit or self.server_error or self.timeout or self.cut_stream or self.latency
        )


def parse_faults(spec: str) -> list[Fault]:
    """Parse a spec string; raises FaultSpecError saying what is wrong."""
    faults: list[Fault] = []
    for raw in spec.split("+"):
        part = raw.strip()
        if not part:
            raise FaultSpecError(f"Empty fault in {spec!r}: write e.g. 'rate_limit;times=1'.")
        head, *options = (p.strip() for p in part.split(";"))
        name, _, args = head.partition("=")
        name = name.strip()
        if name not in FAULT_NAMES:
            raise FaultSpecError(f"Unknown fault {name!r}: use one of {', '.join(FAULT_NAMES)}.")
        times: int | None = None
        retry_after = 1.0
        for option in options:
            key, _, value = option.partition("=")
            key, value = key.strip(), value.strip()
            if key == "times" and value.isdigit():
                times = int(value)
            elif key == "retry_after" and _NUMBER.match(value):
                retry_after = float(value)
            else:
                raise FaultSpecError(
                    f"Bad fault option {option!r}: use times=N or retry_after=SECONDS."
                )
        first_ms = final_ms = 0
        if name == "latency":
            values = [v.strip() for v in args.split(",")]
            if len(values) != 2 or not all(v.isdigit() for v in values):
                raise FaultSpecError(
                    "latency needs two millisecond values: latency=<first partial>,<final>."
                )
            first_ms, final_ms = int(values[0]), int(values[1])
            if final_ms < first_ms:
                raise FaultSpecError("latency: the final image cannot come before the first.")
        elif args:
            raise FaultSpecError(f"Fault {name!r} takes no arguments.")
        faults.append(
            Fault(
                name, times=times, retry_after_s=retry_after, first_ms=first_ms, final_ms=final_ms
            )
        )
    return faults


class FaultBook:
    """Decides which faults fire for a request, counting requests per spec string."""

    def __init__(self, default_spec: str | None = None) -> None:
        if default_spec:
            parse_faults(default_spec)  # fail early on a bad engine-wide default
        self._default = default_spec or None
        self._seen: Counter[str] = Counter()

    def plan_for(self, header: str | None) -> FaultPlan:
        """The faults for a request with ``header`` (or the default); counts this request."""
        spec = header.strip() if header and header.strip() else self._default
        if not spec:
            return FaultPlan()
        faults = parse_faults(spec)
        self._seen[spec] += 1
        count = self._seen[spec]
        active = [f for f in faults if f.times is None or count <= f.times]
        plan = FaultPlan()
        for fault in active:
            if fault.name == "rate_limit":
                plan = replace(plan, rate_limit=fault)
            elif fault.name == "server_error":
                plan = replace(plan, server_error=True)
            elif fault.name == "timeout":
                plan = replace(plan, timeout=True)
            elif fault.name == "cut_stream":
                plan = replace(plan, cut_stream=True)
            else:
                plan = replace(plan, latency=(fault.first_ms, fault.final_ms))
        return plan

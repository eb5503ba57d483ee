"""When to retry a failed request, and how long to wait first."""

from __future__ import annotations

import random
from dataclasses import dataclass

from agent.errors import AtelierError, RateLimited, UpstreamError


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff that honours the server's Retry-After."""

    max_retries: int = 3
    base_delay_s: float = 0.5
    max_delay_s: float = 20.0

    def should_retry(self, error: AtelierError, attempt: int) -> bool:
        """Retry rate limits and upstream (5xx/connection) failures, ``max_retries`` times."""
        if attempt >= self.max_retries:
            return False
        return isinstance(error, RateLimited | UpstreamError)

    def delay_s(self, error: AtelierError, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        if isinstance(error, RateLimited) and error.retry_after_s is not None:
            return min(max(error.retry_after_s, 0.0), self.max_delay_s)
        jitter = (rng or random).uniform(0.8, 1.2)
        return float(min(self.base_delay_s * (2**attempt) * jitter, self.max_delay_s))

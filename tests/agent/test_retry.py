"""Retry policy: bounded, honours Retry-After, only for transient errors."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from agent.errors import InvalidSettings, RateLimited, TurnTimeout, UpstreamError, retry_after_s
from agent.turn.retry import RetryPolicy


def test_retries_transient_errors_a_bounded_number_of_times() -> None:
    policy = RetryPolicy(max_retries=2)
    limited = RateLimited("slow down")
    assert policy.should_retry(limited, 0)
    assert policy.should_retry(UpstreamError("500"), 1)
    assert not policy.should_retry(limited, 2)
    assert not policy.should_retry(InvalidSettings("bad size"), 0)
    assert not policy.should_retry(TurnTimeout("slow"), 0)


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(max_delay_s=5)
    assert policy.delay_s(RateLimited("x", retry_after_s=1.5), 0) == 1.5
    assert policy.delay_s(RateLimited("x", retry_after_s=60), 0) == 5


def test_backoff_grows_exponentially_with_jitter() -> None:
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=100)
    rng = random.Random(1)
    delays = [policy.delay_s(UpstreamError("x"), n, rng) for n in range(4)]
    for n, delay in enumerate(delays):
        assert 0.5 * 2**n * 0.8 <= delay <= 0.5 * 2**n * 1.2


def test_retry_after_reads_milliseconds_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
    assert retry_after_s({"retry-after-ms": "250"}, now) == 0.25
    assert retry_after_s({"Retry-After": "3"}, now) == 3.0
    assert retry_after_s({"retry-after": "Mon, 30 Nov 2026 12:00:07 GMT"}, now) == 7.0
    assert retry_after_s({"retry-after": "Mon, 30 Nov 2026 11:00:00 GMT"}, now) == 0.0
    assert retry_after_s({"retry-after": "soon"}, now) is None
    assert retry_after_s({}, now) is None

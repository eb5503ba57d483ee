"""The app's own small error tree, and the one place that maps OpenAI exceptions onto it.

Every error carries ``user_message``: a sentence that tells the user what happened and
what to do next. Nothing outside this module inspects openai exception types.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import httpx2
import openai

# The SDK's own client is built on httpx2; the embedded engine's transport on httpx.
_TIMEOUTS = (openai.APITimeoutError, httpx.TimeoutException, httpx2.TimeoutException)
_TRANSPORT = (openai.APIConnectionError, httpx.TransportError, httpx2.TransportError)
_HTTP = (openai.OpenAIError, httpx.HTTPError, httpx2.HTTPError)


class AtelierError(Exception):
    """Base of every error Atelier reports to a user.

    ``code`` is Atelier's kind of error (kept with the turn). An error that came from the API
    also keeps what the API said: ``status`` (HTTP), ``api_code``, ``param`` and ``body``;
    decisions are made on those, never on the words of a message.
    """

    code = "error"

    def __init__(
        self,
        user_message: str,
        *,
        detail: str | None = None,
        status: int | None = None,
        api_code: str | None = None,
        param: str | None = None,
        body: object = None,
    ) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.detail = detail
        self.status = status
        self.api_code = api_code
        self.param = param
        self.body = body


class InvalidSettings(AtelierError):
    """A setting or request option breaks a rule; caught before any call where possible."""

    code = "invalid_settings"


class ContentBlocked(AtelierError):
    """The provider's moderation refused the request or the image."""

    code = "content_blocked"


class RateLimited(AtelierError):
    """Too many requests, still so after the bounded retries."""

    code = "rate_limited"

    def __init__(
        self, user_message: str, *, retry_after_s: float | None = None, **api: Any
    ) -> None:
        super().__init__(user_message, **api)
        self.retry_after_s = retry_after_s


class UpstreamError(AtelierError):
    """The API failed (5xx, broken stream, unexpected answer)."""

    code = "upstream_error"


class TurnTimeout(AtelierError):
    """The API did not answer in time."""

    code = "timeout"


class Cancelled(AtelierError):
    """The user stopped the turn."""

    code = "cancelled"


class Incomplete(AtelierError):
    """The response ended early (``response.incomplete``): what it made is kept, not chained."""

    code = "incomplete"


class BudgetExceeded(AtelierError):
    """The turn could cost more than a budget has left; refused before any call.

    ``estimate`` is None when the turn's price is unknown (refused for that reason).
    """

    code = "budget_exceeded"

    def __init__(
        self, user_message: str, *, budget: str, estimate: Decimal | None, remaining: Decimal
    ) -> None:
        super().__init__(user_message)
        self.budget = budget
        self.estimate = estimate
        self.remaining = remaining


class QuoteRequired(AtelierError):
    """A turn priced above the session's quote threshold was started without Go."""

    code = "quote_required"


class AuthenticationFailed(AtelierError):
    """The API key was refused."""

    code = "authentication_failed"


class NotFound(AtelierError):
    """A session, image or response id does not exist (or is not yours)."""

    code = "not_found"


def _api_fields(exc: openai.APIStatusError) -> dict[str, Any]:
    """status, api_code, param and body of an API error, as the error tree keeps them."""
    body = exc.body if isinstance(exc.body, Mapping) else {}
    err = body.get("error", body)
    err = err if isinstance(err, Mapping) else {}
    code, param = err.get("code"), err.get("param")
    return {
        "status": exc.status_code,
        "api_code": str(code) if code else None,
        "param": str(param) if param else None,
        "body": exc.body,
    }


def _api_message(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, Mapping) else {}
    err = body.get("error", body)
    message = err.get("message") if isinstance(err, Mapping) else None
    return str(message or exc.message)


def retry_after_s(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``retry-after`` (seconds or an HTTP date)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    try:
        if (ms := lowered.get("retry-after-ms")) is not None:
            return max(float(ms) / 1000, 0.0)
    except ValueError:
        pass
    raw = lowered.get("retry-after")
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


MODERATION_CODES = frozenset({"moderation_blocked", "content_policy_violation"})


def translate(exc: BaseException) -> AtelierError:
    """Map any exception from the OpenAI SDK (or httpx under it) to an AtelierError."""
    if isinstance(exc, AtelierError):
        return exc
    if isinstance(exc, _TIMEOUTS):
        return TurnTimeout(
            "The image service did not answer in time. Try again, or pick a smaller size or "
            "lower quality."
        )
    if isinstance(exc, openai.APIStatusError):
        return _from_status(exc)
    if isinstance(exc, _TRANSPORT):
        return UpstreamError(
            "The connection to the image service broke. Try again; nothing finished was lost."
        )
    return UpstreamError(f"Unexpected failure: {type(exc).__name__}: {exc}")


def _from_status(exc: openai.APIStatusError) -> AtelierError:
    api = _api_fields(exc)
    message = _api_message(exc)
    if isinstance(exc, openai.RateLimitError):
        headers = exc.response.headers if exc.response is not None else {}
        return RateLimited(
            "The image service is rate-limiting requests. Wait a moment and send again.",
            retry_after_s=retry_after_s(headers),
            **api,
        )
    if isinstance(exc, openai.AuthenticationError):
        return AuthenticationFailed(
            "The API key was refused. Set a valid OPENAI_API_KEY, or unset it to use the "
            "embedded engine.",
            **api,
        )
    if api["api_code"] in MODERATION_CODES:
        return ContentBlocked(f"The request was blocked by moderation: {message}", **api)
    if exc.status_code in (400, 404, 422):
        return InvalidSettings(f"The API refused the request: {message}", **api)
    return UpstreamError(
        f"The image service failed (HTTP {exc.status_code}): {message}. Try again shortly.",
        detail=api["api_code"],
        **api,
    )


@contextmanager
def mapped_errors() -> Iterator[None]:
    """Run a block that talks to the API; any SDK failure leaves it as an AtelierError."""
    try:
        yield
    except AtelierError:
        raise
    except _HTTP as exc:
        raise translate(exc) from exc


class UploadRejected(AtelierError):
    """An uploaded file is not an image we accept (type, size, content or name)."""

    code = "upload_rejected"

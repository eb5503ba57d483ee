"""The app's own small error tree, and the one place that maps OpenAI exceptions onto it.

Every error carries ``user_message``: a sentence that tells the user what happened and
what to do next. Nothing outside this module inspects openai exception types.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import httpx
import httpx2
import openai

# The SDK's own client is built on httpx2; the embedded engine's transport on httpx.
_TIMEOUTS = (openai.APITimeoutError, httpx.TimeoutException, httpx2.TimeoutException)
_TRANSPORT = (openai.APIConnectionError, httpx.TransportError, httpx2.TransportError)
_HTTP = (openai.OpenAIError, httpx.HTTPError, httpx2.HTTPError)


class AtelierError(Exception):
    """Base of every error Atelier reports to a user."""

    code = "error"

    def __init__(self, user_message: str, *, detail: str | None = None) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.detail = detail


class InvalidSettings(AtelierError):
    """A setting or request option breaks a rule; caught before any call where possible."""

    code = "invalid_settings"

    def __init__(self, user_message: str, *, param: str | None = None) -> None:
        super().__init__(user_message)
        self.param = param


class ContentBlocked(AtelierError):
    """The provider's moderation refused the request or the image."""

    code = "content_blocked"


class RateLimited(AtelierError):
    """Too many requests, still so after the bounded retries."""

    code = "rate_limited"

    def __init__(self, user_message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(user_message)
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


class AuthenticationFailed(AtelierError):
    """The API key was refused."""

    code = "authentication_failed"


class NotFound(AtelierError):
    """A session, image or response id does not exist (or is not yours)."""

    code = "not_found"


def _body_message(exc: openai.APIStatusError) -> tuple[str, str | None, str | None]:
    body = exc.body if isinstance(exc.body, dict) else {}
    err = body.get("error", body) if isinstance(body, dict) else {}
    if not isinstance(err, dict):
        err = {}
    message = str(err.get("message") or exc.message)
    code = err.get("code")
    param = err.get("param")
    return message, (str(code) if code else None), (str(param) if param else None)


def _retry_after(exc: openai.APIStatusError) -> float | None:
    raw = exc.response.headers.get("retry-after") if exc.response is not None else None
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


def translate(exc: BaseException) -> AtelierError:
    """Map any exception from the OpenAI SDK (or httpx under it) to an AtelierError."""
    if isinstance(exc, AtelierError):
        return exc
    if isinstance(exc, _TIMEOUTS):
        return TurnTimeout(
            "The image service did not answer in time. Try again, or pick a smaller size or "
            "lower quality."
        )
    if isinstance(exc, openai.RateLimitError):
        return RateLimited(
            "The image service is rate-limiting requests. Wait a moment and send again.",
            retry_after_s=_retry_after(exc),
        )
    if isinstance(exc, openai.AuthenticationError):
        return AuthenticationFailed(
            "The API key was refused. Set a valid OPENAI_API_KEY, or unset it to use the "
            "embedded engine."
        )
    if isinstance(exc, openai.APIStatusError):
        message, code, param = _body_message(exc)
        if code in ("moderation_blocked", "content_policy_violation"):
            return ContentBlocked(f"The request was blocked by moderation: {message}")
        if exc.status_code in (400, 404, 422):
            return InvalidSettings(f"The API refused the request: {message}", param=param)
        return UpstreamError(
            f"The image service failed (HTTP {exc.status_code}): {message}. Try again shortly.",
            detail=code,
        )
    if isinstance(exc, _TRANSPORT):
        return UpstreamError(
            "The connection to the image service broke. Try again; nothing finished was lost."
        )
    return UpstreamError(f"Unexpected failure: {type(exc).__name__}: {exc}")


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

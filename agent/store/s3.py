"""A minimal S3 client: Signature Version 4 over httpx (already a dependency).

Why not boto3/aioboto3: Atelier needs five calls (PUT, GET, HEAD, DELETE object and a
presigned GET URL). boto3 is synchronous (a thread per call) and aioboto3 drags in
aiobotocore + aiohttp + botocore (~100 MB, a second HTTP stack, untyped); SigV4 is a
page of hashing, checked byte for byte against botocore's signer in the tests. Any
S3-compatible store works (AWS, MinIO, Ceph, R2, moto).

Configuration is the standard AWS variables, read once into ``S3Config.from_env``:
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN`` (optional),
``AWS_REGION``/``AWS_DEFAULT_REGION`` (default us-east-1) and ``AWS_ENDPOINT_URL_S3`` or
``AWS_ENDPOINT_URL`` for a non-AWS endpoint (then path-style URLs: ``endpoint/bucket/key``;
without one, AWS virtual-hosted URLs: ``https://bucket.s3.region.amazonaws.com/key``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import httpx

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED = "UNSIGNED-PAYLOAD"
MAX_PRESIGN_S = 7 * 24 * 3600


class S3Error(RuntimeError):
    """The object store answered with an error (status and S3's error text kept)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class S3Config:
    """Where the bucket is and who we are."""

    bucket: str
    prefix: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    endpoint: str | None = None
    session_token: str | None = None

    @classmethod
    def from_url(cls, url: str, env: Mapping[str, str]) -> S3Config:
        """``s3://bucket[/prefix]`` plus the standard AWS variables in ``env``."""
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"Storage URL {url!r} is not s3://bucket[/prefix].")
        access, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
        if not access or not secret:
            raise ValueError(
                f"{url} needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment."
            )
        endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None
        return cls(
            bucket=parts.netloc,
            prefix=parts.path.strip("/"),
            access_key=access,
            secret_key=secret,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            endpoint=endpoint.rstrip("/") if endpoint else None,
            session_token=env.get("AWS_SESSION_TOKEN") or None,
        )

    def object_url(self, key: str) -> str:
        """The unsigned URL of ``key`` (under the prefix)."""
        full = f"{self.prefix}/{key}" if self.prefix else key
        path = quote(full, safe="/-_.~")
        if self.endpoint:
            return f"{self.endpoint}/{quote(self.bucket, safe='-_.~')}/{path}"
        return f"https://{self.bucket}.s3.{self.region}.amazonaws.com/{path}"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def _signing_key(secret: str, day: str, region: str) -> bytes:
    key = _hmac(f"AWS4{secret}".encode(), day)
    return _hmac(_hmac(_hmac(key, region), "s3"), "aws4_request")


def _host(url: str) -> str:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host = parts.hostname or ""
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


def _canonical_query(params: Mapping[str, str]) -> str:
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in params.items())
    return "&".join(f"{k}={v}" for k, v in encoded)


def _signature(
    config: S3Config,
    *,
    method: str,
    url: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    payload_hash: str,
    when: datetime,
) -> tuple[str, str]:
    """(signed header names, hex signature) of one request."""
    names = sorted(name.lower() for name in headers)
    lowered = {name.lower(): " ".join(value.split()) for name, value in headers.items()}
    canonical = "\n".join(
        [
            method,
            urlsplit(url).path or "/",
            _canonical_query(query),
            "".join(f"{name}:{lowered[name]}\n" for name in names),
            ";".join(names),
            payload_hash,
        ]
    )
    day = when.strftime("%Y%m%d")
    scope = f"{day}/{config.region}/s3/aws4_request"
    to_sign = "\n".join(
        [
            ALGORITHM,
            when.strftime("%Y%m%dT%H%M%SZ"),
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = _signing_key(config.secret_key, day, config.region)
    return ";".join(names), hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def sign_headers(
    config: S3Config, method: str, url: str, body: bytes = b"", when: datetime | None = None
) -> dict[str, str]:
    """The headers that authenticate ``method url`` with ``body`` (Authorization and x-amz-*)."""
    moment = (when or datetime.now(UTC)).astimezone(UTC)
    payload_hash = hashlib.sha256(body).hexdigest()
    headers = {
        "host": _host(url),
        "x-amz-content-sha256": payload_hash,
        "x-amz-date": moment.strftime("%Y%m%dT%H%M%SZ"),
    }
    if config.session_token:
        headers["x-amz-security-token"] = config.session_token
    signed, signature = _signature(
        config,
        method=method,
        url=url,
        query={},
        headers=headers,
        payload_hash=payload_hash,
        when=moment,
    )
    scope = f"{moment.strftime('%Y%m%d')}/{config.region}/s3/aws4_request"
    headers["Authorization"] = (
        f"{ALGORITHM} Credential={config.access_key}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
    del headers["host"]  # httpx sets it (to the same value)
    return headers


def presign_get(config: S3Config, key: str, expires_s: int, when: datetime | None = None) -> str:
    """A URL anyone holding it can GET ``key`` with, for ``expires_s`` seconds."""
    if not 1 <= expires_s <= MAX_PRESIGN_S:
        raise ValueError(f"A presigned URL lives 1 s to 7 days, not {expires_s} s.")
    moment = (when or datetime.now(UTC)).astimezone(UTC)
    url = config.object_url(key)
    scope = f"{moment.strftime('%Y%m%d')}/{config.region}/s3/aws4_request"
    query = {
        "X-Amz-Algorithm": ALGORITHM,
        "X-Amz-Credential": f"{config.access_key}/{scope}",
        "X-Amz-Date": moment.strftime("%Y%m%dT%H%M%SZ"),
        "X-Amz-Expires": str(expires_s),
        "X-Amz-SignedHeaders": "host",
    }
    if config.session_token:
        query["X-Amz-Security-Token"] = config.session_token
    _, signature = _signature(
        config,
        method="GET",
        url=url,
        query=query,
        headers={"host": _host(url)},
        payload_hash=UNSIGNED,
        when=moment,
    )
    return f"{url}?{_canonical_query(query)}&X-Amz-Signature={signature}"


class S3Client:
    """PUT/GET/HEAD/DELETE on one bucket (keys are relative to the configured prefix)."""

    def __init__(self, config: S3Config, http: httpx.AsyncClient | None = None) -> None:
        """Use ``http`` (for tests) or a client of our own, closed by ``aclose``."""
        self.config = config
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0))

    async def _send(self, method: str, key: str, body: bytes = b"", **extra: str) -> httpx.Response:
        url = self.config.object_url(key)
        headers = sign_headers(self.config, method, url, body)
        headers.update(extra)
        return await self._http.request(method, url, content=body or None, headers=headers)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` at ``key`` (replacing any object there)."""
        response = await self._send("PUT", key, data, **{"Content-Type": content_type})
        _raise_for(response, "PUT", key)

    async def get(self, key: str) -> tuple[bytes, str] | None:
        """The object's bytes and content type, or None when there is no such key."""
        response = await self._send("GET", key)
        if response.status_code == 404:
            return None
        _raise_for(response, "GET", key)
        return response.content, response.headers.get("Content-Type", "application/octet-stream")

    async def exists(self, key: str) -> bool:
        """True when ``key`` holds an object."""
        response = await self._send("HEAD", key)
        if response.status_code == 404:
            return False
        _raise_for(response, "HEAD", key)
        return True

    async def delete(self, key: str) -> None:
        """Remove ``key`` (no error when it is already gone)."""
        response = await self._send("DELETE", key)
        if response.status_code != 404:
            _raise_for(response, "DELETE", key)

    def presigned_url(self, key: str, expires_s: int = 900) -> str:
        """A short-lived GET URL for ``key`` (15 minutes by default)."""
        return presign_get(self.config, key, expires_s)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()


def _raise_for(response: httpx.Response, method: str, key: str) -> None:
    if response.status_code >= 300:
        raise S3Error(
            f"S3 {method} {key!r} failed: HTTP {response.status_code} {response.text[:300]}",
            status=response.status_code,
        )

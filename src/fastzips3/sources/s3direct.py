"""Direct S3 GETs: botocore's SigV4 signer and urllib3, without the client's machinery.

A botocore ``get_object`` costs about 1.5 ms of CPU on a 2-core machine, most of it in the
client's event hooks, endpoint rules and response parser; signing the request with botocore's
SigV4 signer and sending it with urllib3 costs about 0.6 ms. Listing thousands of small archives
is bound by that difference, and a streamed member's 8 MiB GETs pay it too, so every GET of an
:class:`~fastzips3.sources.s3.S3Source` (tails, revalidations, ranges) takes this path when it is
safe:

- the client was made by fastzips3 (:func:`~fastzips3.sources.s3.s3_client`), so its
  credentials, region, timeouts and pool size are known;
- no HTTP proxy is configured (in the environment or the client's config); the CA bundle is
  the one botocore would use (``ca_bundle`` in the AWS configuration, else
  ``REQUESTS_CA_BUNDLE``, else its default);
- the bucket is a plain name (not an access point ARN, not an S3 Express directory bucket),
  and the GET has no parameters beyond a range, a condition, a version and requester-pays.

Each bucket's URL comes from botocore itself, once (the presigned URL of a probe key, made
locally), so regions, FIPS, dual-stack and path or virtual-host addressing stay botocore's
decision. An answer this path does not expect (a redirect, a 400, which is how S3 says "wrong
region") returns None, and the caller sends the request through the client instead; that
bucket then stays on the client.

Network errors are urllib3's (and the standard library's) exceptions, which the caller maps as
it maps those inside botocore's. The TLS context and CA bundle are the ones botocore's HTTP
session would use.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit

__all__ = ["DirectGetter", "DirectResponse", "PoolSettings"]

_PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")
_PROBE_KEY = "fastzips3-probe"
#: Statuses the caller understands; anything else goes through the client.
_HANDLED = frozenset({200, 206, 304, 403, 404, 412, 416, 429, 500, 502, 503, 504})
_XML_FIELD = re.compile(rb"<(Code|Message)>([^<]*)</\1>")


@dataclass(frozen=True, slots=True)
class DirectResponse:
    """One answer: the status, the headers (case-insensitive) and the whole body; or, for a
    streamed 200/206, ``stream``: urllib3's response to read the body from (``body`` empty)."""

    status: int
    headers: Any
    body: bytes
    stream: Any = None

    def error_fields(self) -> tuple[str, str]:
        """``(Code, Message)`` of an S3 XML error body (empty strings when there is none)."""
        fields = {
            k.decode(): v.decode("utf-8", "replace") for k, v in _XML_FIELD.findall(self.body)
        }
        from xml.sax.saxutils import unescape

        return fields.get("Code", ""), unescape(fields.get("Message", ""))


class PoolSettings(NamedTuple):
    """The client's connection settings, for the direct path's own connection pool."""

    connect_timeout: float
    read_timeout: float
    max_pool_connections: int


class DirectGetter:
    """Signed GETs for the buckets of one fastzips3-made client (see the module docstring).

    Thread-safe: urllib3's pool manager is, and the per-bucket table is guarded by a lock.
    """

    def __init__(
        self,
        client: Any,
        credentials: Any,
        *,
        anonymous: bool,
        pool: PoolSettings,
        verify: str | bool,
    ) -> None:
        import urllib3
        from botocore.httpsession import create_urllib3_context, get_cert_path

        self._client = client
        self._credentials = credentials
        self._anonymous = anonymous
        self._region = str(client.meta.region_name or "us-east-1")
        # The TLS context and CA bundle botocore's own HTTP session would use.
        self._pool = urllib3.PoolManager(
            maxsize=pool.max_pool_connections,
            timeout=urllib3.Timeout(connect=pool.connect_timeout, read=pool.read_timeout),
            retries=False,
            ssl_context=create_urllib3_context(),
            cert_reqs="CERT_REQUIRED",
            ca_certs=get_cert_path(verify),  # type: ignore[arg-type]  # a path is fine too
        )
        self._bases: dict[str, str | None] = {}
        self._lock = threading.Lock()
        import botocore

        from fastzips3 import __version__

        self._agent = f"fastzips3/{__version__} botocore/{botocore.__version__}"

    @classmethod
    def for_client(
        cls,
        client: Any,
        credentials: Any,
        *,
        anonymous: bool,
        pool: PoolSettings,
        ca_bundle: str | None,
    ) -> DirectGetter | None:
        """A getter for ``client``, or None when this path would not be exactly the client's."""
        if any(os.environ.get(k) for k in _PROXY_ENV):
            return None
        if getattr(client.meta.config, "proxies", None):
            return None
        if credentials is None and not anonymous:
            return None  # the client says "no credentials" in its own words
        return cls(
            client,
            credentials,
            anonymous=anonymous,
            pool=pool,
            verify=ca_bundle or os.environ.get("REQUESTS_CA_BUNDLE") or True,
        )

    def _base(self, bucket: str) -> str | None:
        """``scheme://host/path/`` that a key is appended to, or None: use the client."""
        with self._lock:
            if bucket in self._bases:
                return self._bases[bucket]
        base: str | None = None
        if not bucket.startswith("arn:") and not bucket.endswith("--x-s3"):
            try:
                url = self._client.generate_presigned_url(
                    "get_object", Params={"Bucket": bucket, "Key": _PROBE_KEY}, ExpiresIn=60
                )
            except Exception:  # any doubt: the client's path
                url = ""
            parts = urlsplit(url)
            if parts.scheme in ("http", "https") and parts.path.endswith("/" + _PROBE_KEY):
                path = parts.path[: -len(_PROBE_KEY)]
                base = f"{parts.scheme}://{parts.netloc}{path}"
        with self._lock:
            self._bases[bucket] = base
        return base

    def forget(self, bucket: str) -> None:
        """Send every later GET of ``bucket`` through the client (it answered unexpectedly)."""
        with self._lock:
            self._bases[bucket] = None

    def get(
        self,
        bucket: str,
        key: str,
        headers: dict[str, str],
        params: dict[str, str],
        *,
        stream: bool = False,
    ) -> DirectResponse | None:
        """One signed GET of ``bucket/key``, its body read whole (or, with ``stream``, left to
        read from :attr:`DirectResponse.stream` when the answer is 200 or 206); None: use
        the client."""
        if any(part in (".", "..") for part in key.split("/")):
            return None  # HTTP libraries may fold dot segments; the client keeps them
        base = self._base(bucket)
        if base is None:
            return None
        from botocore.awsrequest import AWSRequest

        url = base + quote(key, safe="/~")
        if params:
            url += "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in sorted(params.items()))
        request = AWSRequest("GET", url, headers={"User-Agent": self._agent, **headers})
        if not self._anonymous:
            from botocore.auth import S3SigV4Auth

            frozen = self._credentials.get_frozen_credentials()
            S3SigV4Auth(frozen, "s3", self._region).add_auth(request)
        response = self._pool.urlopen(
            "GET",
            url,
            headers=dict(request.headers.items()),
            redirect=False,
            retries=False,
            preload_content=False,
            enforce_content_length=True,  # urllib3 1.x does not by default
        )
        if response.status not in _HANDLED:
            response.close()
            self.forget(bucket)
            return None
        if stream and response.status in (200, 206):
            return DirectResponse(response.status, response.headers, b"", response)
        try:
            body = response.read() or b""
        finally:
            response.close()
        expected = response.headers.get("Content-Length")
        if response.status in (200, 206) and expected is not None and int(expected) != len(body):
            import http.client

            # urllib3 1.x does not check the length itself.
            raise http.client.IncompleteRead(body, int(expected) - len(body))
        return DirectResponse(response.status, response.headers, body)

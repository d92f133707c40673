"""S3Source: an S3 object through botocore, with the user's normal AWS configuration.

boto3 is imported lazily, so ``import fastzips3`` stays fast for local and HTTP archives. Clients
are created once per (profile, region, endpoint, signing) and shared: botocore clients are
thread-safe, and a shared client shares its connection pool.
"""

from __future__ import annotations

# urllib3 encodes every host with the IDNA codec before its first connection. Importing the
# codec with the source (as requests does) keeps about 1.5 ms of imports off the first request.
import encodings.idna  # noqa: F401
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from fastzips3.errors import (
    RangeNotSupportedError,
    SourceChangedError,
    SourceError,
    SourceNotFoundError,
    SourcePermissionError,
)
from fastzips3.sources.base import (
    BaseSource,
    ObjectVersion,
    RangeStream,
    TailRead,
    network_error,
    redacted_copy,
)
from fastzips3.sources.s3direct import DirectGetter, PoolSettings

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

__all__ = [
    "ListPage",
    "S3Config",
    "S3Source",
    "guarded",
    "list_objects_page",
    "parse_s3_url",
    "s3_client",
]

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class S3Config:
    """How to reach S3. ``None`` means: what the AWS configuration (env, profile, role) says."""

    endpoint_url: str | None = None
    profile: str | None = None
    region: str | None = None
    anonymous: bool = False
    aws_access_key_id: str | None = field(default=None, repr=False)
    aws_secret_access_key: str | None = field(default=None, repr=False)
    aws_session_token: str | None = field(default=None, repr=False)
    max_pool_connections: int = 32
    connect_timeout: float = 10.0
    read_timeout: float = 60.0


_clients: dict[tuple[S3Config, str], S3Client] = {}
#: The direct GET path of each client in ``_clients``, by ``id`` (with the client itself, so
#: that another object that later gets a freed client's ``id`` is never taken for it).
_direct: dict[int, tuple[object, DirectGetter | None]] = {}
_clients_lock = threading.Lock()

#: Environment variables that change what a new client does (botocore reads them at creation).
_ENV_KEYS = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


def _env_fingerprint() -> str:
    """A digest of the AWS environment, so a changed environment gets a new client."""
    import hashlib

    text = "\0".join(os.environ.get(k, "") for k in _ENV_KEYS)
    return hashlib.sha256(text.encode()).hexdigest()


def s3_client(config: S3Config) -> S3Client:
    """The shared botocore S3 client for ``config`` and the current AWS environment."""
    key = (config, _env_fingerprint())
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client, direct = _make_client(config)
            _clients[key] = client
            _direct[id(client)] = (client, direct)
        return client


def direct_getter(client: object) -> DirectGetter | None:
    """The direct GET path of a client :func:`s3_client` made, or None (a caller's client)."""
    made, direct = _direct.get(id(client), (None, None))
    return direct if made is client else None


def _make_client(config: S3Config) -> tuple[S3Client, DirectGetter | None]:
    try:
        import boto3
        import botocore
        from botocore.config import Config
    except ImportError as exc:  # pragma: no cover - boto3 is a dependency
        raise SourceError("reading s3:// needs boto3: pip install boto3") from exc
    session = boto3.session.Session(
        profile_name=config.profile,
        aws_access_key_id=config.aws_access_key_id,
        aws_secret_access_key=config.aws_secret_access_key,
        aws_session_token=config.aws_session_token,
    )
    region = config.region or session.region_name or "us-east-1"
    botocore_config = Config(
        max_pool_connections=config.max_pool_connections,
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        # fastzips3's own policy retries (and resumes broken bodies); botocore's would multiply it
        retries={"mode": "standard", "total_max_attempts": 1},
        signature_version=botocore.UNSIGNED if config.anonymous else None,
        s3={"addressing_style": "path"} if config.endpoint_url else None,
    )
    client = session.client(
        "s3", region_name=region, endpoint_url=config.endpoint_url, config=botocore_config
    )
    botocore_session = getattr(session, "_session", None)
    if botocore_session is None:  # pragma: no cover - every boto3 Session has one
        return client, None
    direct = DirectGetter.for_client(
        client,
        None if config.anonymous else session.get_credentials(),
        anonymous=config.anonymous,
        pool=PoolSettings(config.connect_timeout, config.read_timeout, config.max_pool_connections),
        ca_bundle=botocore_session.get_config_variable("ca_bundle"),
    )
    return client, direct


def parse_s3_url(url: str) -> tuple[str, str]:
    """Split ``s3://bucket/key`` into bucket and key."""
    if not url.startswith("s3://"):
        raise ValueError(f"not an s3:// URL: {url!r}")
    rest = url[5:]
    bucket, _, key = rest.partition("/")
    if not bucket or not key:
        raise ValueError(f"an S3 URL needs a bucket and a key: {url!r}")
    return bucket, key


def guarded(
    call: Callable[[], T],
    *,
    client: Any,
    url: str,
    secrets: tuple[str, ...] = (),
    rng: tuple[int, int] | None = None,
) -> T:
    """Run ``call`` (a request on ``client``); botocore and urllib3 exceptions become
    fastzips3's, at the boundary.

    The new error is raised outside the ``except`` block and chained to a redacted copy of
    the foreign one, so that no foreign text (which may carry a URL) reaches a message.
    ``secrets`` are scrubbed from that copy.
    """
    import http.client  # deferred: ``import fastzips3`` does not load http.client

    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
    from urllib3.exceptions import HTTPError as Urllib3Error

    err: SourceError
    try:
        return call()
    except SourceError:
        raise
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        message = str(error.get("Message", "")) or code
        err = _map_client_error(code, status, message, url, rng)
        err.__cause__ = redacted_copy(exc, secrets)
    except NoCredentialsError as exc:
        err = SourcePermissionError(
            "no AWS credentials found; configure them (env, profile, role), or pass "
            "anonymous=True (--no-sign-request) for a public bucket",
            url=url,
            range=rng,
        )
        err.__cause__ = redacted_copy(exc, secrets)
    except (BotoCoreError, Urllib3Error, OSError, http.client.HTTPException) as exc:
        host, port = _client_endpoint(client)
        err = network_error(
            exc,
            url=url,
            host=host,
            port=port,
            range=rng,
            secrets=secrets,
            timeouts=_client_timeouts(client),
        )
    raise err


def _client_endpoint(client: Any) -> tuple[str | None, int | None]:
    endpoint = getattr(getattr(client, "meta", None), "endpoint_url", None)
    if not isinstance(endpoint, str):
        return None, None
    from urllib3.util import parse_url

    parsed = parse_url(endpoint)
    return parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80)


def _client_timeouts(client: Any) -> tuple[float, float] | None:
    config = getattr(getattr(client, "meta", None), "config", None)
    connect = getattr(config, "connect_timeout", None)
    read = getattr(config, "read_timeout", None)
    if isinstance(connect, (int, float)) and isinstance(read, (int, float)):
        return float(connect), float(read)
    return None


@dataclass(frozen=True, slots=True)
class ListPage:
    """One page of a ListObjectsV2 answer: ``(key, size)`` pairs and the next page's token."""

    objects: tuple[tuple[str, int], ...]
    next_token: str | None


def list_objects_page(
    client: S3Client,
    bucket: str,
    prefix: str,
    *,
    token: str | None = None,
    delimiter: str | None = None,
    requester_pays: bool = False,
    secrets: tuple[str, ...] = (),
) -> ListPage:
    """One ListObjectsV2 request: up to 1,000 keys under ``prefix``, in key order.

    Without ``delimiter``, keys in every "subdirectory" come back; with ``"/"``, only those
    with no ``/`` after the prefix (common prefixes are dropped). Errors are fastzips3's
    (:class:`~fastzips3.errors.SourceNotFoundError` for a missing bucket, ...), with the URL
    ``s3://bucket/prefix``. Nothing here retries; the caller's policy does.
    """
    args: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    if token is not None:
        args["ContinuationToken"] = token
    if delimiter is not None:
        args["Delimiter"] = delimiter
    if requester_pays:
        args["RequestPayer"] = "requester"
    url = f"s3://{bucket}/{prefix}"
    response = guarded(
        lambda: client.list_objects_v2(**args), client=client, url=url, secrets=secrets
    )
    objects = tuple((str(o["Key"]), int(o.get("Size", 0))) for o in response.get("Contents", ()))
    next_token = response.get("NextContinuationToken") if response.get("IsTruncated") else None
    if response.get("IsTruncated") and not next_token:
        raise SourceError("S3 said the listing goes on but gave no continuation token", url=url)
    return ListPage(objects, str(next_token) if next_token else None)


class _BodyStream:
    """A botocore StreamingBody that maps its errors into fastzips3's."""

    def __init__(self, body: Any, source: S3Source, start: int, end: int) -> None:
        self._body = body
        self._source = source
        self._range = (start, end)

    def read(self, size: int = -1, /) -> bytes:
        data: bytes = self._source._guard(
            lambda: self._body.read(None if size < 0 else size), self._range
        )
        return data

    def close(self) -> None:
        self._body.close()


class _WholeBody:
    """A body the direct path has already read whole."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, size: int | None = None, /) -> bytes:
        data, self._data = self._data, b""
        return data

    def close(self) -> None:
        self._data = b""


class _StreamBody:
    """A body the direct path streams: urllib3's response (which returns its connection to
    the pool once read to the end; closing it earlier drops the connection)."""

    def __init__(self, response: Any) -> None:
        self._response = response

    def read(self, size: int | None = None, /) -> bytes:
        data: bytes = self._response.read(size)
        return data

    def close(self) -> None:
        self._response.close()


#: get_object's arguments sent as headers by the direct path.
_DIRECT_HEADERS = (
    ("IfMatch", "If-Match"),
    ("IfNoneMatch", "If-None-Match"),
    ("RequestPayer", "x-amz-request-payer"),
)
#: get_object's answer fields, from the direct path's headers.
_DIRECT_FIELDS = (
    ("ContentRange", "Content-Range"),
    ("ContentLength", "Content-Length"),
    ("ETag", "ETag"),
    ("VersionId", "x-amz-version-id"),
)


class S3Source(BaseSource):
    """An S3 object. Every GET after the first carries ``If-Match`` (or the pinned versionId)."""

    def __init__(
        self,
        url: str,
        *,
        config: S3Config | None = None,
        client: S3Client | None = None,
        version_id: str | None = None,
        requester_pays: bool = False,
        extra_get_args: dict[str, str] | None = None,
    ) -> None:
        super().__init__(url)
        self.bucket, self.key = parse_s3_url(url)
        self._client = client if client is not None else s3_client(config or S3Config())
        secrets = (config.aws_secret_access_key, config.aws_session_token) if config else ()
        #: Credentials to scrub from foreign exception text (never expected there).
        self._secrets = tuple(s for s in secrets if s and len(s) >= 4)
        self._version_id = version_id
        self._extra: dict[str, str] = dict(extra_get_args or {})
        if requester_pays:
            self._extra["RequestPayer"] = "requester"
        #: The direct GET path (sources/s3direct.py), when the client and the GETs allow it.
        self._direct = direct_getter(self._client) if set(self._extra) <= {"RequestPayer"} else None

    @property
    def client(self) -> S3Client:
        """The botocore client in use."""
        return self._client

    def _guard(self, call: Callable[[], T], rng: tuple[int, int] | None) -> T:
        """Run ``call``; botocore and urllib3 exceptions become fastzips3's (:func:`guarded`)."""
        return guarded(call, client=self._client, url=self._url, secrets=self._secrets, rng=rng)

    def _get(
        self,
        range_header: str,
        rng: tuple[int, int] | None,
        *,
        if_none_match: str | None = None,
        whole: bool = False,
    ) -> dict[str, Any]:
        """One GET, answered as botocore's ``get_object`` answers (a dict with a ``Body``).

        ``whole``: the caller reads the body at once (a tail); else it streams it. Either way
        the direct path serves it when it may (see :mod:`fastzips3.sources.s3direct`).
        """
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key, "Range": range_header}
        args.update(self._extra)
        pinned = self._version
        if self._version_id is not None:
            args["VersionId"] = self._version_id
        elif if_none_match is not None:
            args["IfNoneMatch"] = if_none_match
        elif pinned is not None and pinned.etag is not None:
            args["IfMatch"] = pinned.etag
        if self._direct is not None:
            direct = self._guard(lambda: self._direct_get(args, rng, stream=not whole), rng)
            if direct is not None:
                return direct
        response: dict[str, Any] = dict(self._guard(lambda: self._client.get_object(**args), rng))
        return response

    def _direct_get(
        self, args: dict[str, Any], rng: tuple[int, int] | None, *, stream: bool
    ) -> dict[str, Any] | None:
        """``args`` (get_object's) through the direct path; None: send them through the client."""
        assert self._direct is not None
        headers = {"Range": args["Range"]}
        for name, header in _DIRECT_HEADERS:
            if name in args:
                headers[header] = args[name]
        params = {"versionId": args["VersionId"]} if "VersionId" in args else {}
        answer = self._direct.get(self.bucket, self.key, headers, params, stream=stream)
        if answer is None:
            return None
        if answer.status >= 300:
            code, message = answer.error_fields()
            raise _map_client_error(code, answer.status, message or code, self._url, rng)
        body = _WholeBody(answer.body) if answer.stream is None else _StreamBody(answer.stream)
        response: dict[str, Any] = {"Body": body}
        for name, header in _DIRECT_FIELDS:
            value = answer.headers.get(header)
            if value is not None:
                response[name] = value
        return response

    def _version_of(self, response: dict[str, Any], rng: tuple[int, int] | None) -> ObjectVersion:
        content_range = response.get("ContentRange")
        if content_range:
            m = _CONTENT_RANGE.match(content_range)
            if m is None or m.group(3) == "*":
                response["Body"].close()
                raise SourceError(
                    f"unexpected Content-Range {content_range!r}", url=self._url, range=rng
                )
            size = int(m.group(3))
        else:
            size = int(response.get("ContentLength", 0))
        return ObjectVersion(
            size=size, etag=response.get("ETag"), version_id=response.get("VersionId")
        )

    def read_tail(self, length: int) -> TailRead:
        """One GET with a suffix range: the tail, the object size and its ETag."""
        try:
            response = self._get(f"bytes=-{max(1, length)}", None, whole=True)
        except _RangeNotSatisfiableError:
            # S3 answers 416 to any range on an empty object.
            return TailRead(b"", 0, self._pin(ObjectVersion(size=0)))
        return self._tail_from(response)

    def revalidate(self, version: ObjectVersion, length: int) -> TailRead | None:
        """One conditional suffix GET: 304 (None) when unchanged, else the new tail.

        With a pinned ``version_id`` the object cannot have changed: no request at all.
        """
        if self._version_id is not None and version.version_id == self._version_id:
            self._pin(version)
            return None
        if version.etag is None:
            return super().revalidate(version, length)
        try:
            response = self._get(
                f"bytes=-{max(1, length)}", None, if_none_match=version.etag, whole=True
            )
        except _NotModifiedError:
            self._pin(version)
            return None
        except _RangeNotSatisfiableError:
            return TailRead(b"", 0, self._pin(ObjectVersion(size=0)))
        return self._tail_from(response)

    def _tail_from(self, response: dict[str, Any]) -> TailRead:
        version = self._pin(self._version_of(response, None))
        body = response["Body"]
        try:
            data: bytes = self._guard(body.read, None)
        finally:
            body.close()
        start = version.size - len(data)
        if start < 0:
            raise SourceError("S3 returned more bytes than the object holds", url=self._url)
        return TailRead(data, start, version)

    def open_range(self, *, start: int, end: int) -> RangeStream:
        """One GET of ``bytes=start-(end-1)``, streamed."""
        self._check_range(start, end)
        rng = (start, end)
        response = self._get(f"bytes={start}-{end - 1}", rng)
        try:
            self._pin(self._version_of(response, rng))
            content_range = response.get("ContentRange") or ""
            m = _CONTENT_RANGE.match(content_range)
            exact = m is not None and int(m.group(1)) == start and int(m.group(2)) == end - 1
            whole = not content_range and start == 0 and end == self._pinned_size()
            if not (exact or whole):
                # A proxy or store that ignored the Range: the body is not what was asked for.
                raise RangeNotSupportedError(
                    f"S3 answered range {start}-{end - 1} with {content_range or 'no range'}",
                    url=self._url,
                    range=rng,
                    retryable=True,
                )
        except BaseException:
            response["Body"].close()
            raise
        return _BodyStream(response["Body"], self, start, end)

    def _pinned_size(self) -> int:
        return self._version.size if self._version is not None else -1


def _map_client_error(
    code: str, status: int, message: str, url: str, rng: tuple[int, int] | None
) -> SourceError:
    if code in ("NoSuchKey", "NoSuchBucket", "NotFound", "NoSuchVersion") or status == 404:
        return SourceNotFoundError(f"S3: {code}: {message}", url=url, range=rng)
    if code in ("AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch") or (
        status == 403
    ):
        return SourcePermissionError(f"S3: {code}: {message}", url=url, range=rng)
    if code in ("304", "NotModified") or status == 304:
        return _NotModifiedError(f"S3: {code or status}: not modified", url=url, range=rng)
    if code == "InvalidRange" or status == 416:
        return _RangeNotSatisfiableError(f"S3: {code}: {message}", url=url, range=rng)
    if code == "PreconditionFailed" or status == 412:
        return SourceChangedError(
            "the object changed while it was being read (S3 412 PreconditionFailed on "
            "If-Match); reopen it to read the new version",
            url=url,
            range=rng,
        )
    transient = status >= 500 or status == 429 or code in _TRANSIENT_CODES
    return SourceError(f"S3: {code or status}: {message}", url=url, range=rng, retryable=transient)


_TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "InternalError",
        "ServiceUnavailable",
        "RequestTimeout",
        "Throttling",
        "ThrottlingException",
        "TooManyRequests",
        "RequestLimitExceeded",
    }
)


class _RangeNotSatisfiableError(SourceError):
    """416: the range lies outside the object (for a suffix range: the object is empty)."""


class _NotModifiedError(SourceError):
    """304: the conditional GET found the object unchanged."""

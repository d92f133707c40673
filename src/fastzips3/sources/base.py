"""The byte source protocol: size, version, and ranged reads. Sources fetch; they never parse.

Ranges are half-open, given as keyword-only ``start`` / ``end``. A source learns the object's
size and version (ETag or versionId) from its first response, and pins every later request to
that version, so bytes of two versions never mix.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from fastzips3.errors import (
    SourceChangedError,
    SourceConnectionError,
    SourceConnectionRefusedError,
    SourceError,
    SourceTimeoutError,
    redact_url,
)

__all__ = [
    "BaseSource",
    "ObjectVersion",
    "RangeStream",
    "RedactedError",
    "Source",
    "TailRead",
    "is_literal_or_loopback",
    "network_error",
    "redact_text",
    "redacted_copy",
    "url_secrets",
]


@dataclass(frozen=True, slots=True)
class ObjectVersion:
    """What identifies one version of an object: size, and ETag and/or version id."""

    size: int
    etag: str | None = None
    version_id: str | None = None


@dataclass(frozen=True, slots=True)
class TailRead:
    """The answer to a suffix read: the last bytes of the object and the version they belong to."""

    data: bytes
    start: int
    version: ObjectVersion


@runtime_checkable
class RangeStream(Protocol):
    """A streamed response body for one range: read it in pieces, then close it."""

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes; fewer only at the end of the range."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


@runtime_checkable
class Source(Protocol):
    """Where archive bytes come from: S3, HTTP, a local file, memory, or any fsspec filesystem."""

    @property
    def url(self) -> str:
        """The location, with any credentials redacted."""
        ...

    @property
    def version(self) -> ObjectVersion | None:
        """The pinned version, once known (after the first read)."""
        ...

    def read_tail(self, length: int) -> TailRead:
        """The last ``length`` bytes (all of them if the object is smaller), and the version."""
        ...

    def revalidate(self, version: ObjectVersion, length: int) -> TailRead | None:
        """None if the object still is ``version`` (then pinned to it), else its new tail."""
        ...

    def assume(self, version: ObjectVersion) -> None:
        """Pin ``version`` without contacting the object (later reads check it)."""
        ...

    def read_range(self, *, start: int, end: int) -> bytes:
        """Exactly the bytes ``[start, end)``; fewer is an error."""
        ...

    def open_range(self, *, start: int, end: int) -> RangeStream:
        """A stream over the bytes ``[start, end)``."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


class BaseSource(ABC):
    """Shared behaviour: version pinning checks and exact-length reads over ``open_range``."""

    #: Whether listings of this source are worth caching on disk (not for local files).
    remote = True

    def __init__(self, url: str) -> None:
        self._url = url
        self._version: ObjectVersion | None = None

    @property
    def url(self) -> str:
        """The location, with any credentials redacted."""
        return self._url

    @property
    def version(self) -> ObjectVersion | None:
        """The pinned version, once known."""
        return self._version

    def _pin(self, version: ObjectVersion) -> ObjectVersion:
        """Record the version on first contact, and check it on every later response."""
        if self._version is None:
            self._version = version
            return version
        pinned = self._version
        changed = version.size != pinned.size or (
            pinned.etag is not None and version.etag is not None and version.etag != pinned.etag
        )
        if changed:
            raise SourceChangedError(
                f"the object changed while it was being read (was {pinned.size} bytes, "
                f"ETag {pinned.etag}; now {version.size} bytes, ETag {version.etag}); "
                "reopen it to read the new version",
                url=self._url,
            )
        return pinned

    def _check_range(self, start: int, end: int) -> None:
        if start < 0 or end < start:
            raise ValueError(f"invalid range [{start}, {end})")
        if self._version is not None and end > self._version.size:
            raise SourceError(
                f"range [{start}, {end}) is past the end of the object ({self._version.size} "
                "bytes)",
                url=self._url,
                range=(start, end),
            )

    @abstractmethod
    def read_tail(self, length: int) -> TailRead:
        """The last ``length`` bytes of the object, and its version."""

    @abstractmethod
    def open_range(self, *, start: int, end: int) -> RangeStream:
        """A stream over ``[start, end)``."""

    def revalidate(self, version: ObjectVersion, length: int) -> TailRead | None:
        """Without a conditional request: read the tail and compare versions."""
        tail = self.read_tail(length)
        same = tail.version.size == version.size and tail.version.etag == version.etag
        return None if same else tail

    def assume(self, version: ObjectVersion) -> None:
        """Pin ``version`` without contacting the object."""
        self._pin(version)

    def read_range(self, *, start: int, end: int) -> bytes:
        """Exactly ``[start, end)``, read through :meth:`open_range`."""
        self._check_range(start, end)
        if end == start:
            return b""
        stream = self.open_range(start=start, end=end)
        try:
            return read_exactly(stream, end - start, url=self._url, start=start)
        finally:
            stream.close()

    def read_ranges(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """Several ranges, one request each, in order."""
        return [self.read_range(start=s, end=e) for s, e in ranges]

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (nothing by default)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._url!r})"


def read_exactly(stream: RangeStream, length: int, *, url: str, start: int) -> bytes:
    """Read ``length`` bytes from ``stream``; a short body raises :class:`SourceError`."""
    parts: list[bytes] = []
    remaining = length
    while remaining > 0:
        chunk = stream.read(min(remaining, 1 << 20))
        if not chunk:
            raise SourceError(
                f"the response ended after {length - remaining} of {length} bytes",
                url=url,
                range=(start, start + length),
            )
        parts.append(chunk)
        remaining -= len(chunk)
    # One chunk is returned as it is: copying a fresh 256 KiB buffer costs more than reading it.
    return parts[0] if len(parts) == 1 else b"".join(parts)


# --- foreign exceptions, without their secrets ---------------------------------------------------
#
# urllib3's MaxRetryError, botocore's errors and their causes put the request URL in their text,
# query string (a presigned URL's signature) included. A SourceError is never chained to them as
# they are: it is chained to a RedactedError, which keeps the type name, the redacted text and the
# traceback (so ``--debug`` still shows where it failed), and nothing else.

#: How deep a foreign cause chain is copied or searched.
_MAX_CHAIN = 12


class RedactedError(Exception):
    """Stands in for a foreign exception in a :class:`SourceError`'s cause chain.

    Its text is ``module.Type: message`` with every credential removed (see
    :func:`redacted_copy`); its traceback is the original's; its ``__cause__`` is the redacted
    copy of the original's cause (or context). The original object is not kept.
    """


def url_secrets(url: str) -> tuple[str, ...]:
    """The secrets written in ``url``: its user and password, and credential query values.

    Each is given as written and percent-decoded, so that they can be scrubbed from any text
    (values shorter than 4 characters are left to :func:`fastzips3.errors.redact_url`).
    """
    from urllib.parse import parse_qsl, unquote, urlsplit

    try:
        parts = urlsplit(url)
        found = [parts.username or "", parts.password or ""]
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return ()
    for key, value in query:
        if redact_url(f"?{key}=x").endswith("=***"):
            found.append(value)
    raw = parts.query.split("&")
    for item in raw:
        key, _, value = item.partition("=")
        if redact_url(f"?{key}=x").endswith("=***"):
            found.append(value)
    out: list[str] = []
    for value in found:
        for form in (value, unquote(value)):
            if len(form) >= 4 and form not in out:
                out.append(form)
    # Longest first, so that a secret containing another is scrubbed whole.
    return tuple(sorted(out, key=len, reverse=True))


def redact_text(text: str, secrets: Sequence[str] = ()) -> str:
    """``text`` with credentials removed: URL credentials, and each of ``secrets`` literally."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return redact_url(text)


def redacted_copy(exc: BaseException, secrets: Sequence[str] = ()) -> BaseException:
    """A :class:`RedactedError` standing in for ``exc`` and its causes (fastzips3's own errors,
    already redacted, are kept as they are)."""
    if isinstance(exc, SourceError):
        return exc
    return _redacted_copy(exc, secrets, _MAX_CHAIN)


def _redacted_copy(exc: BaseException, secrets: Sequence[str], depth: int) -> BaseException:
    name = type(exc).__qualname__
    module = type(exc).__module__
    if module not in ("builtins", "__main__"):
        name = f"{module}.{name}"
    text = str(exc)
    copy = RedactedError(redact_text(f"{name}: {text}" if text else name, secrets))
    copy.__traceback__ = exc.__traceback__
    inner = exc.__cause__
    if inner is None and not exc.__suppress_context__:
        inner = exc.__context__
    if inner is not None and depth > 1:
        copy.__cause__ = (
            inner if isinstance(inner, SourceError) else _redacted_copy(inner, secrets, depth - 1)
        )
    copy.__suppress_context__ = True
    return copy


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it holds: causes, contexts, arguments, and the attributes
    urllib3 and botocore keep them in (``reason``, ``original_error``, ``kwargs["error"]``)."""
    seen: set[int] = set()
    queue = [exc]
    while queue and len(seen) < 4 * _MAX_CHAIN:
        item = queue.pop(0)
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        held: list[object] = [item.__cause__, item.__context__, *item.args]
        held += [getattr(item, "reason", None), getattr(item, "original_error", None)]
        kwargs = getattr(item, "kwargs", None)
        if isinstance(kwargs, dict):
            held.append(kwargs.get("error"))
        queue += [h for h in held if isinstance(h, BaseException)]


def is_literal_or_loopback(host: str | None) -> bool:
    """True for a literal IP address (v4 or v6) or ``localhost``: no DNS stands in between."""
    if not host:
        return False
    import ipaddress

    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        name = host.lower().rstrip(".")
        return name == "localhost" or name.endswith(".localhost")
    return True


def _host_port(host: str | None, port: int | None) -> str:
    if not host:
        return "the server"
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"{shown}:{port}" if port else shown


def network_error(
    exc: BaseException,
    *,
    url: str,
    host: str | None,
    port: int | None,
    range: tuple[int, int] | None = None,
    secrets: Sequence[str] = (),
    timeouts: tuple[float, float] | None = None,
) -> SourceError:
    """The :class:`SourceError` for a foreign network failure ``exc``, in plain words.

    The cause is named (connection refused, DNS lookup failed, timed out, TLS error, reset,
    body cut short), and whether a retry may help is decided here:

    - refused: :class:`SourceConnectionRefusedError`, not retried for a literal IP address or
      ``localhost`` (nothing will listen there in a second), retried for a host name;
    - DNS: :class:`SourceConnectionError`, retried only for a temporary failure (EAI_AGAIN);
    - timed out: :class:`SourceTimeoutError`, retried;
    - TLS: :class:`SourceConnectionError`, not retried (a certificate, or a server that does not
      speak TLS) unless the connection was only cut during the handshake;
    - reset, closed without an answer, body cut short, other socket errors: retried.

    The result is chained to a :class:`RedactedError` copy of ``exc``, never to ``exc`` itself.
    Raise it outside the ``except`` block that caught ``exc`` (else Python records ``exc`` as
    its ``__context__``).
    """
    import http.client
    import socket
    import ssl

    chain = list(_chain(exc))
    where = _host_port(host, port)
    connect_t, read_t = timeouts if timeouts is not None else (None, None)
    names = {f"{type(e).__module__}.{type(e).__name__}" for e in chain}

    def first(kind: type[BaseException] | tuple[type[BaseException], ...]) -> BaseException | None:
        return next((e for e in chain if isinstance(e, kind)), None)

    err: SourceError
    gai = first(socket.gaierror)
    refused = first(ConnectionRefusedError)
    tls = first(ssl.SSLError)
    reset = first((ConnectionResetError, ConnectionAbortedError, BrokenPipeError))
    connect_timeout = any(n.endswith(".ConnectTimeoutError") for n in names) and not any(
        n.endswith((".NewConnectionError", ".NameResolutionError")) for n in names
    )
    timed_out = connect_timeout or any(
        isinstance(e, TimeoutError) or type(e).__name__ == "ReadTimeoutError" for e in chain
    )
    if gai is not None or "urllib3.exceptions.NameResolutionError" in names:
        code = getattr(gai, "errno", None)
        temporary = code == getattr(socket, "EAI_AGAIN", -3)
        if temporary:
            detail = getattr(gai, "strerror", None) or "temporary failure"
            reason = f"DNS lookup of {host} failed: {detail} (temporary)"
        else:
            reason = f"DNS lookup failed: the host {host} does not exist"
        err = SourceConnectionError(reason, url=url, range=range, retryable=temporary)
    elif refused is not None:
        err = SourceConnectionRefusedError(
            f"connection refused by {where}: nothing listens there",
            url=url,
            range=range,
            retryable=not is_literal_or_loopback(host),
        )
    elif timed_out:
        if connect_timeout:
            limit = f" within {connect_t:g} s (connect_timeout)" if connect_t else ""
            reason = f"timed out connecting to {where}{limit}"
        else:
            limit = f" for {read_t:g} s (read_timeout)" if read_t else ""
            reason = f"timed out: {where} sent nothing{limit}"
        err = SourceTimeoutError(reason, url=url, range=range)
    elif tls is not None or any(n.endswith(".SSLError") for n in names):
        transient = isinstance(tls, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError))
        if isinstance(tls, ssl.SSLCertVerificationError):
            detail = f"certificate verify failed: {tls.verify_message}"
        elif isinstance(tls, ssl.SSLError) and tls.reason:
            detail = str(tls.reason).lower().replace("_", " ")
            if tls.reason in (
                "WRONG_VERSION_NUMBER",
                "RECORD_LAYER_FAILURE",
                "PACKET_LENGTH_TOO_LONG",
            ):
                detail += " (the server does not seem to speak TLS: try http://)"
        else:
            detail = "the handshake failed"
        err = SourceConnectionError(
            f"TLS error with {where}: {detail}", url=url, range=range, retryable=transient
        )
    elif reset is not None:
        if isinstance(reset, http.client.RemoteDisconnected):
            reason = f"{where} closed the connection without answering"
        else:
            reason = f"the connection to {where} was reset"
        err = SourceConnectionError(reason, url=url, range=range)
    elif first(http.client.IncompleteRead) is not None or any(
        n.endswith((".IncompleteReadError", ".ResponseStreamingError", ".ProtocolError"))
        for n in names
    ):
        err = SourceError(
            f"the connection to {where} broke before the response ended",
            url=url,
            range=range,
            retryable=True,
        )
    elif (
        answer := next((e for e in chain if type(e).__name__ == "ResponseError"), None)
    ) is not None:
        # urllib3 gave up on the answers themselves (e.g. "too many redirects")
        err = SourceError(f"{where}: {redact_text(str(answer), secrets)}", url=url, range=range)
    elif isinstance(os_error := first(OSError), OSError) and os_error.strerror:
        err = SourceConnectionError(
            f"connection to {where} failed: {os_error.strerror}", url=url, range=range
        )
    else:
        text = redact_text(str(exc), secrets).splitlines()
        detail = text[0][:200] if text else ""
        reason = f"request to {where} failed: {type(exc).__name__}"
        err = SourceError(
            f"{reason}: {detail}" if detail else reason, url=url, range=range, retryable=True
        )
    err.__cause__ = redacted_copy(exc, secrets)
    err.__suppress_context__ = True
    return err

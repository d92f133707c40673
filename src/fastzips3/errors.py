"""The whole fastzips3 exception tree.

Every error fastzips3 raises is a :class:`FastZipS3Error`. Each branch also subclasses the builtin
exception that callers already catch: format errors are :class:`zipfile.BadZipFile`, source
errors are :class:`OSError` (and :class:`FileNotFoundError`, :class:`PermissionError` or
:class:`TimeoutError` where they fit), unsupported features are :class:`NotImplementedError`.

This module imports nothing from fastzips3, so every layer may import it.
"""

from __future__ import annotations

import errno as errno_codes
import os
import re
import zipfile
from collections.abc import Sequence

__all__ = [
    "CRCMismatchError",
    "CentralDirectoryError",
    "CodecNotInstalledError",
    "DecompressionError",
    "DestinationChangedError",
    "DestinationExistsError",
    "EOCDNotFoundError",
    "EncryptedEntryError",
    "FormatError",
    "IntegrityError",
    "LimitExceededError",
    "LocalHeaderError",
    "MemberNotFoundError",
    "MultiDiskError",
    "OverlapError",
    "PasswordError",
    "PathError",
    "PathExistsError",
    "PathIsADirectoryError",
    "PathNotADirectoryError",
    "PathNotFoundError",
    "PathPermissionError",
    "RangeNotSupportedError",
    "RetriesExhaustedError",
    "SizeMismatchError",
    "SourceChangedError",
    "SourceConnectionError",
    "SourceConnectionRefusedError",
    "SourceError",
    "SourceNotFoundError",
    "SourcePermissionError",
    "SourceTimeoutError",
    "TruncatedError",
    "UnsafePathError",
    "UnsupportedError",
    "UnsupportedMethodError",
    "Zip64Error",
    "FastZipS3Error",
    "redact_url",
]

#: Query parameters that carry credentials, matched by how their names end (so
#: ``X-Amz-Security-Token``, ``access_token`` and ``client_secret`` are all caught): AWS SigV4
#: and SigV2 presigned URLs, GCS signed URLs (``X-Goog-Signature``, ``X-Goog-Credential``),
#: Azure SAS (``sig``), CloudFront (``Signature``, ``Key-Pair-Id``), and the usual token, key,
#: password and secret parameters. ``%3D`` catches them inside another URL's query.
_SECRET_QUERY = re.compile(
    r"(?i)((?:Signature|Credential|Token|AWSAccessKeyId|Key-Pair-Id|sig|api_?key|password|"
    r"passwd|secret)(?:=|%3D))[^&#\s]*"
)
#: ``user:password@`` after any ``scheme://``, anywhere in the text.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s?#]+@")


def redact_url(url: str) -> str:
    """Return ``url`` with credentials removed: user:password and signing query parameters.

    It also works on any text that holds URLs (a foreign exception's message, a log line):
    every ``scheme://user:password@`` and every credential query value in it is replaced by
    ``***``. Redacting more than needed is the safe side.
    """
    url = _USERINFO.sub(r"\1***@", url)
    return _SECRET_QUERY.sub(r"\1***", url)


class FastZipS3Error(Exception):
    """Base class of every error raised by fastzips3."""

    def __reduce__(self) -> tuple[object, ...]:
        # Errors cross process boundaries (Dask workers): rebuild them without calling
        # __init__, whose keyword-only fields (name, expected, ...) are in the state.
        return (_rebuild_error, (type(self), self.args), self.__dict__)


def _rebuild_error(cls: type[FastZipS3Error], args: tuple[object, ...]) -> FastZipS3Error:
    err = cls.__new__(cls)
    BaseException.__init__(err, *args)
    return err


# --- format ---------------------------------------------------------------------------------


class FormatError(FastZipS3Error, zipfile.BadZipFile):
    """The bytes are not a valid ZIP archive, or not the part of it they claim to be.

    ``offset`` is the absolute archive offset where the problem was found (when known) and
    ``record`` names the APPNOTE record being parsed.
    """

    def __init__(self, message: str, *, offset: int | None = None, record: str | None = None):
        super().__init__(message)
        self.offset = offset
        self.record = record


class EOCDNotFoundError(FormatError):
    """No valid end of central directory record: this is not a ZIP archive (or it is cut)."""


class Zip64Error(FormatError):
    """The ZIP64 locator, end record or extra field is missing or inconsistent."""


class CentralDirectoryError(FormatError):
    """The central directory is malformed, or disagrees with the end record."""


class LocalHeaderError(FormatError):
    """A local file header is missing, malformed, or disagrees with the central directory."""


class TruncatedError(FormatError):
    """The archive ends before a record or member data that it declares."""


class OverlapError(FormatError):
    """Member data overlaps another entry or the central directory (a possible zip bomb)."""


class DecompressionError(FormatError):
    """The compressed data of a member is corrupt."""

    def __init__(self, message: str, *, name: str | None = None, offset: int | None = None):
        super().__init__(message, offset=offset, record="member data")
        self.name = name


class IntegrityError(FormatError):
    """A member's content does not match what the archive declares for it."""

    def __init__(self, message: str, *, name: str, expected: int, actual: int):
        super().__init__(message, record="member data")
        self.name = name
        self.expected = expected
        self.actual = actual


class CRCMismatchError(IntegrityError):
    """The CRC-32 of a member's content differs from the declared one."""


class SizeMismatchError(IntegrityError):
    """A member's content is shorter or longer than its declared size."""


# --- unsupported ----------------------------------------------------------------------------


class UnsupportedError(FastZipS3Error, NotImplementedError):
    """The archive uses a feature fastzips3 does not support (or not without an extra)."""


class UnsupportedMethodError(UnsupportedError):
    """A member's compression method is not supported. ``method`` is its numeric id."""

    def __init__(self, message: str, *, method: int, name: str | None = None):
        super().__init__(message)
        self.method = method
        self.name = name


class CodecNotInstalledError(UnsupportedMethodError):
    """The codec for a member is supported through an extra that is not installed.

    ``extra`` names it, as in ``pip install fastzips3[extra]``.
    """

    def __init__(self, message: str, *, method: int, extra: str, name: str | None = None):
        super().__init__(message, method=method, name=name)
        self.extra = extra


class EncryptedEntryError(UnsupportedError):
    """A member (or the central directory) is encrypted and cannot be read as asked."""

    def __init__(self, message: str, *, name: str | None = None):
        super().__init__(message)
        self.name = name


class MultiDiskError(UnsupportedError):
    """The archive is split over several disks (spanned), which fastzips3 does not read."""


class MemberNotFoundError(FastZipS3Error, KeyError):
    """The archive has no member of that name (also :class:`KeyError`, as in ``zipfile``)."""

    def __init__(self, message: str, *, name: str):
        super().__init__(message)
        self.name = name


class PasswordError(FastZipS3Error, RuntimeError):
    """A password is missing or wrong for an encrypted member (``.name``: the member, when
    known; ``.missing``: True when none was given, False when the one given is wrong)."""

    def __init__(self, message: str, *, name: str | None = None, missing: bool = False):
        super().__init__(message)
        self.name = name
        self.missing = missing


class LimitExceededError(FastZipS3Error):
    """A safety limit was reached: total size, entry count or compression ratio."""


class UnsafePathError(FastZipS3Error, ValueError):
    """Extraction of a member was refused because its path is unsafe (``.name``, ``.reason``)."""

    def __init__(self, message: str, *, name: str, reason: str):
        super().__init__(message)
        self.name = name
        self.reason = reason


# --- paths ----------------------------------------------------------------------------------


class PathError(FastZipS3Error, OSError):
    """A path cannot be used as asked: a path inside an archive, or a local path.

    Raised for member paths given to :func:`fastzips3.open`, :func:`fastzips3.listdir`,
    :func:`fastzips3.stat` and the fsspec filesystem, for local files and directories given to
    them, and for extraction targets. Also :class:`OSError`, with ``errno``, ``strerror`` and
    ``filename`` set as the builtin sets them; each subclass is also the builtin that the same
    failure raises from the standard library (:class:`FileNotFoundError`, ...). ``path`` is the
    path (``archive!/member`` for a member).
    """

    #: The errno of this kind of failure (the base class takes it from the failure).
    default_errno = 0

    def __init__(self, message: str, *, path: str, errno: int | None = None):
        super().__init__(self.default_errno if errno is None else errno, message, path)
        self.path = path

    def __str__(self) -> str:
        return str(self.strerror)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_path_error, (type(self), str(self), self.path, self.errno))

    @classmethod
    def from_os_error(cls, exc: OSError, message: str | None = None) -> PathError:
        """The :class:`PathError` for a builtin ``exc`` about a local path: same builtin, errno.

        ``message`` defaults to ``"<filename>: <strerror>"``. Raise it ``from exc``.
        """
        path = os.fsdecode(exc.filename) if exc.filename is not None else ""
        if message is None:
            reason = exc.strerror or str(exc) or type(exc).__name__
            message = f"{path}: {reason}" if path else reason
        for builtin, kind in _PATH_ERRORS:
            if isinstance(exc, builtin):
                return kind(message, path=path, errno=exc.errno)
        return PathError(message, path=path, errno=exc.errno)


def _rebuild_path_error(cls: type[PathError], text: str, path: str, code: int) -> PathError:
    return cls(text, path=path, errno=code)


class PathNotFoundError(PathError, FileNotFoundError):
    """No such member, directory in an archive, or local file or directory."""

    default_errno = errno_codes.ENOENT


class PathExistsError(PathError, FileExistsError):
    """An extraction target exists, and the overwrite policy says not to replace it."""

    default_errno = errno_codes.EEXIST


class PathIsADirectoryError(PathError, IsADirectoryError):
    """A file was expected, and the path is a directory (in the archive or on disk)."""

    default_errno = errno_codes.EISDIR


class PathNotADirectoryError(PathError, NotADirectoryError):
    """A directory was expected, and the path is a file, or not a directory in an archive."""

    default_errno = errno_codes.ENOTDIR


class PathPermissionError(PathError, PermissionError):
    """A local path (an extraction target, a file or directory) may not be read or written."""

    default_errno = errno_codes.EACCES


#: The builtin each subclass stands for, for :meth:`PathError.from_os_error`.
_PATH_ERRORS: tuple[tuple[type[OSError], type[PathError]], ...] = (
    (FileNotFoundError, PathNotFoundError),
    (FileExistsError, PathExistsError),
    (IsADirectoryError, PathIsADirectoryError),
    (NotADirectoryError, PathNotADirectoryError),
    (PermissionError, PathPermissionError),
)


# --- sources --------------------------------------------------------------------------------


class SourceError(FastZipS3Error, OSError):
    """Fetching bytes failed. ``url`` is redacted of credentials, ``range`` is ``(start, end)``.

    ``reason`` is the failure in plain words, without the URL; ``str()`` is one line: the reason,
    then the URL (and range) in brackets. ``retryable`` is True for transient failures (5xx,
    429, SlowDown, resets, short bodies, timeouts) that fastzips3's retry policy tries again.

    No message carries a secret: the URL is redacted, and a foreign exception (urllib3,
    botocore) is never chained as it is, only as a redacted stand-in.
    """

    #: Whether a failure of this class is transient by default.
    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        range: tuple[int, int] | None = None,
        retryable: bool | None = None,
    ):
        self.url = redact_url(url) if url is not None else None
        self.range = range
        self.retryable = self.default_retryable if retryable is None else retryable
        self.reason = message
        text = message
        if self.url is not None:
            text += f" [{self.url}"
            if range is not None:
                text += f" bytes {range[0]}-{range[1] - 1}"
            text += "]"
        super().__init__(text)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> tuple[object, ...]:
        # Every field (url, range, retryable, reason, history...) is in the state.
        return (_rebuild_source_error, (type(self), str(self)), self.__dict__)


def _rebuild_source_error(cls: type[SourceError], text: str) -> SourceError:
    err = cls.__new__(cls)
    Exception.__init__(err, text)
    return err


class SourceNotFoundError(SourceError, FileNotFoundError):
    """The archive (object, URL or file) does not exist."""


class SourcePermissionError(SourceError, PermissionError):
    """Access to the archive was denied."""


class SourceChangedError(SourceError):
    """The archive changed while it was being read (ETag/version mismatch, or HTTP 412)."""


class DestinationChangedError(SourceChangedError):
    """The archive being appended to changed before the new one was complete (the completion,
    guarded by ``If-Match`` on the old ETag, answered 412); nothing was written and the archive
    now holds the other writer's version. Reopen it and append again."""


class DestinationExistsError(SourceError, FileExistsError):
    """The target object or file exists and overwriting it was not allowed (``If-None-Match``
    answered 412, or the file was there). Also :class:`FileExistsError`."""


class RangeNotSupportedError(SourceError):
    """The server does not honour range requests (it answered 200 with the whole body).

    An HTTP source keeps such a body in memory up to the ``max_unranged_size`` option; this is
    raised, and not retried, for a larger one.
    """


class SourceTimeoutError(SourceError, TimeoutError):
    """A request did not complete within its deadline."""

    default_retryable = True


class SourceConnectionError(SourceError, ConnectionError):
    """The connection to the server failed or broke: DNS lookup, TLS handshake, reset.

    Also :class:`ConnectionError`. Retryable by default (a reset, a temporary DNS failure); a
    name that does not exist or a TLS error that a retry cannot fix (a certificate, a server
    that does not speak TLS) is not retried.
    """

    default_retryable = True


class SourceConnectionRefusedError(SourceConnectionError, ConnectionRefusedError):
    """The server refused the connection: nothing listens at that address and port.

    Also :class:`ConnectionRefusedError`. Not retried when the host is a literal IP address or
    ``localhost`` (nothing will start listening in the next seconds), so it fails at once;
    retried for a host name, whose addresses may move.
    """


class RetriesExhaustedError(SourceError):
    """Every retry failed. ``history`` lists one line per attempt; the cause is the last error.

    Its message is one line: ``gave up after N attempts: <the last failure's reason> [url]``.
    """

    def __init__(
        self,
        message: str,
        *,
        history: Sequence[str] = (),
        url: str | None = None,
        range: tuple[int, int] | None = None,
    ):
        super().__init__(message, url=url, range=range)
        self.history = tuple(history)

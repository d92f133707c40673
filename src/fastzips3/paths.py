"""Transparent paths: ``s3://bucket/data/a.zip/dir/file.csv`` opens the member, as a file.

Resolution rules (predictable, and no request is spent on guessing):

1. An explicit ``!/`` separates an archive from the path inside it, and wins over everything:
   ``s3://b/blob.bin!/x.csv`` opens member ``x.csv`` of ``blob.bin``; ``a.zip!/b.zip!/c`` is
   a nested archive. Use it for archives without a known suffix, or for names that would be
   ambiguous.
2. Otherwise, the first path component that ends with an archive suffix (``.zip`` by default,
   case-insensitive; change with ``archive_suffixes=``) and is followed by more components is
   the archive; the rest is the member path, split again the same way for nested archives.
3. A path that ends with an archive suffix names the archive object itself: ``open`` gives its
   bytes, ``listdir`` its top-level entries.
4. When a path could name both an object and a member (an object whose key really is
   ``a.zip/x``), the archive reading wins for remote URLs; for local paths an existing file
   wins, because checking costs no request. Pass ``archive_suffixes=()`` to turn rule 2 off.
"""

from __future__ import annotations

import builtins
import io
import os
import stat as stat_module
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, cast

from fastzips3._format.entry import ZipEntry
from fastzips3.archive import ZipArchive
from fastzips3.compat import RemoteFile
from fastzips3.errors import (
    PathError,
    PathIsADirectoryError,
    PathNotADirectoryError,
    PathNotFoundError,
    SourceChangedError,
)
from fastzips3.nested import MemberSource
from fastzips3.options import OpenOptions
from fastzips3.sources.resolve import is_url

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "DEFAULT_ARCHIVE_SUFFIXES",
    "ArchivePath",
    "PathInfo",
    "archive_for",
    "clear_archive_cache",
    "listdir",
    "open",
    "split_archive_path",
    "stat",
]

DEFAULT_ARCHIVE_SUFFIXES: tuple[str, ...] = (".zip",)
EXPLICIT_SEPARATOR = "!/"


@dataclass(frozen=True, slots=True)
class ArchivePath:
    """A path resolved into the outermost archive and the member path inside each level.

    ``members`` has one element per level: ``("inner.zip", "dir/x.csv")`` for
    ``outer.zip/inner.zip/dir/x.csv``. The last element is ``""`` for an archive's root.
    """

    archive: str
    members: tuple[str, ...]


def _split_url(path: str) -> tuple[str, list[str]]:
    """``("s3://bucket/", ["a", "b.zip", "x"])``: a prefix that ends where components start."""
    if is_url(path):
        scheme, _, rest = path.partition("://")
        host, _, key = rest.partition("/")
        return f"{scheme}://{host}/", key.split("/") if key else []
    if path.startswith("/"):
        return "/", path[1:].split("/")
    return "", path.split("/")


def _split_members(inner: str, suffixes: tuple[str, ...]) -> tuple[str, ...]:
    parts = inner.split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower().endswith(suffixes):
            return ("/".join(parts[: i + 1]), *_split_members("/".join(parts[i + 1 :]), suffixes))
    return (inner,)


def split_archive_path(
    path: str | os.PathLike[str], suffixes: Sequence[str] = DEFAULT_ARCHIVE_SUFFIXES
) -> ArchivePath | None:
    """Resolve ``path`` by the module's rules; None when it names no archive member or root."""
    text = os.fspath(path)
    lowered = tuple(s.lower() for s in suffixes)
    if EXPLICIT_SEPARATOR in text:
        archive, *members = text.split(EXPLICIT_SEPARATOR)
        return ArchivePath(archive, tuple(members))
    if not lowered:
        return None
    root, parts = _split_url(text)
    for i, part in enumerate(parts[:-1]):
        if part.lower().endswith(lowered):
            archive = root + "/".join(parts[: i + 1])
            if not is_url(text) and os.path.isfile(text):
                return None  # rule 4: an existing local file wins
            inner = "/".join(parts[i + 1 :])
            return ArchivePath(archive, _split_members(inner, lowered) if inner else ("",))
    return None


# --- the process-level archive cache --------------------------------------------------------

_CACHE_CAPACITY = 32
_cache: OrderedDict[tuple[str, str], ZipArchive] = OrderedDict()
_cache_lock = threading.Lock()


def _options_key(options: OpenOptions) -> str:
    return repr(sorted((k, repr(v)) for k, v in options.items()))


def _archive(
    target: str | MemberSource, options: OpenOptions, *, fresh: bool = False
) -> ZipArchive:
    """An open archive for ``target``, listed once per process (LRU of 32)."""
    url = target if isinstance(target, str) else target.url
    key = (url, _options_key(options))
    with _cache_lock:
        archive = _cache.get(key)
        if archive is not None and not fresh and not archive.closed:
            _cache.move_to_end(key)
            return archive
    archive = ZipArchive(target, **options)
    with _cache_lock:
        _cache[key] = archive
        while len(_cache) > _CACHE_CAPACITY:
            _cache.popitem(last=False)  # dropped, not closed: open members may still use it
    return archive


def archive_for(target: str, options: OpenOptions) -> ZipArchive:
    """The process-wide open archive for ``target`` and ``options`` (listed once)."""
    return _archive(target, options)


def clear_archive_cache() -> None:
    """Close and forget every archive that :func:`open`, :func:`listdir` and :func:`stat` listed.

    Member files opened from them stop working.
    """
    with _cache_lock:
        archives = list(_cache.values())
        _cache.clear()
    for archive in archives:
        archive.close()


def _resolve(
    resolved: ArchivePath, options: OpenOptions, *, fresh: bool = False
) -> tuple[ZipArchive, str]:
    """The innermost archive and the member path in it."""
    archive = _archive(resolved.archive, options, fresh=fresh)
    for name in resolved.members[:-1]:
        archive = _archive(MemberSource(archive, _member(archive, name)), options, fresh=fresh)
    return archive, resolved.members[-1]


def _with_retry_on_change(resolved: ArchivePath, options: OpenOptions, action: Any) -> Any:
    """Run ``action(archive, member)``; once more with a fresh listing if the object changed."""
    try:
        return action(*_resolve(resolved, options))
    except SourceChangedError:
        return action(*_resolve(resolved, options, fresh=True))


# --- open / listdir / stat ------------------------------------------------------------------


def open(
    path: str | os.PathLike[str],
    mode: str = "rb",
    *,
    encoding: str | None = None,
    errors: str | None = None,
    newline: str | None = None,
    archive_suffixes: Sequence[str] = DEFAULT_ARCHIVE_SUFFIXES,
    **options: Unpack[OpenOptions],
) -> IO[Any]:
    """Open a file, an object, or a member inside an archive, read-only.

    ``mode`` is ``"rb"`` (a seekable binary file) or ``"r"``/``"rt"`` (text, with
    ``encoding``, ``errors`` and ``newline`` as for the builtin). Options are those of
    :func:`fastzips3.open_archive`. Repeated opens of members of one archive list it once.

    Errors are fastzips3's, and the builtins ``open`` raises: a missing member or local file
    raises :class:`~fastzips3.errors.PathNotFoundError` (a :class:`FileNotFoundError`), a
    directory :class:`~fastzips3.errors.PathIsADirectoryError`, a missing archive or object
    :class:`~fastzips3.errors.SourceNotFoundError` (a :class:`FileNotFoundError` too), a damaged
    archive a :class:`~fastzips3.errors.FormatError` (a :class:`zipfile.BadZipFile`).
    """
    if mode not in ("r", "rt", "rb"):
        raise ValueError(
            f"fastzips3.open is read-only: mode must be 'rb', 'r' or 'rt', not {mode!r}"
        )
    resolved = split_archive_path(path, archive_suffixes)
    binary: IO[bytes]
    if resolved is None:
        text = os.fspath(path)
        if is_url(text) and not text.startswith("file://"):
            binary = io.BufferedReader(RemoteFile(text, **options), buffer_size=1 << 20)
        else:
            local = text[7:] if text.startswith("file://") else text
            try:
                binary = builtins.open(local, "rb")  # noqa: SIM115 - returned to the caller
            except OSError as exc:
                raise PathError.from_os_error(exc) from exc
    else:
        if resolved.members[-1] in ("", "/"):
            text = os.fspath(path)
            raise PathIsADirectoryError(f"{text} is an archive root, not a member", path=text)

        def _open(archive: ZipArchive, member: str) -> IO[bytes]:
            entry = _member(archive, member)
            if entry.is_dir():
                raise PathIsADirectoryError(
                    f"{member!r} is a directory in {archive.url}", path=_inside(archive, member)
                )
            return cast(IO[bytes], archive.open(entry))

        binary = _with_retry_on_change(resolved, options, _open)
    if mode == "rb":
        return binary
    return io.TextIOWrapper(binary, encoding=encoding, errors=errors, newline=newline)


@dataclass(frozen=True, slots=True)
class PathInfo:
    """What :func:`stat` reports. Member-only fields are None for plain files and objects."""

    size: int
    is_dir: bool
    in_archive: bool
    mtime: float | None = None
    compress_size: int | None = None
    crc: int | None = None
    method: str | None = None


def _inside(archive: ZipArchive, member: str) -> str:
    """How errors name a path inside an archive: ``archive!/member``."""
    return f"{archive.url}!/{member}"


def _member(archive: ZipArchive, member: str) -> ZipEntry:
    """The entry, or the errors the builtin open would raise (as fastzips3 errors)."""
    if member not in archive:
        prefix = member.rstrip("/") + "/"
        if prefix in archive or any(n.startswith(prefix) for n in archive.namelist()):
            # an explicit directory entry, or one implied by the members below it
            raise PathIsADirectoryError(
                f"{member!r} is a directory in {archive.url}", path=_inside(archive, member)
            )
        raise PathNotFoundError(
            f"no member {member!r} in {archive.url}", path=_inside(archive, member)
        )
    return archive.getinfo(member)


def _dir_names(archive: ZipArchive, member: str) -> list[str]:
    prefix = member.strip("/")
    prefix = prefix + "/" if prefix else ""
    names: dict[str, None] = {}
    found = not prefix
    for name in archive.namelist():
        if not name.startswith(prefix):
            continue
        found = True
        rest = name[len(prefix) :]
        if not rest:
            continue
        head, sep, _ = rest.partition("/")
        names[head + sep] = None
    if not found:
        raise PathNotFoundError(
            f"no member or directory {member!r} in {archive.url}", path=_inside(archive, member)
        )
    return list(names)


def listdir(
    path: str | os.PathLike[str],
    *,
    archive_suffixes: Sequence[str] = DEFAULT_ARCHIVE_SUFFIXES,
    **options: Unpack[OpenOptions],
) -> list[str]:
    """Names directly inside a directory of an archive (an archive path lists its root).

    Subdirectories end with ``/``; directories that only exist implicitly (as the prefix of a
    member) are listed too. A plain local directory is listed with :func:`os.listdir`.

    A missing directory raises :class:`~fastzips3.errors.PathNotFoundError` (a
    :class:`FileNotFoundError`); other errors are as for :func:`open`.
    """
    text = os.fspath(path)
    suffixes = tuple(s.lower() for s in archive_suffixes)
    resolved = split_archive_path(text, archive_suffixes)
    if resolved is None:
        if text.rstrip("/").lower().endswith(suffixes):
            resolved = ArchivePath(text.rstrip("/"), ("",))
        elif not is_url(text):
            try:
                return os.listdir(text)
            except OSError as exc:
                raise PathError.from_os_error(exc) from exc
        else:
            raise PathNotADirectoryError(
                f"{text} is not an archive or a directory inside one", path=text
            )
    names: list[str] = _with_retry_on_change(resolved, options, _dir_names)
    return names


def stat(
    path: str | os.PathLike[str],
    *,
    archive_suffixes: Sequence[str] = DEFAULT_ARCHIVE_SUFFIXES,
    **options: Unpack[OpenOptions],
) -> PathInfo:
    """Size and kind of a member, an archive directory, a plain object or a local file.

    A missing path raises :class:`~fastzips3.errors.PathNotFoundError` (a
    :class:`FileNotFoundError`); other errors are as for :func:`open`.
    """
    text = os.fspath(path)
    resolved = split_archive_path(text, archive_suffixes)
    if resolved is None:
        if is_url(text) and not text.startswith("file://"):
            with RemoteFile(text, **options) as f:
                return PathInfo(size=f.size, is_dir=False, in_archive=False)
        local = text[7:] if text.startswith("file://") else text
        try:
            st = os.stat(local)
        except OSError as exc:
            raise PathError.from_os_error(exc) from exc
        return PathInfo(
            size=st.st_size,
            is_dir=stat_module.S_ISDIR(st.st_mode),
            in_archive=False,
            mtime=st.st_mtime,
        )

    def _stat(archive: ZipArchive, member: str) -> PathInfo:
        if member.strip("/") == "" or (member.rstrip("/") + "/") in archive:
            return PathInfo(size=0, is_dir=True, in_archive=True)
        if member in archive:
            entry = archive.getinfo(member)
            mtime = entry.mtime if entry.mtime is not None else _dos_mtime(entry.date_time)
            return PathInfo(
                size=entry.file_size,
                is_dir=entry.is_dir(),
                in_archive=True,
                mtime=float(mtime),
                compress_size=entry.compress_size,
                crc=entry.crc,
                method=entry.method_name,
            )
        _dir_names(archive, member)  # an implicit directory, or PathNotFoundError
        return PathInfo(size=0, is_dir=True, in_archive=True)

    info: PathInfo = _with_retry_on_change(resolved, options, _stat)
    return info


def _dos_mtime(date_time: tuple[int, int, int, int, int, int]) -> float:
    import calendar

    year, month, day, hour, minute, second = date_time
    try:
        return float(calendar.timegm((year, max(month, 1), max(day, 1), hour, minute, second)))
    except (ValueError, OverflowError):
        return 0.0

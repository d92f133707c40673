"""The fsspec filesystem ``fastzips3://``: members of a remote ZIP through fastzips3's request plan.

This is the only module that imports fsspec (``pip install "fastzips3[fsspec]"``). It follows
fsspec's chaining convention::

    pandas.read_csv("fastzips3://dir/table.csv::s3://bucket/a.zip",
                    storage_options={"s3": {"endpoint_url": "...", "anon": False}})

The archive is listed once per filesystem instance (one suffix GET); ``open``, ``cat_file``
and ``cat_ranges`` go through fastzips3's member reader (one GET per member, parallel prefetch
for large ones, the block cache for random reads of stored members), not through fsspec's
generic caches. ``cat`` and ``cat_ranges`` over many paths read the small members among them
together (:meth:`~fastzips3.ZipArchive.iter_members`: runs of adjacent members in one GET).
Options in the target's ``storage_options`` use s3fs's names (``anon``, ``key``, ``secret``,
``token``, ``endpoint_url``, ``client_kwargs``, ``profile``, ``requester_pays``); fastzips3's
own options (``tail_size``, ``password``, ...) go to the ``fastzips3`` level.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from fsspec.archive import AbstractArchiveFileSystem

from fastzips3.archive import ZipArchive
from fastzips3.errors import (
    FormatError,
    PasswordError,
    PathIsADirectoryError,
    PathNotFoundError,
    UnsupportedError,
)
from fastzips3.options import OpenOptions

__all__ = ["FastZipS3FileSystem", "archive_url", "source_options_from_fsspec"]

_LOCAL = (None, "", "file", "local")
#: Members up to this size are read together by ``cat`` and ``cat_ranges`` of many paths.
_SMALL = 8 << 20


def archive_url(fo: str, target_protocol: str | None) -> str:
    """The archive's URL from fsspec's ``fo`` and ``target_protocol``."""
    if "://" in fo or target_protocol in _LOCAL:
        return fo
    return f"{target_protocol}://{fo}"


def source_options_from_fsspec(options: dict[str, Any]) -> OpenOptions:
    """Map s3fs-style storage options onto fastzips3's source options."""
    opts = dict(options)
    client_kwargs = dict(opts.pop("client_kwargs", None) or {})
    out: dict[str, Any] = {}
    endpoint = opts.pop("endpoint_url", None) or client_kwargs.get("endpoint_url")
    if endpoint:
        out["endpoint_url"] = endpoint
    region = opts.pop("region", None) or client_kwargs.get("region_name")
    if region:
        out["region"] = region
    if opts.pop("anon", False):
        out["anonymous"] = True
    for ours, theirs in (
        ("aws_access_key_id", "key"),
        ("aws_secret_access_key", "secret"),
        ("aws_session_token", "token"),
        ("profile", "profile"),
        ("requester_pays", "requester_pays"),
        ("version_id", "version_id"),
        ("headers", "headers"),
    ):
        value = opts.pop(theirs, None)
        if value:
            out[ours] = value
    return out  # type: ignore[return-value]


class FastZipS3FileSystem(AbstractArchiveFileSystem):  # type: ignore[misc]
    """Read-only view of one ZIP archive's members, served by fastzips3.

    ``fo`` is the archive (a URL or path, or the path part of a chained URL, with
    ``target_protocol`` and ``target_options`` as fsspec passes them).
    """

    protocol = "fastzips3"
    root_marker = ""

    def __init__(
        self,
        fo: str = "",
        mode: str = "r",
        target_protocol: str | None = None,
        target_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if mode != "r":
            raise ValueError("the fastzips3 filesystem is read-only")
        own = {k: kwargs.pop(k) for k in list(kwargs) if k in OpenOptions.__annotations__}
        super().__init__(**kwargs)
        if not fo:
            raise ValueError(
                "fastzips3:// needs the archive: chain it (fastzips3://x::s3://b/a.zip)"
            )
        self.fo = archive_url(str(fo), target_protocol)
        options: dict[str, Any] = dict(source_options_from_fsspec(target_options or {}))
        options.update(own)
        self.archive = ZipArchive(self.fo, **options)
        self.dir_cache: dict[str, dict[str, Any]] | None = None

    @classmethod
    def _strip_protocol(cls, path: str | list[str]) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = path.split("::", 1)[0]
        if path.startswith("fastzips3://"):
            path = path[len("fastzips3://") :]
        return path.lstrip("/")

    def _get_dirs(self) -> None:
        if self.dir_cache is not None:
            return
        entries = self.archive.entries()
        cache: dict[str, dict[str, Any]] = {
            name: {"name": name, "size": 0, "type": "directory"}
            for name in self._all_dirnames([e.name.rstrip("/") for e in entries])
        }
        for entry in entries:
            name = entry.name.rstrip("/")
            cache[name] = {
                "name": name,
                "size": 0 if entry.is_dir() else entry.file_size,
                "type": "directory" if entry.is_dir() else "file",
                "compressed_size": entry.compress_size,
                "crc": entry.crc,
                "method": entry.method_name,
                "date_time": entry.date_time,
            }
        self.dir_cache = cache

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """What the archive says about ``path``: a member or a directory.

        A missing path raises :class:`~fastzips3.errors.PathNotFoundError` (a
        :class:`FileNotFoundError`, as fsspec expects).
        """
        try:
            found: dict[str, Any] = super().info(path, **kwargs)
        except FileNotFoundError as exc:
            if isinstance(exc, PathNotFoundError):
                raise
            name = self._strip_protocol(path)
            raise PathNotFoundError(
                f"no member or directory {name!r} in {self.archive.url}",
                path=f"{self.archive.url}!/{name}",
            ) from None
        return found

    def _member(self, path: str) -> str:
        name = self._strip_protocol(path)
        info = self.info(name)
        if info["type"] != "file":
            raise PathIsADirectoryError(
                f"{name!r} is a directory in {self.archive.url}",
                path=f"{self.archive.url}!/{name}",
            )
        return str(info["name"])

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        if "r" not in mode or "+" in mode:
            raise ValueError("the fastzips3 filesystem is read-only")
        return self.archive.open(self._member(path))

    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        """A member's bytes, or a slice of them (negative positions count from the end)."""
        name = self._member(path)
        size = self.archive.getinfo(name).file_size
        lo = 0 if start is None else (start + size if start < 0 else start)
        hi = size if end is None else (end + size if end < 0 else end)
        lo, hi = max(0, min(lo, size)), max(0, min(hi, size))
        if hi <= lo:
            return b""
        with self.archive.open(name) as f:
            if lo:
                f.seek(lo)
            return f.read(hi - lo)

    def cat(
        self, path: str | list[str], recursive: bool = False, on_error: str = "raise", **kwargs: Any
    ) -> bytes | dict[str, bytes | Exception]:
        """Members' bytes: one member's bytes, or ``{path: bytes}`` for a list, a glob or a
        recursive path (as fsspec's ``cat``); small members come many to a GET."""
        paths = self.expand_path(path, recursive=recursive)
        single = isinstance(path, str) and len(paths) == 1 and not self._is_glob(path)
        names = [self._strip_protocol(p) for p in paths]
        files = [n for n in names if self.isfile(n)]
        held = self._read_small(files)
        out: dict[str, bytes | Exception] = {}
        for p, name in zip(paths, names, strict=True):
            if name in held:
                out[p] = held[name]
                continue
            try:
                out[p] = self.cat_file(name)
            except Exception as exc:
                if on_error == "raise":
                    raise
                if on_error == "return":
                    out[p] = exc
        if single:
            value = out[paths[0]]
            if isinstance(value, Exception):
                raise value
            return value
        return out

    @staticmethod
    def _is_glob(path: str) -> bool:
        return any(c in path for c in "*?[")

    def _read_small(self, names: list[str]) -> dict[str, bytes]:
        """The contents of the members of ``names`` up to 8 MiB, read together (coalesced
        GETs); a member that fails is left out (its own read then reports it)."""
        small = [n for n in dict.fromkeys(names) if self.archive.getinfo(n).file_size <= _SMALL]
        if len(small) < 2:
            return {}
        held: dict[str, bytes] = {}
        with contextlib.suppress(FormatError, PasswordError, UnsupportedError):
            # Raised after every sound member arrived: the bad ones are read again one by
            # one, which reports each error against its own path.
            for entry, data in self.archive.iter_members(small):
                held[entry.name] = data
        return held

    def cat_ranges(
        self,
        paths: list[str],
        starts: int | list[int] | None,
        ends: int | list[int] | None,
        max_gap: int | None = None,
        on_error: str = "return",
        **kwargs: Any,
    ) -> list[bytes | Exception]:
        """Slices of members; each member is opened once, its ranges read in order."""
        count = len(paths)
        starts_list: list[int | None] = (
            list(starts) if isinstance(starts, list) else [starts] * count
        )
        ends_list: list[int | None] = list(ends) if isinstance(ends, list) else [ends] * count
        if len(starts_list) != count or len(ends_list) != count:
            raise ValueError("paths, starts and ends must have the same length")
        out: list[bytes | Exception] = [b""] * count
        by_member: dict[str, list[int]] = {}
        for i, path in enumerate(paths):
            by_member.setdefault(self._strip_protocol(path), []).append(i)
        files = [m for m in by_member if self.isfile(m)]
        held = self._read_small(files)
        for member, content in held.items():
            size = len(content)
            for i in by_member.pop(member):
                lo = starts_list[i] or 0
                end = ends_list[i]
                hi = size if end is None else end
                lo = lo + size if lo < 0 else lo
                hi = hi + size if hi < 0 else hi
                lo, hi = max(0, min(lo, size)), max(0, min(hi, size))
                out[i] = content[lo:hi] if hi > lo else b""
        for member, indices in by_member.items():
            order = sorted(indices, key=lambda i: starts_list[i] or 0)
            try:
                self._cat_member_ranges(member, order, starts_list, ends_list, out)
            except Exception as exc:
                if on_error != "return":
                    raise
                for i in order:
                    out[i] = exc
        return out

    def _cat_member_ranges(
        self,
        member: str,
        order: Iterable[int],
        starts: list[int | None],
        ends: list[int | None],
        out: list[bytes | Exception],
    ) -> None:
        name = self._member(member)
        size = self.archive.getinfo(name).file_size
        with self.archive.open(name) as f:
            for i in order:
                lo = starts[i] or 0
                hi = size if ends[i] is None else ends[i]
                assert hi is not None
                lo = lo + size if lo < 0 else lo
                hi = hi + size if hi < 0 else hi
                lo, hi = max(0, min(lo, size)), max(0, min(hi, size))
                f.seek(lo)
                out[i] = f.read(hi - lo) if hi > lo else b""

    def close(self) -> None:
        """Release the archive."""
        self.archive.close()

"""A small on-disk cache of bytes derived from remote objects, kept between runs.

Two kinds of entry use it: listings (``directories/``: the end of an object from its central
directory on, so reopening costs one conditional request, or none within a TTL) and deflate
checkpoint indexes (``indexes/``). Each entry records the object version (size, ETag) it was
derived from; callers compare it with the version they pin, and every GET stays pinned with
``If-Match``, so a stale entry can never yield wrong bytes.

Entries are versioned, zlib-compressed files named by a SHA-256 of their identity, with a
SHA-256 of their content. A listing's member bytes before its central directory are stored
plain: they are compressed already. A corrupt or unreadable entry is deleted and ignored. Each
directory is capped in bytes (oldest entries go first). Failing to write is never an error. A
write can go to a background thread (the listing is not kept waiting on it); reading or
dropping that entry in this process waits for it, and the process waits for it before exiting.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fastzips3.sources.base import ObjectVersion

if TYPE_CHECKING:
    import logging

# hashlib, json, logging and tempfile are imported where they are used: together they cost
# about 5 ms of ``import fastzips3``, and only a cache read or write needs them.

__all__ = ["CachedBlob", "DiskCache", "cache_key", "default_cache_dir", "wait_for_writes"]


def _log() -> logging.Logger:
    import logging

    return logging.getLogger("fastzips3.cache")


#: Version 2 stores a plain prefix before the compressed part; version 1 entries still read.
_MAGIC = b"fastzips3-directory-cache 2\n"
_MAGIC_V1 = b"fastzips3-directory-cache 1\n"
#: zlib level of entries: on a 7.5 MB directory, level 1 took 27 ms for 1.15 MB and level 6
#: 91 ms for 1.10 MB.
_LEVEL = 1

#: Cache directories this process has made (or found): no ``mkdir`` per write.
_made_roots: set[Path] = set()
#: Numbers the temporary files of this process.
_serial = itertools.count()
#: Bytes known to be in each cache directory (one scan per process, then this process's writes).
_usage_lock = threading.Lock()
_usage: dict[Path, int] = {}


class _Writer:
    """Background writes, in order, on one thread at a time.

    A thread per write cost about 0.4 ms of CPU more than the write itself (a manifest of
    1,000 archives makes 1,000 writes). The thread is not a daemon, so the interpreter
    finishes the queue before it exits; it ends once the queue has been empty for
    ``_LINGER`` seconds, so an exiting process waits at most that long for it, and a new
    write starts another. A forked child starts with an empty queue.
    """

    _LINGER = 0.02

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._queue: deque[tuple[Path, Callable[[], None]]] = deque()
        self._pending: dict[Path, int] = {}
        self._thread: threading.Thread | None = None
        self._idle = False

    def submit(self, path: Path, write: Callable[[], None]) -> None:
        """Run ``write`` (which writes ``path``) on the writer thread."""
        with self._cond:
            self._queue.append((path, write))
            self._pending[path] = self._pending.get(path, 0) + 1
            if self._thread is None:
                # A threading thread, not a low-level one: joined at exit, and reset at fork.
                self._thread = threading.Thread(target=self._run, name="fastzips3-cache-write")
                self._thread.start()
            elif self._idle:
                self._cond.notify_all()  # only an idle writer needs waking (each wake-up costs)

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._queue:
                    self._idle = True
                    self._cond.wait(self._LINGER)
                    self._idle = False
                if not self._queue:
                    self._thread = None
                    return
                path, write = self._queue.popleft()
            try:
                write()
            except BaseException as exc:  # a write must never stop the queue
                _log().debug("directory cache write failed: %r", exc)
            finally:
                with self._cond:
                    left = self._pending[path] - 1
                    if left:
                        self._pending[path] = left
                    else:
                        del self._pending[path]
                    self._cond.notify_all()

    def wait(self, path: Path | None = None) -> None:
        """Wait until the writes of ``path`` (None: every write) have finished."""
        if path is not None and path not in self._pending:
            return  # the common case, without the lock (many listing threads ask at once)
        with self._cond:
            if self._thread is threading.current_thread():
                return
            while (path in self._pending) if path is not None else bool(self._pending):
                self._cond.wait()

    def reset(self) -> None:
        """Forget every queued write (in a forked child, whose copy of the queue is not its own)."""
        self._cond = threading.Condition(threading.Lock())
        self._queue.clear()
        self._pending.clear()
        self._thread = None
        self._idle = False


_writer = _Writer()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_writer.reset)


def wait_for_writes() -> None:
    """Wait until every background write of this process has finished."""
    _writer.wait()


def _wait_for_write(path: Path) -> None:
    _writer.wait(path)


def _read_file(path: Path, chunk: int = 1 << 20) -> bytes:
    """The file's bytes, in as few system calls as a small file allows (open, read, close).

    ``Path.read_bytes`` makes about seven, and each one hands the GIL over: a manifest's 64
    listing threads reading their cached directories spent twice the context switches of a
    cold run on them.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    try:
        data = os.read(fd, chunk)
        if len(data) < chunk:
            return data
        parts = [data]
        while block := os.read(fd, chunk):
            parts.append(block)
        return b"".join(parts)
    finally:
        os.close(fd)


def default_cache_dir(kind: str = "directories") -> Path:
    """``$FASTZIPS3_CACHE_DIR/kind``, else ``kind`` in the user's cache dir for fastzips3."""
    override = os.environ.get("FASTZIPS3_CACHE_DIR")
    if override:
        return Path(override) / kind
    try:
        import platformdirs
    except ImportError:  # pragma: no cover - a dependency
        return Path.home() / ".cache" / "fastzips3" / kind
    return Path(platformdirs.user_cache_dir("fastzips3")) / kind


def cache_key(url: str, *, endpoint: str | None, version_id: str | None) -> str:
    """Identity of an object: endpoint, URL without its query string, pinned version id."""
    import hashlib
    import json

    bare = url.split("?", 1)[0]
    ident = json.dumps([endpoint or "", bare, version_id or ""])
    return hashlib.sha256(ident.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class CachedBlob:
    """``data`` derived from ``version`` of an object; ``start`` is the caller's (for a listing:
    where in the object ``data`` begins)."""

    version: ObjectVersion
    start: int
    data: bytes
    validated_at: float


class DiskCache:
    """A size-capped directory of cached entries."""

    def __init__(
        self, root: Path | None = None, *, kind: str = "directories", max_bytes: int = 256 << 20
    ) -> None:
        self.root = root or default_cache_dir(kind)
        self.max_bytes = max_bytes

    def _path(self, key: str) -> Path:
        return self.root / f"{key}.zsdc"

    def get(self, key: str) -> CachedBlob | None:
        """The entry for ``key``, or None (missing, corrupt or unreadable: then deleted)."""
        import hashlib
        import json

        path = self._path(key)
        _wait_for_write(path)
        try:
            raw = _read_file(path)
        except OSError:
            return None
        try:
            if raw.startswith(_MAGIC):
                magic = _MAGIC
            elif raw.startswith(_MAGIC_V1):
                magic = _MAGIC_V1
            else:
                raise ValueError("bad magic")
            header_end = raw.index(b"\n", len(magic))
            header = json.loads(raw[len(magic) : header_end])
            plain = int(header["plain"]) if magic is _MAGIC else 0
            body = header_end + 1
            if plain < 0 or body + plain > len(raw):
                raise ValueError("bad plain length")
            data = raw[body : body + plain] + zlib.decompress(raw[body + plain :])
            if hashlib.sha256(data).hexdigest() != header["sha256"]:
                raise ValueError("checksum mismatch")
            version = ObjectVersion(
                size=int(header["size"]), etag=header["etag"], version_id=header["version_id"]
            )
            start = int(header["start"])
            if start < 0:
                raise ValueError("negative start")
            return CachedBlob(version, start, data, float(header["validated_at"]))
        except (
            ValueError,
            KeyError,
            TypeError,
            zlib.error,
        ) as exc:  # JSONDecodeError is a ValueError
            _log().debug("dropping corrupt directory cache entry %s: %s", path, exc)
            self.invalidate(key)
            return None

    def put(
        self, key: str, entry: CachedBlob, *, background: bool = False, compress_from: int = 0
    ) -> None:
        """Store ``entry`` (atomically); errors are logged at debug level and ignored.

        The first ``compress_from`` bytes of the data are stored as they are: for a listing
        they are member data, mostly compressed already, and deflating 256 KiB of it again
        costs about 5 ms of CPU for nothing. With ``background``, compressing and writing
        happen on the cache's writer thread.
        """
        path = self._path(key)
        plain = min(max(0, compress_from), len(entry.data))
        _wait_for_write(path)
        if not background:
            self._write(key, entry, plain)
            return

        _writer.submit(path, lambda: self._write(key, entry, plain))

    def _create_temporary(self) -> tuple[str, int]:
        """A new temporary file in the directory (made if need be): its name and descriptor.

        Named by process, thread and a counter (cheaper than ``tempfile.mkstemp``'s random
        names), created exclusively, readable by the owner only.
        """
        if self.root not in _made_roots:
            self.root.mkdir(parents=True, exist_ok=True)
            _made_roots.add(self.root)
        name = os.path.join(
            self.root, f".tmp-{os.getpid()}-{threading.get_ident()}-{next(_serial)}.zsdc"
        )
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        return name, os.open(name, flags | getattr(os, "O_BINARY", 0), 0o600)

    def _write(self, key: str, entry: CachedBlob, plain: int) -> None:
        import hashlib
        import json

        data = entry.data
        header = {
            "size": entry.version.size,
            "etag": entry.version.etag,
            "version_id": entry.version.version_id,
            "start": entry.start,
            "validated_at": entry.validated_at,
            "sha256": hashlib.sha256(data).hexdigest(),
            "plain": plain,
        }
        blob = b"".join(
            (
                _MAGIC,
                json.dumps(header).encode(),
                b"\n",
                data[:plain],
                zlib.compress(memoryview(data)[plain:], _LEVEL),
            )
        )
        try:
            try:
                tmp = self._create_temporary()
            except FileNotFoundError:  # the directory was removed meanwhile: make it again
                _made_roots.discard(self.root)
                tmp = self._create_temporary()
            name, fd = tmp
            try:
                with open(fd, "wb", buffering=0, closefd=True) as f:
                    f.write(blob)
                os.replace(name, self._path(key))
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(name)
                raise
            self._account(len(blob))
        except OSError as exc:
            _log().debug("could not write the directory cache in %s: %s", self.root, exc)

    def touch(self, key: str, entry: CachedBlob) -> None:
        """Record that ``entry`` was just revalidated."""
        self.put(key, CachedBlob(entry.version, entry.start, entry.data, validated_at=time.time()))

    def invalidate(self, key: str) -> None:
        """Forget ``key``."""
        _wait_for_write(self._path(key))
        with contextlib.suppress(OSError):
            self._path(key).unlink()

    def _account(self, written: int) -> None:
        """Count ``written`` bytes against the cap; scan and evict only past it.

        Scanning the directory after every write cost 3 ms per write with 1,000 entries (a
        manifest of 1,000 archives spent 3.1 s of CPU on it). The bytes in each directory are
        known from one scan per process, then added up as this process writes; other
        processes' writes are seen at the next scan, so the cap is a bound this process keeps
        within one scan, not an exact one.
        """
        with _usage_lock:
            known = _usage.get(self.root)
            if known is not None and known + written <= self.max_bytes:
                _usage[self.root] = known + written
                return
        total = self._evict()
        with _usage_lock:
            _usage[self.root] = total

    def _evict(self) -> int:
        """Delete the oldest entries until the directory holds at most 3/4 of the cap (room
        for the next writes before another scan); its bytes then."""
        files = []
        for path in self.root.glob("*.zsdc"):
            with contextlib.suppress(OSError):
                st = path.stat()
                files.append((st.st_mtime, st.st_size, path))
        total = sum(size for _, size, _ in files)
        if total <= self.max_bytes:
            return total
        low_water = self.max_bytes * 3 // 4
        for _, size, path in sorted(files):
            if total <= low_water:
                break
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size
        return total

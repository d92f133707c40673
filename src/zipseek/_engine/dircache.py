"""The central-directory cache: the bytes that list an archive, kept on disk between runs.

An entry holds the end of the object from the central directory's first byte (the directory
and the end records), with the version (size, ETag) it was read from. Reopening the archive
then costs one conditional request (``If-None-Match``: 304 when unchanged) or, within an
opt-in TTL, none at all; every later GET is still pinned with ``If-Match``, so a stale entry
can never yield wrong bytes.

Entries are versioned, zlib-compressed files named by a SHA-256 of the object's identity, with
a SHA-256 of their content; a corrupt or unreadable entry is deleted and ignored. The directory
is capped in bytes (oldest entries go first). Failing to write is never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from zipseek.sources.base import ObjectVersion

__all__ = ["CachedDirectory", "DirectoryCache", "cache_key", "default_cache_dir"]

log = logging.getLogger("zipseek.cache")

_MAGIC = b"zipseek-directory-cache 1\n"


def default_cache_dir() -> Path:
    """``$ZIPSEEK_CACHE_DIR``, else the user's cache dir for zipseek (platformdirs)."""
    override = os.environ.get("ZIPSEEK_CACHE_DIR")
    if override:
        return Path(override) / "directories"
    try:
        import platformdirs
    except ImportError:  # pragma: no cover - a dependency
        return Path.home() / ".cache" / "zipseek" / "directories"
    return Path(platformdirs.user_cache_dir("zipseek")) / "directories"


def cache_key(url: str, *, endpoint: str | None, version_id: str | None) -> str:
    """Identity of an object: endpoint, URL without its query string, pinned version id."""
    bare = url.split("?", 1)[0]
    ident = json.dumps([endpoint or "", bare, version_id or ""])
    return hashlib.sha256(ident.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class CachedDirectory:
    """The listing bytes ``data`` = object bytes ``[start, version.size)``."""

    version: ObjectVersion
    start: int
    data: bytes
    validated_at: float


class DirectoryCache:
    """A size-capped directory of cached listings."""

    def __init__(self, root: Path | None = None, *, max_bytes: int = 256 << 20) -> None:
        self.root = root or default_cache_dir()
        self.max_bytes = max_bytes

    def _path(self, key: str) -> Path:
        return self.root / f"{key}.zsdc"

    def get(self, key: str) -> CachedDirectory | None:
        """The entry for ``key``, or None (missing, corrupt or unreadable: then deleted)."""
        path = self._path(key)
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        try:
            if not raw.startswith(_MAGIC):
                raise ValueError("bad magic")
            header_end = raw.index(b"\n", len(_MAGIC))
            header = json.loads(raw[len(_MAGIC) : header_end])
            data = zlib.decompress(raw[header_end + 1 :])
            if hashlib.sha256(data).hexdigest() != header["sha256"]:
                raise ValueError("checksum mismatch")
            version = ObjectVersion(
                size=int(header["size"]), etag=header["etag"], version_id=header["version_id"]
            )
            start = int(header["start"])
            if start < 0 or start + len(data) != version.size:
                raise ValueError("inconsistent extent")
            return CachedDirectory(version, start, data, float(header["validated_at"]))
        except (ValueError, KeyError, TypeError, zlib.error, json.JSONDecodeError) as exc:
            log.debug("dropping corrupt directory cache entry %s: %s", path, exc)
            self.invalidate(key)
            return None

    def put(self, key: str, entry: CachedDirectory) -> None:
        """Store ``entry`` (atomically); errors are logged at debug level and ignored."""
        header = {
            "size": entry.version.size,
            "etag": entry.version.etag,
            "version_id": entry.version.version_id,
            "start": entry.start,
            "validated_at": entry.validated_at,
            "sha256": hashlib.sha256(entry.data).hexdigest(),
        }
        blob = _MAGIC + json.dumps(header).encode() + b"\n" + zlib.compress(entry.data, 6)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-", suffix=".zsdc")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(blob)
                os.replace(tmp, self._path(key))
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            self._evict()
        except OSError as exc:
            log.debug("could not write the directory cache in %s: %s", self.root, exc)

    def touch(self, key: str, entry: CachedDirectory) -> None:
        """Record that ``entry`` was just revalidated."""
        self.put(
            key, CachedDirectory(entry.version, entry.start, entry.data, validated_at=time.time())
        )

    def invalidate(self, key: str) -> None:
        """Forget ``key``."""
        with contextlib.suppress(OSError):
            self._path(key).unlink()

    def _evict(self) -> None:
        files = []
        for path in self.root.glob("*.zsdc"):
            with contextlib.suppress(OSError):
                st = path.stat()
                files.append((st.st_mtime, st.st_size, path))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.max_bytes:
                break
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size

"""FsspecSource: any fsspec filesystem (gcs://, az://, abfs://, ...). Needs fastzips3[fsspec]."""

from __future__ import annotations

import io
from typing import Any

from fastzips3.errors import SourceError, SourceNotFoundError, SourcePermissionError
from fastzips3.sources.base import BaseSource, ObjectVersion, RangeStream, TailRead

__all__ = ["FsspecSource"]


class FsspecSource(BaseSource):
    """An object on an fsspec filesystem, read with ``cat_file(path, start, end)``.

    fsspec gives no common way to pin a version, so the source compares size and ETag (when the
    filesystem reports one) from ``info()`` at open.
    """

    def __init__(self, url: str, *, storage_options: dict[str, Any] | None = None) -> None:
        super().__init__(url)
        try:
            import fsspec
        except ImportError as exc:
            raise SourceError(
                f"reading {url.split('://')[0]}:// URLs needs fsspec: "
                "pip install fastzips3[fsspec]",
                url=url,
            ) from exc
        try:
            self._fs, self._path = fsspec.core.url_to_fs(url, **(storage_options or {}))
        except (ImportError, ValueError) as exc:
            raise SourceError(f"cannot open {url}: {exc}", url=url) from exc

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except FileNotFoundError as exc:
            raise SourceNotFoundError(f"not found: {exc}", url=self._url) from exc
        except PermissionError as exc:
            raise SourcePermissionError(f"access denied: {exc}", url=self._url) from exc
        except Exception as exc:  # fsspec back-ends raise anything; this is the boundary
            raise SourceError(f"{what} failed: {type(exc).__name__}: {exc}", url=self._url) from exc

    def _ensure_version(self) -> ObjectVersion:
        if self._version is None:
            info = self._call("info", self._fs.info, self._path)
            etag = info.get("ETag") or info.get("etag") or info.get("md5Hash")
            self._pin(ObjectVersion(size=int(info["size"]), etag=str(etag) if etag else None))
        assert self._version is not None
        return self._version

    def read_tail(self, length: int) -> TailRead:
        """``info()`` for the size, then one ranged read."""
        version = self._ensure_version()
        start = max(0, version.size - length)
        return TailRead(self.read_range(start=start, end=version.size), start, version)

    def open_range(self, *, start: int, end: int) -> RangeStream:
        """One ranged ``cat_file``."""
        self._ensure_version()
        self._check_range(start, end)
        data = self._call("cat_file", self._fs.cat_file, self._path, start, end)
        return io.BytesIO(bytes(data))

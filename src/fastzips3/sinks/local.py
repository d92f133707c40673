"""LocalSink: a local file written as a temporary file beside it, renamed into place at the end.

Nothing is visible at the target before :meth:`LocalSink.commit`; a failure deletes the
temporary file. Without ``overwrite`` the final step is a hard link, which fails when the
target exists (no race between a check and the rename).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from fastzips3.errors import DestinationExistsError, SourceError
from fastzips3.sinks.base import CopySpec, Fetch, SinkResult
from fastzips3.sinks.crc import crc32

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["LocalSink"]

_CHUNK = 8 << 20


class LocalSink:
    """A local file, written atomically (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str], *, overwrite: bool = True) -> None:
        self._path = Path(path)
        self._overwrite = overwrite
        if not overwrite and self._path.exists():
            raise DestinationExistsError(
                "the file exists; pass overwrite=True (CLI: -o) to replace it", url=str(path)
            )
        parent = self._path.parent
        try:
            fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{self._path.name}.", suffix=".tmp")
        except OSError as exc:
            raise SourceError(f"cannot create a file in {parent}: {exc.strerror}") from exc
        self._tmp = tmp
        self._file = os.fdopen(fd, "w+b")
        self._done = False

    @property
    def url(self) -> str:
        """The target path."""
        return str(self._path)

    @property
    def position(self) -> int:
        """Bytes written so far."""
        return self._file.tell()

    def write(self, data: Buffer) -> None:
        """Append ``data``."""
        self._file.write(data)

    def hold(self, start: int, end: int) -> int:
        """A file can always be patched: a dummy token."""
        return 0

    def patch(self, offset: int, data: bytes) -> None:
        """Overwrite bytes at ``offset``."""
        if _HAS_PWRITE:
            self._file.flush()  # a buffered write must not land over the patch later
            os.pwrite(self._file.fileno(), data, offset)
        else:
            self._seek_write(offset, data)

    def _seek_write(self, offset: int, data: bytes) -> None:
        here = self._file.tell()
        self._file.seek(offset)
        self._file.write(data)
        self._file.seek(here)

    def release(self, token: int) -> None:
        """Nothing to release."""

    def copy_range(self, spec: CopySpec, start: int, end: int, fetch: Fetch) -> int | None:
        """Append the bytes ``[start, end)``, fetched in 8 MiB pieces; their CRC-32."""
        crc = 0
        pos = start
        while pos < end:
            data = fetch(pos, min(end, pos + _CHUNK))
            if not data:
                raise SourceError("the copy source ended early", url=spec.url, range=(pos, end))
            crc = crc32(data, crc)
            self._file.write(data)
            pos += len(data)
        return crc

    def commit(self) -> SinkResult:
        """Flush and move the file into place."""
        self._file.flush()
        size = self._file.tell()
        self._file.close()
        try:
            if self._overwrite:
                os.replace(self._tmp, self._path)
            else:
                try:
                    os.link(self._tmp, self._path)
                except FileExistsError:
                    raise DestinationExistsError(
                        "the file exists; pass overwrite=True (CLI: -o) to replace it",
                        url=str(self._path),
                    ) from None
                os.unlink(self._tmp)
        except BaseException:
            self.abort()
            raise
        self._done = True
        return SinkResult(str(self._path), size, sent=size)

    def abort(self) -> None:
        """Delete the temporary file; idempotent."""
        if self._done:
            return
        self._done = True
        self._file.close()
        Path(self._tmp).unlink(missing_ok=True)

    def __enter__(self) -> LocalSink:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None or not self._done:
            self.abort()


_HAS_PWRITE = hasattr(os, "pwrite")

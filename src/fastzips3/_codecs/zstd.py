"""Method 93 (Zstandard; 20 is its older id) through ``zstandard``, or the standard library's
``compression.zstd`` on Python 3.14+. Extra: fastzips3[zstd]."""

from __future__ import annotations

from typing import Any

from fastzips3._codecs.base import IN_CHUNK, Decoder, Pull
from fastzips3.errors import CodecNotInstalledError, DecompressionError

__all__ = ["ZstdDecoder"]


class _PullFile:
    """A read-only file over a pull function, for zstandard's stream reader."""

    def __init__(self, pull: Pull) -> None:
        self._pull = pull

    def read(self, size: int = -1) -> bytes:
        return self._pull(IN_CHUNK if size is None or size < 0 else size)


class ZstdDecoder(Decoder):
    """Zstandard frames, read through a bounded stream reader."""

    def __init__(self, pull: Pull, *, method: int = 93, name: str | None = None) -> None:
        super().__init__(pull, name=name)
        self._eof = False
        self._reader: Any = None
        self._stdlib: Any = None
        self._input_done = False
        try:
            import zstandard
        except ImportError:
            try:
                from compression import zstd  # type: ignore[import-not-found,unused-ignore]
            except ImportError as exc:
                raise CodecNotInstalledError(
                    f"member {name!r} uses Zstandard (method {method}); install it with "
                    "pip install 'fastzips3[zstd]'",
                    method=method,
                    extra="zstd",
                    name=name,
                ) from exc
            self._stdlib = zstd.ZstdDecompressor()
            self._error: tuple[type[Exception], ...] = (zstd.ZstdError, EOFError)
            return
        self._error = (zstandard.ZstdError, EOFError, ValueError)
        source: Any = _PullFile(pull)
        self._reader = zstandard.ZstdDecompressor().stream_reader(
            source, read_size=IN_CHUNK, read_across_frames=True
        )

    def read(self, max_length: int) -> bytes:
        try:
            if self._reader is not None:
                out: bytes = self._reader.read(max_length)
                if not out:
                    self._eof = True
                return out
            return self._read_stdlib(max_length)
        except self._error as exc:
            raise DecompressionError(
                f"member {self._name!r}: corrupt Zstandard data ({exc})", name=self._name
            ) from exc

    def _read_stdlib(self, max_length: int) -> bytes:
        obj = self._stdlib
        while not obj.eof:
            data = b""
            if obj.needs_input:
                if self._input_done:
                    return b""
                data = self._pull(IN_CHUNK)
                if not data:
                    self._input_done = True
                    return b""
            out: bytes = obj.decompress(data, max_length)
            if out:
                return out
        self._eof = True
        return b""

    @property
    def eof(self) -> bool:
        return self._eof

    @property
    def self_terminating(self) -> bool:
        return False

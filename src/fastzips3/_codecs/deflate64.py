"""Method 9 (Deflate64, "enhanced deflate") through ``inflate64``. Extra: fastzips3[deflate64]."""

from __future__ import annotations

from typing import Any

from fastzips3._codecs.base import Decoder, Pull
from fastzips3.errors import CodecNotInstalledError, DecompressionError

__all__ = ["Deflate64Decoder"]

# inflate64 returns everything one input piece decodes to; deflate's worst case is about
# 1032:1, so 8 KiB pieces bound one call's output to about 8 MiB.
_PIECE = 8 << 10


class Deflate64Decoder(Decoder):
    """Deflate64 with output bounded per call by feeding small input pieces."""

    def __init__(self, pull: Pull, *, name: str | None = None) -> None:
        super().__init__(pull, name=name)
        try:
            import inflate64
        except ImportError as exc:
            raise CodecNotInstalledError(
                f"member {name!r} uses Deflate64 (method 9); install it with "
                "pip install 'fastzips3[deflate64]'",
                method=9,
                extra="deflate64",
                name=name,
            ) from exc
        self._obj: Any = inflate64.Inflater()
        self._out = b""
        self._out_pos = 0
        self._input_done = False

    def read(self, max_length: int) -> bytes:
        while self._out_pos >= len(self._out):
            if self._obj.eof or self._input_done:
                return b""
            data = self._pull(_PIECE)
            if not data:
                self._input_done = True
                return b""
            try:
                self._out = self._obj.inflate(data)
            except (ValueError, EOFError, OSError) as exc:
                raise DecompressionError(
                    f"member {self._name!r}: corrupt Deflate64 data ({exc})", name=self._name
                ) from exc
            self._out_pos = 0
        out = self._out[self._out_pos : self._out_pos + max_length]
        self._out_pos += len(out)
        return out

    @property
    def eof(self) -> bool:
        return bool(self._obj.eof) and self._out_pos >= len(self._out)

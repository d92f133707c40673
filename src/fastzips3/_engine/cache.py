"""A block cache: aligned blocks, least recently used out first, partial blocks allowed.

Blocks are aligned to ``block_size`` in object offsets. A block may hold only part of its span
(``lo`` > the block start, or fewer bytes), because fetches are clamped to a member's bounds so
that reading a member never touches bytes outside it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

__all__ = ["BlockCache"]


class BlockCache:
    """Thread-safe LRU of blocks, capped at ``max_bytes``."""

    def __init__(self, block_size: int, max_bytes: int) -> None:
        if block_size <= 0:
            raise ValueError("block_size must be positive")
        self.block_size = block_size
        self.max_bytes = max_bytes
        self._blocks: OrderedDict[int, tuple[int, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def _piece(self, index: int, start: int, end: int) -> bytes | None:
        """Bytes [start, end) from block ``index``, or None if the block lacks them."""
        entry = self._blocks.get(index)
        if entry is None:
            return None
        lo, data = entry
        if start < lo or end > lo + len(data):
            return None
        self._blocks.move_to_end(index)
        return data[start - lo : end - lo]

    def get(self, start: int, end: int) -> bytes | None:
        """All of ``[start, end)`` if cached, else None."""
        if end <= start:
            return b""
        bs = self.block_size
        pieces: list[bytes] = []
        with self._lock:
            for index in range(start // bs, (end - 1) // bs + 1):
                lo = max(start, index * bs)
                hi = min(end, (index + 1) * bs)
                piece = self._piece(index, lo, hi)
                if piece is None:
                    return None
                pieces.append(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def missing_blocks(self, start: int, end: int) -> list[int]:
        """Indices of the blocks that do not hold their part of ``[start, end)``."""
        bs = self.block_size
        out: list[int] = []
        with self._lock:
            for index in range(start // bs, (end - 1) // bs + 1):
                lo = max(start, index * bs)
                hi = min(end, (index + 1) * bs)
                if self._piece(index, lo, hi) is None:
                    out.append(index)
        return out

    def put(self, start: int, data: bytes) -> None:
        """Store ``data``, which holds the bytes from ``start`` on."""
        if self.max_bytes <= 0 or not data:
            return
        bs = self.block_size
        end = start + len(data)
        view = memoryview(data)
        with self._lock:
            for index in range(start // bs, (end - 1) // bs + 1):
                lo = max(start, index * bs)
                hi = min(end, (index + 1) * bs)
                old = self._blocks.get(index)
                if old is not None:
                    old_lo, old_data = old
                    if old_lo <= lo and old_lo + len(old_data) >= hi:
                        continue  # already holds at least this much
                    self._bytes -= len(old_data)
                    del self._blocks[index]
                # Data that is exactly one block's part is kept as it is: no copy.
                whole = lo == start and hi == end and type(data) is bytes
                piece = data if whole else bytes(view[lo - start : hi - start])
                self._blocks[index] = (lo, piece)
                self._bytes += len(piece)
            while self._bytes > self.max_bytes and self._blocks:
                _, (_, evicted) = self._blocks.popitem(last=False)
                self._bytes -= len(evicted)

    def clear(self) -> None:
        """Drop every block."""
        with self._lock:
            self._blocks.clear()
            self._bytes = 0

    @property
    def nbytes(self) -> int:
        """Bytes held."""
        return self._bytes

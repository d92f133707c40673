"""Small helpers shared by fastzips3's file objects."""

from __future__ import annotations

import io

__all__ = ["seek_target"]


def seek_target(offset: int, whence: int, *, pos: int, size: int) -> int:
    """The absolute position ``seek(offset, whence)`` asks for (it may be negative)."""
    if whence == io.SEEK_SET:
        return offset
    if whence == io.SEEK_CUR:
        return pos + offset
    if whence == io.SEEK_END:
        return size + offset
    raise ValueError(f"invalid whence {whence}")

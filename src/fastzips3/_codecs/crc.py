"""CRC-32 at full speed."""

from __future__ import annotations

import zlib
from collections.abc import Callable

from fastzips3._accel import CORE

__all__ = ["crc32"]

_fast_crc32: Callable[[bytes, int], int]
if CORE is not None:
    _fast_crc32 = CORE.crc32
else:
    try:
        from isal.isal_zlib import crc32 as _isal_crc32
    except ImportError:  # pragma: no cover - isal is a default dependency
        _fast_crc32 = zlib.crc32
    else:
        _fast_crc32 = _isal_crc32

crc32: Callable[[bytes, int], int] = _fast_crc32
"""CRC-32 as ``crc32(data, value)``: ISA-L's through the compiled core (GIL released), else
python-isal's (21-30 GB/s here), else zlib's."""

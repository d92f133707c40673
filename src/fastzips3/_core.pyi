"""Types of fastzips3's compiled core (``_core.pyx``), for mypy."""

ISAL_VERSION: str
ZLIB_VERSION: str

# --- directory (_core_directory.pxi) ---------------------------------------------------------
from typing import Any as _Any

def eocd_candidates(
    window: bytes | bytearray | memoryview, lowest: int
) -> list[tuple[int, int, int, int, int, int, int, bytes, bool]]:
    """Every end record in ``window[lowest:]``, the last first: position, then its fields."""

def zip64_locator(
    window: bytes | bytearray | memoryview, pos: int
) -> tuple[int, int, int] | None:
    """The ZIP64 locator's fields at ``window[pos:]``, or None."""

def zip64_end(
    window: bytes | bytearray | memoryview, pos: int
) -> tuple[int, int, int, int, int, int, int, int, int] | None:
    """The ZIP64 end record's fields at ``window[pos:]``, or None."""

def directory_entries(
    buf: bytes | bytearray | memoryview,
    pos: int,
    stop: int,
    *,
    offset: int,
    base_offset: int,
    declared: int,
    limit: int | None,
    entry_type: type[_Any],
    encoding: str | None,
    ascii_ok: bool,
    cd_start: int,
) -> tuple[list[_Any], tuple[int, ...]]:
    """The entries of the central directory in ``buf[pos:stop]`` and the sorted header offsets."""

# --- end directory ---

# --- inflate (_core_inflate.pxi) -------------------------------------------------------------
# --- end inflate ---

# --- zran (_core_zran.pxi) -------------------------------------------------------------------
# --- end zran ---

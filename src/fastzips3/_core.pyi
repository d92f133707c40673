"""Types of fastzips3's compiled core (``_core.pyx``), for mypy."""

from collections.abc import Sequence as _Sequence
from typing import Any as _Any

from typing_extensions import Buffer as _Buffer

ISAL_VERSION: str
ZLIB_VERSION: str
CAN_POPULATE: bool

# --- directory (_core_directory.pxi) ---------------------------------------------------------

def eocd_candidates(
    window: bytes | bytearray | memoryview, lowest: int
) -> list[tuple[int, int, int, int, int, int, int, bytes, bool]]:
    """Every end record in ``window[lowest:]``, the last first: position, then its fields."""

def zip64_locator(window: bytes | bytearray | memoryview, pos: int) -> tuple[int, int, int] | None:
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
) -> tuple[tuple[_Any, ...], tuple[int, ...]]:
    """The entries of the central directory in ``buf[pos:stop]`` and the sorted header offsets."""

def build_zipinfos(
    entries: _Any, cls: type[_Any], raw: object, encoding: str | None, alt_sep: str | None
) -> list[_Any]:
    """One ``cls`` (a slotted zipfile.ZipInfo subclass) per ZipEntry, filled as zipfile does."""

# --- end directory ---

# --- inflate (_core_inflate.pxi) -------------------------------------------------------------

def _set_inflate_slice(size: int) -> int: ...
def crc32(data: _Buffer, value: int = 0) -> int: ...

class Inflater:
    def __init__(self, window: _Buffer = b"", *, name: str | None = None) -> None: ...
    def prime(self, bits: int, value: int) -> None: ...
    def feed(self, data: _Buffer) -> None: ...
    @property
    def needs_input(self) -> bool: ...
    @property
    def finished(self) -> bool: ...
    @property
    def crc(self) -> int: ...
    @property
    def total_out(self) -> int: ...
    @property
    def unused(self) -> int: ...
    def decompress_into(self, out: _Buffer) -> int: ...
    def decompress(self, max_length: int) -> bytes: ...

# --- end inflate ---

# --- zran (_core_zran.pxi) -------------------------------------------------------------------

def inflate_piece(
    segments: _Sequence[_Buffer],
    size: int,
    window: _Buffer = b"",
    bits: int = 0,
    *,
    name: str | None = None,
) -> bytes: ...
def crc32_combine(crc1: int, crc2: int, len2: int) -> int: ...

class Output:
    def __init__(self, size: int) -> None: ...
    def inflate_piece(
        self,
        segments: _Sequence[_Buffer],
        offset: int,
        size: int,
        window: _Buffer = b"",
        bits: int = 0,
        *,
        name: str | None = None,
    ) -> int: ...
    def take(self) -> bytes: ...

class BlockInflater:
    data_type: int
    def __init__(self, *, name: str | None = None) -> None: ...
    def feed(self, data: _Buffer) -> None: ...
    @property
    def needs_input(self) -> bool: ...
    @property
    def ended(self) -> bool: ...
    @property
    def total_in(self) -> int: ...
    @property
    def total_out(self) -> int: ...
    @property
    def crc(self) -> int: ...
    def inflate(self, max_length: int) -> bytes: ...

# --- end zran ---

# --- deflate (_core_deflate.pxi) -------------------------------------------------------------

ISAL_MAX_LEVEL: int

def deflate_piece(
    data: _Buffer, level: int = 1, dictionary: _Buffer = b"", final: bool = True
) -> tuple[bytes, int]:
    """Raw deflate of one piece at ISA-L ``level``; ``(compressed, crc32(data))``."""

# --- end deflate ---

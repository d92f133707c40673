"""The request plan: which byte ranges to fetch to list an archive and to read a member.

The planner never reads. :class:`DirectoryPlan` is a small state machine in the style of h11's
``receive_data``/``next_event`` and rc-zip's ``ArchiveFsm``: the caller feeds it the bytes it has
(always a window that ends at the end of the object), asks :meth:`DirectoryPlan.step`, and gets
either the next :class:`ByteRange` to fetch or the finished :class:`Directory`.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

from fastzips3._accel import CORE
from fastzips3._format.entry import ZipEntry, entries_from_directory
from fastzips3._format.names import ascii_compatible, check_encoding
from fastzips3._format.records import (
    CentralDirectoryHeader,
    EndOfCentralDirectory,
    LocalFileHeader,
    Zip64EndOfCentralDirectory,
    Zip64EndOfCentralDirectoryLocator,
)
from fastzips3.errors import (
    CentralDirectoryError,
    EncryptedEntryError,
    EOCDNotFoundError,
    LimitExceededError,
    LocalHeaderError,
    MultiDiskError,
    OverlapError,
    TruncatedError,
    Zip64Error,
)

__all__ = [
    "LOCAL_HEADER_MARGIN",
    "ByteRange",
    "Directory",
    "DirectoryPlan",
    "MemberLayout",
    "member_layout",
    "member_request",
]

_EOCD_SEARCH = EndOfCentralDirectory.SIZE + EndOfCentralDirectory.MAX_COMMENT
#: Extra bytes fetched after the central directory's idea of the local header, because the local
#: name and extra field may be longer than the central ones (ZIP64 fields, alignment padding).
LOCAL_HEADER_MARGIN = 1024
_DESCRIPTOR_MAX = 24


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Half-open byte range ``[start, end)`` of the object."""

    start: int
    end: int

    @property
    def length(self) -> int:
        """Number of bytes in the range."""
        return self.end - self.start


@dataclass(frozen=True)
class Directory:
    """A parsed central directory and where it lies in the object.

    Not slotted: :attr:`raw_names` and :attr:`by_name` are computed on first use (listing
    100,000 entries should not pay for lookups nobody makes).
    """

    entries: tuple[ZipEntry, ...]
    comment: bytes
    zip64: bool
    cd_start: int
    cd_end: int
    base_offset: int
    size: int
    header_offsets: tuple[int, ...]
    """Sorted distinct local header offsets that lie before the central directory."""

    @functools.cached_property
    def raw_names(self) -> frozenset[bytes]:
        """Every entry's raw name (to tell a local header that belongs to another entry)."""
        return frozenset(e.raw_name for e in self.entries)

    @functools.cached_property
    def by_name(self) -> dict[str, ZipEntry]:
        """Entries by name; of duplicate names the last one wins, as in :mod:`zipfile`."""
        return {e.name: e for e in self.entries}

    def data_limit(self, entry: ZipEntry) -> int:
        """The first byte that ``entry``'s local header and data must not reach.

        That is the next local header after it, or the start of the central directory; member
        data that runs past it overlaps another record (the overlap bomb) or is truncated.
        """
        offsets = self.header_offsets
        i = bisect.bisect_right(offsets, entry.header_offset)
        return offsets[i] if i < len(offsets) else self.cd_start


class DirectoryPlan:
    """Locate and parse the central directory of an object of ``size`` bytes.

    ``max_entries`` caps the entry count (a :class:`LimitExceededError` past it). Whatever the
    records claim, the plan never asks for bytes outside ``[0, size)``, and the entry count is
    bounded by what the central directory's real size can hold.

    ``metadata_encoding`` (as in :mod:`zipfile`, e.g. "shift_jis") decodes the names that are not
    flagged UTF-8; an unknown encoding raises :class:`LookupError` here. ``core`` is the compiled
    core that parses (default: :data:`fastzips3._accel.CORE`); None runs the pure-Python
    reference implementation, which gives the same results.
    """

    def __init__(
        self,
        size: int,
        *,
        max_entries: int | None = None,
        metadata_encoding: str | None = None,
        core: ModuleType | None = CORE,
    ) -> None:
        if size < 0:
            raise ValueError("size must be >= 0")
        self.size = size
        self.max_entries = max_entries
        self.metadata_encoding = check_encoding(metadata_encoding)
        self._core = core
        self._window = b""
        self._window_start = size
        self._eocd: EndOfCentralDirectory | None = None
        self._eocd_pos = -1
        self._zip64_checked = False
        self._eocd64: Zip64EndOfCentralDirectory | None = None
        self._cd_end = -1
        self._result: Directory | None = None

    @property
    def window_start(self) -> int:
        """Offset of the first byte the plan holds (it holds everything from there to the end)."""
        return self._window_start

    def feed(self, start: int, data: bytes) -> None:
        """Hand the plan bytes ``[start, start + len(data))`` of the object.

        The range must reach the end of the object or the start of the bytes already held.
        """
        end = start + len(data)
        if start < 0 or end > self.size:
            raise ValueError(f"fed range [{start}, {end}) is outside the object (0..{self.size})")
        if end < self._window_start:
            raise ValueError("fed bytes must be contiguous with the window already held")
        if start >= self._window_start:
            return
        if end == self.size:
            # It holds all the window holds: keep it as it is (no copy of a large directory).
            self._window = data
        else:
            self._window = data[: self._window_start - start] + self._window
        self._window_start = start

    def held(self, start: int) -> bytes | None:
        """The bytes ``[start, size)`` if the plan holds them all."""
        if start < self._window_start:
            return None
        return self._window[start - self._window_start :]

    def _has(self, start: int) -> bool:
        return start >= self._window_start

    def _need(self, start: int) -> ByteRange:
        return ByteRange(max(0, start), self._window_start)

    def step(self) -> ByteRange | Directory:
        """Return the next range to fetch, or the finished directory."""
        if self._result is not None:
            return self._result
        if self._eocd is None:
            need = self._find_eocd()
            if need is not None:
                return need
        if not self._zip64_checked:
            need = self._find_zip64()
            if need is not None:
                return need
        return self._read_directory()

    # --- steps ---------------------------------------------------------------------------

    def _find_eocd(self) -> ByteRange | None:
        search_start = max(0, self.size - _EOCD_SEARCH)
        window = self._window
        base = self._window_start
        lowest = max(0, search_start - base)
        candidates: list[tuple[int, EndOfCentralDirectory]] = []
        if self._core is not None:
            for pos, *fields in self._core.eocd_candidates(window, lowest):
                candidates.append((base + pos, EndOfCentralDirectory(*fields)))
        else:
            pos = len(window) - EndOfCentralDirectory.SIZE
            while pos >= lowest:
                pos = window.rfind(EndOfCentralDirectory.SIGNATURE, lowest, pos + 4)
                if pos < 0:
                    break
                at = base + pos
                candidates.append((at, EndOfCentralDirectory.parse(window, pos, at)))
                pos -= 1
        if not candidates:
            if base > search_start:
                return self._need(search_start)
            if self.size == 0:
                raise EOCDNotFoundError(
                    "the object is empty: not a ZIP archive", offset=0, record="EOCD"
                )
            raise EOCDNotFoundError(
                "no end of central directory record in the last "
                f"{min(self.size, _EOCD_SEARCH)} bytes: not a ZIP archive, or a truncated one",
                offset=search_start,
                record="EOCD",
            )

        def consistent(at: int, eocd: EndOfCentralDirectory) -> bool:
            if eocd.needs_zip64:
                return True
            end = eocd.cd_offset + eocd.cd_size
            return end == at or end == at - 20 - 56

        chosen = next(
            ((at, e) for at, e in candidates if consistent(at, e) and not e.comment_truncated),
            None,
        )
        if chosen is None:
            if len(candidates) > 1 and any(e.comment_truncated for _, e in candidates):
                raise EOCDNotFoundError(
                    "the last end of central directory record's comment runs past the end of "
                    "the file and another one precedes it: ambiguous, refusing",
                    offset=candidates[0][0],
                    record="EOCD",
                )
            chosen = candidates[0]
        self._eocd_pos, self._eocd = chosen
        return None

    def _find_zip64(self) -> ByteRange | None:
        eocd = self._eocd
        assert eocd is not None
        loc_pos = self._eocd_pos - Zip64EndOfCentralDirectoryLocator.SIZE
        if loc_pos >= 0 and not self._has(loc_pos):
            return self._need(loc_pos)
        locator = self._locator(loc_pos) if loc_pos >= 0 else None
        found = self._find_zip64_record(locator, loc_pos) if locator is not None else None
        if isinstance(found, ByteRange):
            return found
        inside_cd = loc_pos >= self._eocd_pos - eocd.cd_size
        if found is None and not eocd.needs_zip64 and inside_cd:
            locator = None  # a locator signature by chance (a name's bytes): not ZIP64
        if locator is None:
            if eocd.disk_number not in (0, 0xFFFF) or eocd.cd_disk not in (0, 0xFFFF):
                raise MultiDiskError(
                    "this archive is split over several disks (spanned), which fastzips3 does "
                    "not read; join the parts first (zip -s 0)"
                )
            self._zip64_checked = True
            self._cd_end = self._eocd_pos
            return None
        if found is None:
            raise Zip64Error(
                "the ZIP64 locator is present but no ZIP64 end of central directory record "
                "was found where it points",
                offset=loc_pos,
                record="ZIP64 locator",
            )
        record, pos = found
        self._eocd64 = record
        self._cd_end = pos
        self._zip64_checked = True
        if record.version_needed >= 62 and record.record_size > 44:
            raise EncryptedEntryError(
                "the central directory is encrypted (PKWARE strong encryption, ZIP64 end "
                "record version 2); fastzips3 cannot read it"
            )
        if (
            record.disk_number != 0
            or record.cd_disk != 0
            or locator.total_disks > 1
            or locator.eocd64_disk != 0
        ):
            raise MultiDiskError(
                "this ZIP64 archive is split over several disks, which fastzips3 does not read"
            )
        return None

    def _locator(self, loc_pos: int) -> Zip64EndOfCentralDirectoryLocator | None:
        pos = loc_pos - self._window_start
        if self._core is None:
            return Zip64EndOfCentralDirectoryLocator.parse(self._window, pos, loc_pos)
        fields = self._core.zip64_locator(self._window, pos)
        return None if fields is None else Zip64EndOfCentralDirectoryLocator(*fields)

    def _find_zip64_record(
        self, locator: Zip64EndOfCentralDirectoryLocator, loc_pos: int
    ) -> tuple[Zip64EndOfCentralDirectory, int] | ByteRange | None:
        """The ZIP64 end record and its position, the bytes needed to look, or None.

        It normally sits right before the locator; the locator's declared offset is relative
        to the archive start, which differs when data was prepended, so both are tried.
        """
        expected = loc_pos - Zip64EndOfCentralDirectory.SIZE
        candidates = [expected]
        if 0 <= locator.eocd64_offset < loc_pos and locator.eocd64_offset != expected:
            candidates.append(locator.eocd64_offset)
        for pos in candidates:
            if pos < 0:
                continue
            if not self._has(pos):
                return self._need(pos)
            if self._core is not None:
                fields = self._core.zip64_end(self._window, pos - self._window_start)
                if fields is None:
                    continue
                return Zip64EndOfCentralDirectory(*fields), pos
            try:
                record = Zip64EndOfCentralDirectory.parse(
                    self._window, pos - self._window_start, pos
                )
            except Zip64Error:
                continue
            return record, pos
        return None

    def _read_directory(self) -> ByteRange | Directory:
        eocd = self._eocd
        assert eocd is not None
        if self._eocd64 is not None:
            cd_size = self._eocd64.cd_size
            cd_offset = self._eocd64.cd_offset
            declared = self._eocd64.total_entries
        else:
            cd_size, cd_offset, declared = eocd.cd_size, eocd.cd_offset, eocd.total_entries
        cd_end = self._cd_end
        cd_start = cd_end - cd_size
        if cd_start < 0:
            raise CentralDirectoryError(
                f"the central directory claims {cd_size} bytes, more than precede its end record",
                offset=self._eocd_pos,
                record="EOCD",
            )
        base_offset = cd_start - cd_offset
        if base_offset < 0:
            raise CentralDirectoryError(
                f"the central directory offset ({cd_offset}) points past where the directory "
                "can be",
                offset=self._eocd_pos,
                record="EOCD",
            )
        if not self._has(cd_start):
            return self._need(cd_start)
        if (
            base_offset > 0
            and self._has(cd_offset)
            and self._window[cd_offset - self._window_start : cd_offset - self._window_start + 4]
            == CentralDirectoryHeader.SIGNATURE
        ):
            # Some writers leave junk between the directory and its end record, or write a
            # wrong directory size; the declared offset then is right, with no prepended data.
            cd_start, base_offset = cd_offset, 0
        span = cd_end - cd_start
        max_possible = span // CentralDirectoryHeader.SIZE
        if declared > max_possible and not (self._eocd64 is None and declared == 0xFFFF):
            raise CentralDirectoryError(
                f"the archive claims {declared} entries but its {span}-byte central "
                f"directory can hold at most {max_possible}",
                offset=self._eocd_pos,
                record="EOCD",
            )
        if self.max_entries is not None and declared > self.max_entries:
            raise LimitExceededError(
                f"the archive has {declared} entries, more than max_entries={self.max_entries}"
            )
        entries, header_offsets = self._parse_entries(cd_start, cd_end, base_offset, declared)
        expected = declared if self._eocd64 is not None else declared & 0xFFFF
        if (len(entries) if self._eocd64 is not None else len(entries) & 0xFFFF) != expected:
            raise CentralDirectoryError(
                f"the end record declares {declared} entries but the central directory "
                f"holds {len(entries)}",
                offset=cd_start,
                record="central directory",
            )
        self._result = Directory(
            entries=tuple(entries),
            comment=eocd.comment,
            zip64=self._eocd64 is not None,
            cd_start=cd_start,
            cd_end=cd_end,
            base_offset=base_offset,
            size=self.size,
            header_offsets=header_offsets,
        )
        return self._result

    def _parse_entries(
        self, cd_start: int, cd_end: int, base_offset: int, declared: int
    ) -> tuple[Sequence[ZipEntry], tuple[int, ...]]:
        """The entries, and the sorted distinct local header offsets before ``cd_start``."""
        offset = self._window_start
        if self._core is not None:
            # A tuple, not tracked by the garbage collector: ``tuple()`` below keeps it as is.
            found: tuple[tuple[ZipEntry, ...], tuple[int, ...]] = self._core.directory_entries(
                self._window,
                cd_start - offset,
                cd_end - offset,
                offset=offset,
                base_offset=base_offset,
                declared=declared,
                limit=self.max_entries,
                entry_type=ZipEntry,
                encoding=self.metadata_encoding,
                ascii_ok=ascii_compatible(self.metadata_encoding),
                cd_start=cd_start,
            )
            return found
        entries = entries_from_directory(
            self._window,
            cd_start - offset,
            cd_end - offset,
            offset=offset,
            base_offset=base_offset,
            declared=declared,
            limit=self.max_entries,
            encoding=self.metadata_encoding,
        )
        offsets = tuple(sorted({e.header_offset for e in entries if e.header_offset < cd_start}))
        return entries, offsets


def member_request(entry: ZipEntry, directory: Directory) -> ByteRange:
    """The one range that should hold ``entry``'s local header and all of its data.

    It never reaches past the next record (``Directory.data_limit``), so reading a member never
    touches bytes outside it. If the local header turns out longer than the central directory
    suggests, :func:`member_layout` says so and the caller fetches the rest.
    """
    start = entry.header_offset
    guess = (
        start
        + LocalFileHeader.SIZE
        + len(entry.raw_name)
        + len(entry.extra)
        + LOCAL_HEADER_MARGIN
        + entry.compress_size
        + (_DESCRIPTOR_MAX if entry.has_data_descriptor else 0)
    )
    end = min(guess, directory.data_limit(entry), directory.size)
    return ByteRange(start, max(start, end))


@dataclass(frozen=True, slots=True)
class MemberLayout:
    """Where a member's compressed data lies, from its local header."""

    header: LocalFileHeader
    local_name: bytes
    local_extra: bytes
    data_start: int
    data_end: int


def member_layout(entry: ZipEntry, directory: Directory, head: bytes) -> MemberLayout | int:
    """Parse the local header from ``head`` (bytes starting at ``entry.header_offset``).

    Returns the layout, or the number of bytes ``head`` must have to hold the whole local header
    when it is too short. Raises when the header is invalid or the data overlaps the next record
    or runs past the end of the object.
    """
    at = entry.header_offset
    if at + LocalFileHeader.SIZE > directory.size:
        raise TruncatedError(
            f"member {entry.name!r}: its local header offset ({at}) is past the end of the object",
            offset=at,
            record="local header",
        )
    if len(head) < LocalFileHeader.SIZE:
        return LocalFileHeader.SIZE
    header = LocalFileHeader.parse(head, 0, at)
    needed = LocalFileHeader.SIZE + header.variable_length
    if len(head) < needed:
        return needed
    name = head[LocalFileHeader.SIZE : LocalFileHeader.SIZE + header.name_length]
    extra = head[LocalFileHeader.SIZE + header.name_length : needed]
    if name != entry.raw_name and name in directory.raw_names:
        # The local header is another entry's: two directory entries point at one header (a
        # full overlap). A local name that merely differs is common (stale Unicode path
        # fields, renaming tools), and is not an error on its own.
        raise LocalHeaderError(
            f"member {entry.name!r}: its local header is the one of member {name!r} (two "
            "directory entries share one header: overlapping entries)",
            offset=at,
            record="local header",
        )
    if entry.is_dir() and entry.file_size:
        raise CentralDirectoryError(
            f"directory entry {entry.name!r} claims {entry.file_size} bytes of content",
            offset=at,
            record="central directory header",
        )
    data_start = at + needed
    data_end = data_start + entry.compress_size
    limit = directory.data_limit(entry)
    if data_end > directory.size:
        raise TruncatedError(
            f"member {entry.name!r} declares {entry.compress_size} compressed bytes but the "
            f"object ends {max(0, directory.size - data_start)} bytes after its data starts",
            offset=data_start,
            record="member data",
        )
    if data_end > limit:
        raise OverlapError(
            f"member {entry.name!r}: its data [{data_start}, {data_end}) overlaps the next "
            f"record at offset {limit} (a possible zip bomb)",
            offset=data_start,
            record="member data",
        )
    if entry.header_offset >= directory.cd_start:
        raise LocalHeaderError(
            f"member {entry.name!r}: its local header offset lies inside the central directory",
            offset=at,
            record="local header",
        )
    return MemberLayout(header, name, extra, data_start, data_end)

"""Checkpoint indexes of deflate members: where they come from, where they are kept, and
decoding pieces of a member in parallel from them.

An index comes from, in order: this archive's memory, a SOZip index member in the archive
(GDAL's seek-optimized ZIP: byte-aligned chunks with no dictionary, nothing to build), or the
on-disk cache (keyed by the archive's identity, the member and the object's ETag, checked
against the pinned version). :func:`build_index` makes one with a full decode.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from fastzips3._codecs.crc import crc32
from fastzips3._codecs.deflate import inflate_aligned
from fastzips3._codecs.zran import (
    Checkpoint,
    DeflateIndex,
    PieceOutput,
    Segment,
    checkpoint_decoder,
    core_piece,
    crc32_combine,
    usable,
    zran_available,
)
from fastzips3._decode import DecodedStream
from fastzips3._engine.diskcache import CachedBlob, DiskCache
from fastzips3._engine.engine import Engine, SequentialReader
from fastzips3._format.entry import ZipEntry
from fastzips3._format.plan import Directory, MemberLayout
from fastzips3.errors import DecompressionError, UnsupportedError
from fastzips3.member import crc_mismatch, locate_member
from fastzips3.sources.base import ObjectVersion

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = [
    "DEFAULT_SPACING",
    "IndexRegistry",
    "build_index",
    "iter_parallel",
    "pack_sidecar",
    "read_parallel",
    "sozip_index",
    "unpack_sidecar",
]

_SIDECAR_MAGIC = b"fastzips3-index-sidecar 1\n"

#: Checkpoint spacing in output bytes. At 8 MiB an index costs about 0.4-0.7 % of a text
#: member's compressed size, and a seek decodes at most 8 MiB (about 15 ms with isal).
DEFAULT_SPACING = 8 << 20


class IndexRegistry:
    """Indexes of one archive's members: in memory, and on disk when a store is given."""

    def __init__(self, engine: Engine, store: DiskCache | None, identity: str) -> None:
        self._engine = engine
        self._store = store
        self._identity = identity
        self._memory: dict[ZipEntry, DeflateIndex] = {}
        self._lock = threading.Lock()

    def _key(self, entry: ZipEntry) -> str:
        text = f"{self._identity}|{entry.header_offset}|{entry.crc}|{entry.compress_size}"
        return hashlib.sha256(text.encode()).hexdigest()

    def get(self, entry: ZipEntry) -> DeflateIndex | None:
        """The member's index, if one is known."""
        with self._lock:
            index = self._memory.get(entry)
        if index is not None or self._store is None:
            return index
        cached = self._store.get(self._key(entry))
        if cached is None:
            return None
        version = self._engine.version
        if cached.version.size != version.size or cached.version.etag != version.etag:
            return None  # made from another version of the object
        try:
            index = DeflateIndex.from_bytes(cached.data)
        except ValueError:
            self._store.invalidate(self._key(entry))
            return None
        if index.size != entry.file_size or index.compress_size > entry.compress_size:
            return None
        with self._lock:
            self._memory[entry] = index
        return index

    def put(self, entry: ZipEntry, index: DeflateIndex) -> None:
        """Keep ``index`` in memory and on disk."""
        with self._lock:
            self._memory[entry] = index
        if self._store is not None:
            data = index.to_bytes()
            blob = CachedBlob(self._engine.version, entry.header_offset, data, time.time())
            # Compressed already (to_bytes): stored as it is, not deflated a second time
            # (that cost a second inflate, 7 ms of each 17 ms load of a 1 GiB member's index).
            self._store.put(self._key(entry), blob, compress_from=len(data))


def pack_sidecar(version: ObjectVersion, items: list[tuple[ZipEntry, DeflateIndex]]) -> bytes:
    """Indexes of several members of one archive version, in one versioned file."""
    table = []
    blobs = []
    for entry, index in items:
        blob = index.to_bytes()
        table.append(
            {
                "name": entry.name,
                "header_offset": entry.header_offset,
                "crc": entry.crc,
                "compress_size": entry.compress_size,
                "length": len(blob),
                "sha256": hashlib.sha256(blob).hexdigest(),
            }
        )
        blobs.append(blob)
    header = {"size": version.size, "etag": version.etag, "members": table}
    return _SIDECAR_MAGIC + json.dumps(header).encode() + b"\n" + b"".join(blobs)


def unpack_sidecar(
    data: bytes, version: ObjectVersion, by_offset: dict[int, ZipEntry]
) -> list[tuple[ZipEntry, DeflateIndex]]:
    """The indexes in a sidecar that belong to this archive version; others are skipped.

    A sidecar made from another version of the archive, or a corrupt one, yields nothing.
    """
    if not data.startswith(_SIDECAR_MAGIC):
        return []
    try:
        end = data.index(b"\n", len(_SIDECAR_MAGIC))
        header = json.loads(data[len(_SIDECAR_MAGIC) : end])
        if header["size"] != version.size or header["etag"] != version.etag:
            return []
        out = []
        pos = end + 1
        for item in header["members"]:
            blob = data[pos : pos + int(item["length"])]
            pos += int(item["length"])
            entry = by_offset.get(int(item["header_offset"]))
            if entry is None or entry.crc != item["crc"] or entry.name != item["name"]:
                continue
            if hashlib.sha256(blob).hexdigest() != item["sha256"]:
                continue
            index = DeflateIndex.from_bytes(blob)
            if index.size == entry.file_size:
                out.append((entry, index))
        return out
    except (ValueError, KeyError, TypeError):
        return []


def build_index(
    engine: Engine,
    directory: Directory,
    entry: ZipEntry,
    *,
    spacing: int = DEFAULT_SPACING,
    on_progress: Callable[[int], None] | None = None,
) -> DeflateIndex:
    """Decode ``entry`` once from its start, recording a checkpoint every ``spacing`` bytes."""
    if entry.compress_type != 8 or entry.is_encrypted:
        raise UnsupportedError(
            f"member {entry.name!r}: checkpoint indexes are for unencrypted deflate members "
            f"(this one is {entry.method_name}{', encrypted' if entry.is_encrypted else ''})"
        )
    if not zran_available():
        raise UnsupportedError(
            f"member {entry.name!r}: building a checkpoint index needs fastzips3's compiled "
            "core, which is not active here (see fastzips3.core_info())"
        )
    layout = locate_member(engine, directory, entry)
    raw = engine.sequential(layout.data_start, layout.data_end)
    stream = DecodedStream(
        raw, method=8, name=entry.name, size=entry.file_size, index_spacing=spacing
    )
    try:
        while chunk := stream.next():
            if on_progress is not None:
                on_progress(len(chunk))
    finally:
        stream.close()
    assert stream.indexer is not None
    index = stream.indexer.index
    if index is None:
        raise DecompressionError(f"member {entry.name!r}: the deflate stream never ended")
    return index


def _sozip_name(name: str) -> str:
    head, sep, tail = name.rpartition("/")
    return f"{head}{sep}.{tail}.sozip.idx"


def sozip_index(
    read_member: Callable[[ZipEntry], bytes], entry: ZipEntry, by_name: dict[str, ZipEntry]
) -> DeflateIndex | None:
    """The index a SOZip archive carries for ``entry`` (``.{name}.sozip.idx``), if any.

    SOZip chunks are compressed independently and byte-aligned, so each offset is a checkpoint
    with no dictionary and no leftover bits.
    """
    idx_entry = by_name.get(_sozip_name(entry.name))
    if idx_entry is None or entry.compress_type != 8 or entry.is_encrypted:
        return None
    data = read_member(idx_entry)
    if len(data) < 32:
        return None
    version, skip, chunk, offset_size, usize, csize = struct.unpack_from("<4I2Q", data, 0)
    if version != 1 or offset_size != 8 or chunk <= 0 or usize != entry.file_size:
        return None
    count = max(0, (usize - 1) // chunk)
    start = 32 + skip
    if len(data) < start + 8 * count:
        return None
    offsets = struct.unpack_from(f"<{count}Q", data, start)
    points = [Checkpoint(0, 0, 0, b"")]
    for i, offset in enumerate(offsets, start=1):
        if offset <= points[-1].in_pos or offset > csize:
            return None
        points.append(Checkpoint(i * chunk, offset, 0, b""))
    return DeflateIndex(tuple(points), usize, csize, chunk)


_worker = threading.local()


def _assign_backend(counter: Iterator[int], backend: str | None) -> None:
    """Give each decoding thread its inflater, where the compiled core is not active.

    python-isal (and zlib-ng) hold the GIL while they inflate, so two such threads run no
    faster than one; the standard library's zlib releases it. Then the first thread takes the
    fastest back-end and the others zlib: measured here on the pieces of a 1 GB member, isal
    alone 1.05 s, isal + zlib 0.74 s, zlib + zlib 1.04 s.
    """
    _worker.backend = backend if next(counter) == 0 else "zlib"


def _decode_piece(
    entry: ZipEntry, first: Checkpoint, data: list[Segment], want: int, backend: str | None
) -> bytes:
    """Decode ``want`` bytes from ``first``, its compressed bytes being ``data``."""
    if backend in (None, "isal") or first.bits:
        # The compiled core: ISA-L without the GIL, on the received buffers in place.
        out = core_piece(data, want, first, name=entry.name)
        if out is not None:
            return out
    joined = b"".join(memoryview(buf)[lo:hi] for buf, lo, hi in data)
    return _decode_piece_fallback(entry, first, joined, want, backend or _worker.backend)


def _decode_piece_fallback(
    entry: ZipEntry, first: Checkpoint, data: bytes, want: int, backend: str | None
) -> bytes:
    """:func:`_decode_piece` through the Python inflaters (which may hold the GIL)."""
    if first.bits == 0:
        # Byte-aligned (most checkpoints): one call into the fastest inflater, no loop.
        out = inflate_aligned(data, first.window, want, name=entry.name, backend=backend)
        if len(out) == want:
            return out
        raise DecompressionError(
            f"member {entry.name!r}: {len(out)} bytes between checkpoints at {first.out_pos}, "
            f"expected {want}",
            name=entry.name,
        )
    pos = 0

    def pull(n: int) -> bytes:
        nonlocal pos
        out = data[pos : pos + n]
        pos += len(out)
        return out

    decoder = checkpoint_decoder(pull, first, name=entry.name, backend=backend)
    parts: list[bytes] = []
    got = 0
    while got < want:
        out = decoder.read(min(4 << 20, want - got))
        if not out:
            break
        parts.append(out)
        got += len(out)
    if got != want:
        raise DecompressionError(
            f"member {entry.name!r}: {got} bytes between checkpoints at {first.out_pos}, "
            f"expected {want}",
            name=entry.name,
        )
    return parts[0] if len(parts) == 1 else b"".join(parts)


def iter_parallel(
    engine: Engine,
    directory: Directory,
    entry: ZipEntry,
    index: DeflateIndex,
    *,
    start: int = 0,
    end: int | None = None,
    workers: int = 2,
    backend: str | None = None,
) -> Iterator[bytes]:
    """Bytes ``[start, end)`` of the member, decoded piece by piece on ``workers`` threads.

    The compressed bytes stream in order through the prefetch engine (parallel GETs); each
    piece between two checkpoints is handed to a decoding thread as soon as it has arrived, so
    fetching and decoding overlap. Pieces come out in order; at most ``2 * workers`` are in
    memory at once. The compiled core's ISA-L decodes without the GIL, so the threads use every
    core. Without the core, checkpoints inside a byte are skipped (their pieces merge with the
    one before).

    When the whole member is read, its CRC-32 is checked against the archive's before the
    last piece is handed out (:class:`CRCMismatchError`).
    """
    end = entry.file_size if end is None else min(end, entry.file_size)
    if end <= start:
        return
    layout = locate_member(engine, directory, entry)
    jobs = _jobs(layout, entry, index, start, end)
    base = layout.data_start
    raw = engine.sequential(base + jobs[0][0].raw_start, base + jobs[-1][1], max_ahead=40 << 20)
    received = _Received(raw, jobs[0][0].raw_start, entry.name)
    from concurrent.futures import ThreadPoolExecutor  # deferred: 5 ms at import

    pool = ThreadPoolExecutor(
        max_workers=max(1, workers),
        thread_name_prefix="fastzips3-part",
        initializer=_assign_backend,
        initargs=(itertools.count(), backend),
    )
    check = _CrcCheck(entry) if (start, end) == (0, entry.file_size) else None
    pending: deque[tuple[Checkpoint, Future[bytes]]] = deque()

    def finish(cp: Checkpoint, future: Future[bytes]) -> bytes:
        data = future.result()
        if check is not None:
            check.add(data)
        return _clip(cp, data, start, end)

    try:
        for cp, raw_end, want in jobs:
            data = received.segments(cp.raw_start, raw_end)
            pending.append((cp, pool.submit(_decode_piece, entry, cp, data, want, backend)))
            if len(pending) >= 2 * workers:
                yield finish(*pending.popleft())
        while pending:
            piece = finish(*pending.popleft())
            if not pending and check is not None:
                check.verify()
            yield piece
    finally:
        for _, future in pending:
            future.cancel()
        pool.shutdown(wait=True)
        raw.close()


#: A piece to decode: its checkpoint, where its compressed bytes end, its output length.
_Job = tuple[Checkpoint, int, int]


def _jobs(
    layout: MemberLayout, entry: ZipEntry, index: DeflateIndex, start: int, end: int
) -> list[_Job]:
    """The pieces that cover output ``[start, end)``, from the usable checkpoints."""
    points = tuple(cp for cp in index.checkpoints if usable(cp))
    first = max(i for i, cp in enumerate(points) if cp.out_pos <= start)
    jobs: list[_Job] = []
    for i in range(first, len(points)):
        cp = points[i]
        if cp.out_pos >= end:
            break
        nxt = points[i + 1] if i + 1 < len(points) else None
        raw_end = nxt.in_pos if nxt is not None else layout.data_end - layout.data_start
        jobs.append((cp, raw_end, (nxt.out_pos if nxt else entry.file_size) - cp.out_pos))
    return jobs


def read_parallel(
    engine: Engine,
    directory: Directory,
    entry: ZipEntry,
    index: DeflateIndex,
    *,
    start: int = 0,
    end: int | None = None,
    workers: int = 2,
    backend: str | None = None,
) -> bytes:
    """Bytes ``[start, end)`` of the member decoded in parallel (as :func:`iter_parallel`).

    A whole member with the compiled core decodes each piece straight into its place in one
    output (no join) and checks the CRC-32 from the pieces' fused CRCs, combined.
    """
    size = entry.file_size
    end = size if end is None else min(end, size)
    if (start, end) != (0, size) or not zran_available() or backend not in (None, "isal"):
        return b"".join(
            iter_parallel(
                engine,
                directory,
                entry,
                index,
                start=start,
                end=end,
                workers=workers,
                backend=backend,
            )
        )
    if size == 0:
        return b""
    layout = locate_member(engine, directory, entry)
    jobs = _jobs(layout, entry, index, 0, size)
    base = layout.data_start
    out = PieceOutput(size)
    # A local file: each worker reads its own piece's compressed bytes (one positional read,
    # no prefetch threads to share the cores with); elsewhere they stream in order, fetched
    # ahead by parallel GETs, and are handed out as segments.
    local = getattr(engine.source, "whole_reads", False)
    raw = None
    if not local:
        raw = engine.sequential(base + jobs[0][0].raw_start, base + jobs[-1][1], max_ahead=40 << 20)
    received = _Received(raw, jobs[0][0].raw_start, entry.name) if raw is not None else None

    def decode_local(cp: Checkpoint, raw_end: int, want: int) -> int:
        data = engine.fetch(base + cp.raw_start, base + raw_end)
        return out.decode([(data, 0, len(data))], cp, want, name=entry.name)

    from concurrent.futures import ThreadPoolExecutor  # deferred: 5 ms at import

    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="fastzips3-part")
    pending: deque[tuple[int, Future[int]]] = deque()
    crc = 0
    try:
        for cp, raw_end, want in jobs:
            if received is None:
                pending.append((want, pool.submit(decode_local, cp, raw_end, want)))
            else:
                data = received.segments(cp.raw_start, raw_end)
                pending.append((want, pool.submit(out.decode, data, cp, want, name=entry.name)))
            if len(pending) >= 2 * workers:
                length, future = pending.popleft()
                crc = crc32_combine(crc, future.result(), length)
        while pending:
            length, future = pending.popleft()
            crc = crc32_combine(crc, future.result(), length)
    finally:
        for _, future in pending:
            future.cancel()
        pool.shutdown(wait=True)
        if raw is not None:
            raw.close()
    if crc != entry.crc:
        raise crc_mismatch(entry, crc)
    return out.take()


class _Received:
    """The compressed bytes that have arrived, handed out as segments (never copied)."""

    def __init__(self, stream: SequentialReader, start: int, name: str) -> None:
        self._stream = stream
        self._name = name
        self._parts: deque[bytes] = deque()
        self._start = start  # member-relative position of self._parts[0][0]
        self._end = start

    def segments(self, lo: int, hi: int) -> list[Segment]:
        """Bytes ``[lo, hi)`` as ``(buffer, start, end)`` segments; ``lo`` never goes back
        more than a byte before the previous call's ``hi``."""
        while self._end < hi:
            more = self._stream.read(hi - self._end)
            if not more:
                raise DecompressionError(
                    f"member {self._name!r}: its data ends before a checkpoint", name=self._name
                )
            self._parts.append(more)
            self._end += len(more)
        while self._parts and self._start + len(self._parts[0]) <= lo:
            self._start += len(self._parts.popleft())
        out: list[Segment] = []
        pos = self._start
        for part in self._parts:
            if pos >= hi:
                break
            out.append((part, max(lo - pos, 0), min(hi - pos, len(part))))
            pos += len(part)
        return out


class _CrcCheck:
    """The CRC-32 of a whole member, computed piece by piece and checked at the end."""

    def __init__(self, entry: ZipEntry) -> None:
        self._entry = entry
        self._crc = 0

    def add(self, data: bytes) -> None:
        self._crc = crc32(data, self._crc)

    def verify(self) -> None:
        if self._crc != self._entry.crc:
            raise crc_mismatch(self._entry, self._crc)


def _clip(cp: Checkpoint, data: bytes, start: int, end: int) -> bytes:
    lo = max(0, start - cp.out_pos)
    hi = min(len(data), end - cp.out_pos)
    return data[lo:hi] if (lo, hi) != (0, len(data)) else data

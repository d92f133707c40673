"""ZipArchive: the native API. It drives the pure request plan with the engine."""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from fastzips3._codecs.crypto import to_password
from fastzips3._codecs.zran import DeflateIndex
from fastzips3._engine.coalesce import DEFAULT_MAX_GAP, DEFAULT_MAX_SPAN, Span, plan_spans
from fastzips3._engine.diskcache import DiskCache, cache_key
from fastzips3._engine.engine import Engine, SequentialReader
from fastzips3._engine.stats import Stats
from fastzips3._format.entry import ZipEntry
from fastzips3._format.plan import (
    Directory,
)
from fastzips3._indexing import (
    DEFAULT_SPACING,
    IndexRegistry,
    build_index,
    iter_parallel,
    pack_sidecar,
    read_parallel,
    sozip_index,
    unpack_sidecar,
)
from fastzips3._listing import CachePolicy, list_archive
from fastzips3.errors import (
    FastZipS3Error,
    FormatError,
    MemberNotFoundError,
    PasswordError,
    PathError,
    SourceError,
    UnsupportedError,
)
from fastzips3.member import MemberReader, locate_member, read_held
from fastzips3.options import OpenOptions, ReaderOptions, split_options
from fastzips3.sources.base import Source
from fastzips3.sources.memory import MemorySource
from fastzips3.sources.resolve import open_source
from fastzips3.sources.write import write_object

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["Span", "ZipArchive", "open_archive"]

#: A member read with every check: its content (when kept) and its own problem, or None.
_Result = tuple[bytes | None, FastZipS3Error | None]

#: :meth:`ZipArchive.read` decodes deflate members from this size on in parallel when their
#: checkpoint index is known (1 GB: 0.79 s against 1.21 s sequentially, local file, 2 cores).
_PARALLEL_READ_FROM = 32 << 20


class ZipArchive:
    """A ZIP archive read in place: listed with one request, members streamed on demand.

    Use :func:`open_archive` to make one. It is a context manager; :meth:`close` releases the
    source. Member files stay usable only while the archive is open.
    """

    def __init__(
        self, target: str | os.PathLike[str] | Source, **options: Unpack[OpenOptions]
    ) -> None:
        source_options, engine_config, reader_options = split_options(options)
        source = open_source(target, **source_options)
        self._source_options = source_options
        self._engine = Engine(source, engine_config)
        identity = cache_key(
            source.url,
            endpoint=source_options.get("endpoint_url"),
            version_id=source_options.get("version_id"),
        )
        policy = _cache_policy(source, reader_options, identity)
        if policy.cache is not None:
            cache, key = policy.cache, policy.key
            self._engine.on_changed = lambda: cache.invalidate(key)
        self._verify = reader_options.verify
        self._deflate_backend = reader_options.deflate_backend
        self._password = to_password(reader_options.password)
        self._index_while_reading = reader_options.index_while_reading
        self._closed = False
        try:
            self._directory = list_archive(
                self._engine,
                max_entries=reader_options.max_entries,
                policy=policy,
                metadata_encoding=reader_options.metadata_encoding,
            )
        except BaseException:
            self._engine.close()
            raise
        store = None
        if reader_options.directory_cache is not False and not isinstance(source, MemorySource):
            where = reader_options.directory_cache
            store = DiskCache(None if where is True else Path(where) / "indexes", kind="indexes")
        self._indexes = IndexRegistry(self._engine, store, identity)

    # --- listing ---------------------------------------------------------------------------

    @property
    def _by_name(self) -> dict[str, ZipEntry]:
        # Built on the first lookup, not while listing; the last of duplicate names wins.
        return self._directory.by_name

    @property
    def url(self) -> str:
        """Where the archive is (credentials redacted)."""
        return self._engine.url

    @property
    def size(self) -> int:
        """The archive's size in bytes."""
        return self._directory.size

    @property
    def etag(self) -> str | None:
        """The ETag (or equivalent) of the version being read; every request is pinned to it."""
        return self._engine.version.etag

    @property
    def comment(self) -> bytes:
        """The archive comment."""
        return self._directory.comment

    @property
    def is_zip64(self) -> bool:
        """True when the archive uses ZIP64 end records."""
        return self._directory.zip64

    @property
    def directory(self) -> Directory:
        """The parsed central directory and where it lies."""
        return self._directory

    @property
    def stats(self) -> Stats:
        """Requests and bytes this archive has cost so far."""
        return self._engine.stats

    def entries(self) -> list[ZipEntry]:
        """Every entry, in central directory order."""
        return list(self._directory.entries)

    def namelist(self) -> list[str]:
        """Every entry's name, in central directory order."""
        return [e.name for e in self._directory.entries]

    def getinfo(self, name: str) -> ZipEntry:
        """The entry called ``name``.

        :class:`~fastzips3.errors.MemberNotFoundError` (a :class:`KeyError`) if there is none.
        """
        try:
            return self._by_name[name]
        except KeyError:
            raise MemberNotFoundError(
                f"there is no member named {name!r} in {self.url}", name=name
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[ZipEntry]:
        return iter(self._directory.entries)

    def __len__(self) -> int:
        return len(self._directory.entries)

    # --- reading ---------------------------------------------------------------------------

    def open(
        self,
        member: str | ZipEntry,
        *,
        password: str | bytes | None = None,
        verify: bool | None = None,
    ) -> MemberReader:
        """A seekable binary file over ``member`` (a name or an entry from this archive).

        ``password`` (str or bytes) decrypts a ZipCrypto or WinZip AES member; without it the
        archive's ``password`` option applies.
        """
        self._check_open()
        entry = self.getinfo(member) if isinstance(member, str) else member
        return MemberReader(
            self._engine,
            self._directory,
            entry,
            verify=self._verify if verify is None else verify,
            deflate_backend=self._deflate_backend,
            password=self._member_password(password),
            index=self.index(entry),
            on_index=(lambda index: self._indexes.put(entry, index))
            if self._index_while_reading
            else None,
            index_spacing=DEFAULT_SPACING,
        )

    def data_span(self, member: str | ZipEntry) -> tuple[int, int]:
        """Where ``member``'s compressed bytes lie in the object: ``(start, end)``.

        Costs one small GET of the local header (through the block cache), not the data.
        """
        self._check_open()
        entry = self.getinfo(member) if isinstance(member, str) else member
        layout = locate_member(self._engine, self._directory, entry)
        return layout.data_start, layout.data_end

    # --- checkpoint indexes --------------------------------------------------------------

    def index(self, member: str | ZipEntry) -> DeflateIndex | None:
        """The checkpoint index of a deflate member, if one is known (SOZip, cache, built)."""
        self._check_open()
        entry = self.getinfo(member) if isinstance(member, str) else member
        if entry.compress_type != 8 or entry.is_encrypted:
            return None
        found = self._indexes.get(entry)
        if found is None:
            found = sozip_index(lambda e: self.read(e), entry, self._by_name)
            if found is not None:
                self._indexes.put(entry, found)
        return found

    def build_index(
        self,
        member: str | ZipEntry,
        *,
        spacing: int = DEFAULT_SPACING,
        on_progress: Callable[[int], None] | None = None,
    ) -> DeflateIndex:
        """Decode a deflate member once and keep a checkpoint every ``spacing`` output bytes.

        The index is kept in memory and in the on-disk cache (keyed by the archive, the member
        and the object's ETag), so later seeks in this member, in this process or a later one,
        cost one GET and at most ``spacing`` bytes of decompression.
        """
        self._check_open()
        entry = self.getinfo(member) if isinstance(member, str) else member
        index = build_index(
            self._engine, self._directory, entry, spacing=spacing, on_progress=on_progress
        )
        self._indexes.put(entry, index)
        return index

    def save_indexes(self, target: str) -> int:
        """Write every known index of this archive to a sidecar (a path or ``s3://`` URL).

        Other machines load it with :meth:`load_indexes` (``fastzips3 index`` + ``--sidecar``
        does both): an index is built once and used everywhere. Returns how many were saved.
        """
        self._check_open()
        items = []
        for entry in self._directory.entries:
            found = self.index(entry)
            if found is not None:
                items.append((entry, found))
        try:
            write_object(target, pack_sidecar(self._engine.version, items), **self._source_options)
        except OSError as exc:
            if isinstance(exc, FastZipS3Error):
                raise
            raise PathError.from_os_error(
                exc, f"cannot write the index sidecar {target}: {exc.strerror or exc}"
            ) from exc
        return len(items)

    def load_indexes(self, target: str) -> int:
        """Read a sidecar written by :meth:`save_indexes`; return how many indexes applied.

        Indexes made from another version of the archive (ETag), or a corrupt sidecar, are
        ignored: they never yield wrong bytes.
        """
        self._check_open()
        source = open_source(target, **self._source_options)
        try:
            data = source.read_tail(1 << 40).data
        finally:
            source.close()
        by_offset = {e.header_offset: e for e in self._directory.entries}
        items = unpack_sidecar(data, self._engine.version, by_offset)
        for entry, found in items:
            self._indexes.put(entry, found)
        return len(items)

    def iter_parallel(
        self,
        member: str | ZipEntry,
        *,
        start: int = 0,
        end: int | None = None,
        workers: int | None = None,
    ) -> Iterator[bytes]:
        """Bytes ``[start, end)`` of a deflate member, decoded in parallel from its index.

        Builds the index first if none is known. Pieces come in order, with at most
        ``2 * workers`` in memory (default: one worker per core).
        """
        self._check_open()
        entry = self.getinfo(member) if isinstance(member, str) else member
        index = self.index(entry) or self.build_index(entry)
        return iter_parallel(
            self._engine,
            self._directory,
            entry,
            index,
            start=start,
            end=end,
            workers=workers or os.cpu_count() or 2,
            backend=self._deflate_backend,
        )

    def read_parallel(
        self,
        member: str | ZipEntry,
        *,
        start: int = 0,
        end: int | None = None,
        workers: int | None = None,
    ) -> bytes:
        """Bytes ``[start, end)`` of a deflate member (default: all), decoded in parallel."""
        self._check_open()
        entry = self.getinfo(member) if isinstance(member, str) else member
        return read_parallel(
            self._engine,
            self._directory,
            entry,
            self.index(entry) or self.build_index(entry),
            start=start,
            end=end,
            workers=workers or os.cpu_count() or 2,
            backend=self._deflate_backend,
        )

    def raw_stream(self, start: int, end: int) -> SequentialReader:
        """Object bytes ``[start, end)`` streamed in order (prefetched, pinned, retried)."""
        self._check_open()
        return self._engine.sequential(start, end)

    def read_raw_range(self, start: int, end: int, *, lo: int, hi: int) -> bytes:
        """Bytes ``[start, end)`` of the object, never fetching outside ``[lo, hi)``."""
        self._check_open()
        return self._engine.read(start, end, lo=lo, hi=hi)

    def read(self, member: str | ZipEntry, *, password: str | bytes | None = None) -> bytes:
        """The whole content of ``member``, checked against its size and CRC-32.

        A deflate member of 32 MiB or more whose checkpoint index is known is decoded in
        parallel from it (:meth:`iter_parallel`: the same bytes and the same CRC check).
        """
        entry = self.getinfo(member) if isinstance(member, str) else member
        if entry.file_size >= _PARALLEL_READ_FROM and self.index(entry) is not None:
            return self.read_parallel(entry)
        with self.open(entry, password=password) as f:
            return f.read()

    def select(self, members: str | Iterable[str | ZipEntry] | None = None) -> list[ZipEntry]:
        """The entries ``members`` names, in central directory order.

        None: every member that is not a directory. A str: a glob over names (``fnmatch``
        rules, case-sensitive; ``*`` also crosses ``/``), which may match nothing. Names or
        entries: those, each once; a missing name raises
        :class:`~fastzips3.errors.MemberNotFoundError`.
        """
        self._check_open()
        if members is None:
            return [e for e in self._directory.entries if not e.is_dir()]
        if isinstance(members, str):
            import fnmatch

            return [e for e in self._directory.entries if fnmatch.fnmatchcase(e.name, members)]
        chosen = {id(e): e for e in (self.getinfo(m) if isinstance(m, str) else m for m in members)}
        position = {id(e): i for i, e in enumerate(self._directory.entries)}
        return sorted(chosen.values(), key=lambda e: position.get(id(e), -1))

    def iter_members(
        self,
        members: str | Iterable[str | ZipEntry] | None = None,
        *,
        password: str | bytes | None = None,
        max_gap: int = DEFAULT_MAX_GAP,
        max_span: int = DEFAULT_MAX_SPAN,
        workers: int = 8,
        max_held: int | None = None,
    ) -> Generator[tuple[ZipEntry, bytes], None, None]:
        """Each member's entry and its whole content (size and CRC-32 checked), in the order
        the members lie in the archive, reading many members with few requests.

        ``members`` is as for :meth:`select`. Members whose bytes lie close together are
        fetched by one GET: a gap of at most ``max_gap`` bytes between two of them is fetched
        rather than split, and no GET is larger than ``max_span`` bytes. ``workers`` GETs run
        at once, holding at most ``max_held`` bytes (default ``workers * max_span``) that were
        fetched and not yet handed on; a member larger than ``max_span`` is streamed alone.

        A member that fails its own checks (CRC-32, size, corrupt data, password) does not stop
        the others: every other member still arrives, then the first such error is raised, with
        the names of any others in its notes. A failed request stops the iteration.
        """
        from fastzips3._engine.coalesce import fetch_spans

        self._check_open()
        chosen = self.select(members)
        spans = self._plan_spans(chosen, max_gap=max_gap, max_span=max_span)
        failed: list[FastZipS3Error] = []
        fetched = fetch_spans(
            self._engine.fetch,
            spans,
            workers=workers,
            max_held=max_held if max_held is not None else workers * max_span,
        )
        try:
            for span, data in fetched:
                for i in span.items:
                    content, problem = self._member_result(
                        chosen[i], password, data, span.start, keep=True
                    )
                    if problem is not None:
                        failed.append(problem)
                    elif content is not None:
                        yield chosen[i], content
        finally:
            fetched.close()
        if failed:
            first = failed[0]
            if len(failed) > 1:
                others = ", ".join(repr(getattr(e, "name", "?")) for e in failed[1:6])
                more = f" and {len(failed) - 6} more" if len(failed) > 6 else ""
                note = f"{len(failed) - 1} other members failed too: {others}{more}"
                if hasattr(first, "add_note"):  # Python 3.11+
                    first.add_note(note)
            raise first

    def test_members(
        self,
        members: str | Iterable[str | ZipEntry] | None = None,
        *,
        password: str | bytes | None = None,
        max_gap: int = DEFAULT_MAX_GAP,
        max_span: int = DEFAULT_MAX_SPAN,
        workers: int = 8,
    ) -> Generator[tuple[ZipEntry, FastZipS3Error | None], None, None]:
        """Check members (sizes, CRC-32, password) with the requests of :meth:`iter_members`:
        each member's entry and its problem, or None when it is sound, in archive order.

        The content is not kept: small members are decoded from their coalesced GETs, and a
        member larger than ``max_span`` streams in chunks, several at once on ``workers``
        threads, so memory stays bounded whatever the sizes. A problem of the member itself
        (damage, a missing or wrong password, an unsupported method) is reported, not raised;
        a failed request raises.
        """
        from collections import deque
        from concurrent.futures import Future, ThreadPoolExecutor

        from fastzips3._engine.coalesce import fetch_spans

        self._check_open()
        chosen = self.select(members)
        spans = self._plan_spans(chosen, max_gap=max_gap, max_span=max_span)
        pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="fastzips3-test")
        pending: deque[tuple[ZipEntry, Future[_Result] | None, FastZipS3Error | None]] = deque()
        fetched = fetch_spans(
            self._engine.fetch, spans, workers=workers, max_held=workers * max_span
        )
        try:
            for span, data in fetched:
                for i in span.items:
                    entry = chosen[i]
                    if data is None:  # streamed on a worker thread, in chunks
                        checking = self._member_result
                        streaming = pool.submit(checking, entry, password, None, 0, keep=False)
                        pending.append((entry, streaming, None))
                    else:
                        _, problem = self._member_result(
                            entry, password, data, span.start, keep=False
                        )
                        pending.append((entry, None, problem))
                while pending and (
                    pending[0][1] is None or pending[0][1].done() or len(pending) > 4 * workers
                ):
                    entry, future, problem = pending.popleft()
                    yield entry, future.result()[1] if future is not None else problem
            while pending:
                entry, future, problem = pending.popleft()
                yield entry, future.result()[1] if future is not None else problem
        finally:
            fetched.close()
            for _, future, _ in pending:
                if future is not None:
                    future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

    def _member_result(
        self,
        entry: ZipEntry,
        password: str | bytes | None,
        held: bytes | None,
        base: int,
        *,
        keep: bool,
    ) -> _Result:
        """Read ``entry`` with every check: from ``held`` (the object's bytes from ``base``)
        when given, else through its reader (in chunks, dropped, unless ``keep``). Its content
        (when kept) and its own problem (damage, password, method), or None; errors of the
        source propagate."""
        try:
            if held is not None:
                data: bytes | None = self._read_held(entry, held, base, password=password)
            else:
                with self.open(entry, password=password, verify=True) as f:
                    if keep:
                        data = f.read()
                    else:
                        data = None
                        while f.read(1 << 20):
                            pass
        except SourceError:
            raise
        except (FormatError, PasswordError, UnsupportedError) as exc:
            return None, exc
        return data if keep else None, None

    def _member_password(self, password: str | bytes | None) -> bytes | None:
        """The password a member read uses: the one given, else the archive's."""
        return to_password(password) if password is not None else self._password

    def _plan_spans(
        self,
        entries: list[ZipEntry],
        *,
        max_gap: int = DEFAULT_MAX_GAP,
        max_span: int = DEFAULT_MAX_SPAN,
    ) -> list[Span]:
        """Coalesced GETs over ``entries`` (see :mod:`fastzips3._engine.coalesce`); a span's
        ``items`` index ``entries``."""
        directory = self._directory
        ranges = [
            (e.header_offset, max(e.header_offset, min(directory.data_limit(e), directory.size)))
            for e in entries
        ]
        return plan_spans(ranges, max_gap=max_gap, max_span=max_span)

    def _fetch_span(self, span: Span) -> bytes:
        """The bytes of one planned span: one GET (retried as any other)."""
        self._check_open()
        return self._engine.fetch(span.start, span.end)

    def _read_held(
        self, entry: ZipEntry, held: bytes, base: int, *, password: str | bytes | None = None
    ) -> bytes:
        """``entry``'s checked content, decoded from ``held`` (the object's bytes from
        ``base``) with no request."""
        return read_held(
            entry,
            self._directory,
            held,
            base,
            verify=self._verify,
            deflate_backend=self._deflate_backend,
            password=self._member_password(password),
        )

    # --- lifecycle -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("the archive is closed")

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def close(self) -> None:
        """Release the source and the cache."""
        if not self._closed:
            self._closed = True
            self._engine.close()

    def __enter__(self) -> ZipArchive:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self)} entries"
        return f"<ZipArchive {self.url!r} {state}>"


def _cache_policy(source: Source, reader_options: ReaderOptions, identity: str) -> CachePolicy:
    """The directory cache for this source: on disk for remote objects unless disabled."""
    where = reader_options.directory_cache
    if where is False or not getattr(source, "remote", True):
        return CachePolicy(None, "")
    cache = DiskCache(None if where is True else Path(where))
    return CachePolicy(cache, identity, reader_options.cache_ttl)


def open_archive(
    target: str | os.PathLike[str] | Source, **options: Unpack[OpenOptions]
) -> ZipArchive:
    """Open the archive at ``target`` (s3://, http(s)://, file://, fsspec URL, path or Source).

    Listing costs one request for an ordinary archive (a suffix GET of ``tail_size`` bytes), two
    when the central directory is larger than that. See :class:`OpenOptions` for the options.
    """
    return ZipArchive(target, **options)

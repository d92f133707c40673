"""extract_to_s3: the members of an archive become objects under an S3 prefix, never through
local disk.

The request plan, per member (``workers`` members at once):

- **stored, at least 10 MiB, archive on S3**: one small GET of the local header (the data
  span), ``CreateMultipartUpload`` (``ChecksumAlgorithm=CRC32``), ``UploadPartCopy`` over the
  member's data range in about 16 parts of at least 16 MiB, 8 in flight (``CopySourceRange``,
  ``CopySourceIfMatch`` with the archive's ETag), ``CompleteMultipartUpload``. No member byte
  travels through the client. The CRC-32 of the copy is S3's checksums of the parts, combined
  (``crc32_combine``), and checked against the central directory before the completion; where
  S3 gives no checksum the member is reported unverified (``verify=True`` then reads its bytes
  from the archive to check them);
- **compressed or large**: the member reader (ranged GETs, decoded on its own thread, CRC
  checked at the end) streams into a multipart upload of 8 MiB parts, two uploading while the
  next fills, so decoding overlaps the uploads; memory stays bounded whatever the size (three
  parts and the reader's read-ahead per member);
- **small** (under 8 MiB): fetched with their neighbours by few coalesced GETs
  (:meth:`ZipArchive.iter_members`), each written by one ``PutObject``.

Every upload is completed only after the member's CRC-32 and size were verified; a failed
member's upload is aborted, so nothing half-written becomes visible and no multipart upload is
left open. Keys follow the same rules as local extraction (:func:`member_path_problem`: no
``..``, no absolute paths, no control characters) and duplicates are refused before anything is
written. Directory entries make no object; symbolic links are skipped.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from fastzips3._engine.retry import RetryPolicy
from fastzips3.errors import (
    CRCMismatchError,
    DestinationExistsError,
    FastZipS3Error,
    LimitExceededError,
    UnsafePathError,
)
from fastzips3.extract import (
    DEFAULT_MAX_ENTRIES,
    DEFAULT_MAX_TOTAL_SIZE,
    member_path_problem,
)
from fastzips3.sinks.base import CopySpec
from fastzips3.sinks.crc import crc32
from fastzips3.sinks.s3 import MIN_PART, MultipartSink
from fastzips3.sources.resolve import s3_config
from fastzips3.sources.s3 import parse_s3_url, s3_client

if TYPE_CHECKING:
    from fastzips3._format.entry import ZipEntry
    from fastzips3.archive import ZipArchive

__all__ = ["S3ExtractReport", "extract_to_s3"]

#: Stored members from this size on are copied server-side.
COPY_MIN = 2 * MIN_PART
#: Members below this size are fetched coalesced and written with one PutObject.
SMALL = 8 << 20
_PART = 8 << 20
#: What a compressed member's reader hands over at a time (into one reused buffer).
_READ = 1 << 20
#: Part uploads in flight per streamed member (3 parts of 8 MiB wait or fly): the store's
#: ingest, not the client, is the limit (SeaweedFS here: ~12 CPU-s per GiB uploaded, the same
#: at 4 x 8 MiB as at 8 x 16 MiB), so more would only hold memory.
_UPLOADS = 2


@dataclass(frozen=True)
class S3ExtractReport:
    """What :func:`extract_to_s3` did.

    ``written``: the keys made; ``skipped``: member names not written (directories, symbolic
    links, existing keys with ``overwrite="never"``); ``copied``: members placed server-side;
    ``verified_by_checksum``: of those, members whose CRC-32 S3's checksums confirmed without a
    read; ``unverified``: copied members whose CRC-32 was not checked (S3 gave no checksum and
    ``verify`` was off); ``bytes_sent``: bytes uploaded through the client.
    """

    written: tuple[str, ...]
    skipped: tuple[str, ...]
    copied: int
    verified_by_checksum: int
    unverified: tuple[str, ...]
    bytes_sent: int


@dataclass
class _Run:
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    copied: int = 0
    by_checksum: int = 0
    sent: int = 0
    errors: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _plan(
    entries: list[ZipEntry],
    prefix: str,
    junk_paths: bool,
    max_entries: int | None,
    max_total_size: int | None,
    run: _Run,
) -> list[tuple[ZipEntry, str]]:
    if max_entries is not None and len(entries) > max_entries:
        raise LimitExceededError(f"{len(entries)} members, more than max_entries={max_entries}")
    total = sum(e.file_size for e in entries)
    if max_total_size is not None and total > max_total_size:
        raise LimitExceededError(
            f"the members hold {total} bytes, more than max_total_size={max_total_size}"
        )
    seen: dict[str, str] = {}
    out: list[tuple[ZipEntry, str]] = []
    for entry in entries:
        if entry.is_dir() or entry.is_symlink():
            run.skipped.append(entry.name)
            continue
        problem = member_path_problem(entry.name)
        if problem is not None:
            raise UnsafePathError(
                f"refusing to extract {entry.name!r}: {problem}", name=entry.name, reason=problem
            )
        name = entry.name.replace("\\", "/").lstrip("/")
        parts = [p for p in name.split("/") if p not in ("", ".")]
        rel = parts[-1] if junk_paths else "/".join(parts)
        key = prefix + rel
        if key in seen:
            raise UnsafePathError(
                f"refusing to extract {entry.name!r}: it would write the key {key!r} that "
                f"{seen[key]!r} writes too",
                name=entry.name,
                reason="duplicate key",
            )
        seen[key] = entry.name
        out.append((entry, key))
    return out


def extract_to_s3(
    archive: str | os.PathLike[str] | ZipArchive,
    dest_prefix: str,
    members: Iterable[ZipEntry | str] | None = None,
    *,
    overwrite: Literal["never", "always", "error"] = "error",
    junk_paths: bool = False,
    verify: bool = False,
    workers: int = 4,
    max_total_size: int | None = DEFAULT_MAX_TOTAL_SIZE,
    max_entries: int | None = DEFAULT_MAX_ENTRIES,
    password: str | bytes | None = None,
    on_progress: Callable[[int], None] | None = None,
    **options: Any,
) -> S3ExtractReport:
    """Extract ``members`` (default: all) of ``archive`` to objects under ``dest_prefix``
    (``s3://bucket/prefix/``; a member ``a/b.txt`` becomes ``prefix/a/b.txt``).

    See the module docstring for the request plan. ``overwrite``: ``"error"`` (default) makes
    each completion conditional (``If-None-Match: *``) and an existing key raises
    :class:`~fastzips3.errors.DestinationExistsError`; ``"never"`` keeps existing keys (the
    member is reported skipped); ``"always"`` replaces them. ``verify`` reads the bytes of
    copied members whose CRC-32 S3 could not confirm. ``options`` are
    :func:`fastzips3.open_archive`'s (S3 credentials, endpoint, ``retries``...) and apply to
    the destination too. The first failure is raised once every other member is done, with
    the others named in its notes. A failed run leaves nothing behind: no upload, no object
    of a failed member, and the objects it did complete are deleted (with ``"always"``, an
    object it replaced cannot come back).
    """
    from fastzips3.archive import ZipArchive as _ZipArchive
    from fastzips3.archive import open_archive

    if not dest_prefix.startswith("s3://"):
        raise ValueError(f"dest_prefix must be an s3:// URL, not {dest_prefix!r}")
    bucket, _, key_prefix = dest_prefix[5:].partition("/")
    if not bucket:
        raise ValueError(f"dest_prefix needs a bucket: {dest_prefix!r}")
    if key_prefix and not key_prefix.endswith("/"):
        key_prefix += "/"
    owned = not isinstance(archive, _ZipArchive)
    opened: ZipArchive = (
        open_archive(archive, **options) if not isinstance(archive, _ZipArchive) else archive
    )
    try:
        return _Extraction(
            opened, bucket, key_prefix, overwrite, verify, workers, password, on_progress, options
        ).run(members, junk_paths, max_entries, max_total_size)
    finally:
        if owned:
            opened.close()


class _Extraction:
    def __init__(
        self,
        archive: ZipArchive,
        bucket: str,
        prefix: str,
        overwrite: str,
        verify: bool,
        workers: int,
        password: str | bytes | None,
        on_progress: Callable[[int], None] | None,
        options: dict[str, Any],
    ) -> None:
        if overwrite not in ("never", "always", "error"):
            raise ValueError(f"overwrite must be never, always or error, not {overwrite!r}")
        self.archive = archive
        self.bucket = bucket
        self.prefix = prefix
        self.overwrite = overwrite
        self.verify = verify
        self.workers = max(1, workers)
        self.password = password
        self.on_progress = on_progress
        retries = options.get("retries")
        self.retries = retries if isinstance(retries, RetryPolicy) else RetryPolicy()
        sink_options = {k: v for k, v in options.items() if k != "retries"}
        self.client = options.get("s3_client") or s3_client(
            s3_config(sink_options, max_pool_connections=4 * self.workers + 8)  # type: ignore[arg-type]
        )
        self.run_state = _Run()
        self.source_s3 = archive.url.startswith("s3://")

    def _sink(self, key: str) -> MultipartSink:
        return MultipartSink(
            f"s3://{self.bucket}/{key}",
            client=self.client,
            part_size=_PART,
            workers=_UPLOADS,
            retries=self.retries,
            if_none_match=self.overwrite != "always",
        )

    def _done(self, entry: ZipEntry, key: str, sink: MultipartSink) -> None:
        try:
            result = sink.commit()
        except DestinationExistsError:
            if self.overwrite != "never":
                raise
            with self.run_state.lock:
                self.run_state.skipped.append(entry.name)
            return
        with self.run_state.lock:
            self.run_state.written.append(key)
            self.run_state.sent += result.sent

    def run(
        self,
        members: Iterable[ZipEntry | str] | None,
        junk_paths: bool,
        max_entries: int | None,
        max_total_size: int | None,
    ) -> S3ExtractReport:
        try:
            return self._run(members, junk_paths, max_entries, max_total_size)
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        """Delete the objects this failed run created (they did not exist before: each was
        completed with ``If-None-Match: *``). With ``overwrite="always"`` an object it replaced
        cannot be restored; one it created is deleted all the same."""
        with self.run_state.lock:
            keys, self.run_state.written = list(self.run_state.written), []
        for start in range(0, len(keys), 1000):  # DeleteObjects takes up to 1,000 keys
            batch = keys[start : start + 1000]
            try:
                self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
                )
            except Exception:  # the run's own error is the one to raise
                for key in batch:
                    with contextlib.suppress(Exception):
                        self.client.delete_object(Bucket=self.bucket, Key=key)

    def _run(
        self,
        members: Iterable[ZipEntry | str] | None,
        junk_paths: bool,
        max_entries: int | None,
        max_total_size: int | None,
    ) -> S3ExtractReport:
        chosen = self.archive.select(members)
        items = _plan(chosen, self.prefix, junk_paths, max_entries, max_total_size, self.run_state)
        small = [(e, k) for e, k in items if e.compress_size < SMALL and e.file_size < SMALL]
        large = [(e, k) for e, k in items if (e, k) not in small]
        keys = {id(e): k for e, k in small}
        slots = threading.BoundedSemaphore(2 * self.workers)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="fastzips3-s3x") as pool:
            futures: list[Future[None]] = [
                pool.submit(self._guarded, self._large, e, k) for e, k in large
            ]
            if small:
                try:
                    for entry, data in self.archive.iter_members(
                        [e for e, _ in small], password=self.password, workers=self.workers
                    ):
                        slots.acquire()
                        future = pool.submit(self._guarded, self._put, entry, keys[id(entry)], data)
                        future.add_done_callback(lambda _f: slots.release())
                        futures.append(future)
                except FastZipS3Error as exc:
                    with self.run_state.lock:
                        self.run_state.errors.append(exc)
            for future in futures:
                future.result()
        state = self.run_state
        if state.errors:
            first = state.errors[0]
            if len(state.errors) > 1 and hasattr(first, "add_note"):
                others = ", ".join(repr(getattr(e, "name", "?")) for e in state.errors[1:6])
                first.add_note(f"{len(state.errors) - 1} other members failed too: {others}")
            raise first
        return S3ExtractReport(
            tuple(sorted(state.written)),
            tuple(state.skipped),
            state.copied,
            state.by_checksum,
            tuple(state.unverified),
            state.sent,
        )

    def _guarded(self, work: Callable[..., None], *args: Any) -> None:
        try:
            work(*args)
        except (FastZipS3Error, OSError) as exc:
            with self.run_state.lock:
                self.run_state.errors.append(exc)

    def _put(self, entry: ZipEntry, key: str, data: bytes) -> None:
        with self._sink(key) as sink:
            sink.write(data)
            self._done(entry, key, sink)
        if self.on_progress is not None:
            self.on_progress(len(data))

    def _large(self, entry: ZipEntry, key: str) -> None:
        copyable = (
            self.source_s3
            and entry.compress_type == 0
            and not entry.is_encrypted
            and entry.file_size >= COPY_MIN
            and entry.compress_size == entry.file_size
        )
        if copyable:
            self._copy(entry, key)
            return
        buf = bytearray(_READ)
        view = memoryview(buf)
        with self._sink(key) as sink, self.archive.open(entry, password=self.password) as f:
            while n := f.readinto(view):
                sink.write(view[:n])  # the sink copies into its part: buf is reused
                if self.on_progress is not None:
                    self.on_progress(n)
            self._done(entry, key, sink)

    def _copy(self, entry: ZipEntry, key: str) -> None:
        start, end = self.archive.data_span(entry)
        src_bucket, src_key = parse_s3_url(self.archive.url)
        spec = CopySpec(src_bucket, src_key, self.archive.etag, None, self.archive.url)

        def fetch(a: int, b: int) -> bytes:
            return self.archive.read_raw_range(a, b, lo=a, hi=b)

        with self._sink(key) as sink:
            crc = sink.copy_range(spec, start, end, fetch)
            verified = crc is not None
            if crc is None and self.verify:
                crc = 0
                for pos in range(start, end, _PART):
                    crc = crc32(fetch(pos, min(end, pos + _PART)), crc)
            if crc is not None and crc != entry.crc:
                raise CRCMismatchError(
                    f"{entry.name}: CRC-32 {crc:08x} of the copied bytes, {entry.crc:08x} in "
                    "the archive; nothing was written",
                    name=entry.name,
                    expected=entry.crc,
                    actual=crc,
                )
            self._done(entry, key, sink)
        with self.run_state.lock:
            self.run_state.copied += 1
            if verified:
                self.run_state.by_checksum += 1
            elif crc is None:
                self.run_state.unverified.append(entry.name)
        if self.on_progress is not None:
            self.on_progress(entry.file_size)

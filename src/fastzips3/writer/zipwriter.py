"""ZipWriter: a new ZIP archive on S3 (a streamed multipart upload) or in a local file, or an
existing one with members added (append).

The request plan of a new archive on S3: nothing until 16 MiB are ready, then
``CreateMultipartUpload`` and one ``UploadPart`` per 16 MiB on ``workers`` threads, and
``CompleteMultipartUpload`` (``IfNoneMatch="*"`` without ``overwrite``) at :meth:`ZipWriter.close`;
an archive under 16 MiB is one ``PutObject``. No local disk is used. An S3 object added stored
goes by ``UploadPartCopy``: only the bytes that complete the current part to 5 MiB travel.

Each local header carries the member's CRC-32 and sizes. A member that is compressed whole
before it is written (up to ``piece_size``) gets them at once; for a longer one the header is
written first with zeros, kept back in the unsent part (:meth:`Sink.hold`), and rewritten when
the member ends. Only :meth:`ZipWriter.open` without ``file_size`` (a stream of unknown length)
writes a data descriptor (with ZIP64 sizes) instead. ZIP64 records appear when a value needs
them; UTF-8 names set bit 11.

Appending (``mode="a"``): the new object is the old one's bytes up to its central directory,
copied server-side (``UploadPartCopy``, pinned by ``CopySourceIfMatch``), then the new members,
then a new central directory and end records; the completion carries ``IfMatch`` with the old
ETag, so an archive changed meanwhile raises :class:`~fastzips3.errors.DestinationChangedError`
and nothing is lost. Until then the old archive is untouched; ``to=`` writes the result to
another key and leaves the source as it is.
"""

from __future__ import annotations

import collections
import io
import os
import stat
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from fastzips3._engine.retry import RetryPolicy
from fastzips3._format.extra import iter_extra
from fastzips3._format.write import (
    FLAG_DATA_DESCRIPTOR,
    METHOD_DEFLATE,
    METHOD_STORED,
    U32_MAX,
    MemberRecord,
    central_header,
    data_descriptor,
    encode_name,
    end_records,
    local_header,
)
from fastzips3.errors import (
    CRCMismatchError,
    FastZipS3Error,
    LimitExceededError,
    PathError,
    SourceError,
)
from fastzips3.sinks import open_sink
from fastzips3.sinks.base import SinkResult
from fastzips3.sinks.s3 import MIN_PART, MultipartSink
from fastzips3.writer.compress import DEFAULT_PIECE, PieceCompressor, compress_whole, method_of
from fastzips3.writer.s3io import S3Object, head_object, iter_chunks, s3_fetch

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from fastzips3.archive import ZipArchive
    from fastzips3.sinks.local import LocalSink

__all__ = ["WriteResult", "ZipWriter", "append"]

#: A deflate member larger than this gets a ZIP64 local header (deflate may expand data).
_ZIP64_DEFLATE = 3 << 30
_FILE_MODE = 0o100644
_DIR_MODE = 0o40755

DateTime = tuple[int, int, int, int, int, int]


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What :meth:`ZipWriter.close` made: the archive's URL, size, ETag, member count, and the
    requests: ``parts`` uploaded or copied, ``copies`` made server-side, bytes ``sent``."""

    url: str
    size: int
    etag: str | None
    entries: int
    parts: int
    copies: int
    sent: int


@dataclass(slots=True)
class _Job:
    name: str
    raw: bytes
    flags: int
    method: int
    date_time: DateTime
    external_attr: int
    size: int
    future: Future[tuple[bytes | memoryview, int]] | None
    data: bytes | memoryview = b""
    done: tuple[bytes | memoryview, int] | None = None


def _now() -> DateTime:
    t = time.localtime()
    return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)


def _mtime(seconds: float) -> DateTime:
    t = time.localtime(seconds)
    return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)


def _arcname(path: str) -> str:
    name = path.replace(os.sep, "/")
    if name.startswith("s3://"):
        name = name[5:].partition("/")[2]
    while name.startswith(("./", "/")):
        name = name[2:] if name.startswith("./") else name[1:]
    if len(name) > 1 and name[1] == ":":
        name = name[2:].lstrip("/")
    return name


def _without_zip64(extra: bytes) -> bytes:
    return b"".join(
        hid.to_bytes(2, "little") + len(data).to_bytes(2, "little") + data
        for hid, data in iter_extra(extra)
        if hid != 0x0001
    )


class ZipWriter:
    """Write a ZIP archive to ``target`` (``s3://bucket/key`` or a local path), like
    :class:`zipfile.ZipFile` in mode ``"w"`` or ``"a"``.

    - ``compression``: ``"deflate"`` (default, ISA-L), ``"stored"``, ``"zstd"``, or zipfile's
      constants; ``level``: zipfile's 0-9, mapped onto ISA-L's levels (see
      :mod:`fastzips3.writer.compress`);
    - ``workers``: threads that compress and upload (default: CPUs, at least 2);
    - ``overwrite``: replace an existing target (default True; False makes the completion
      conditional, ``If-None-Match: *``, and an existing target raises
      :class:`~fastzips3.errors.DestinationExistsError`);
    - ``to``: in mode ``"a"``, write the result there and leave ``target`` untouched;
    - ``piece_size``: how a long member is cut for parallel compression (4 MiB);
      ``part_size``: the multipart part size (16 MiB, at least 5 MiB);
    - the source options of :func:`fastzips3.open_archive` (``endpoint_url``, ``profile``,
      credentials, ``s3_client``, ``retries``, ...).

    Nothing appears at the target before :meth:`close`; leaving the ``with`` block by an
    exception (or :meth:`abort`) drops everything, and no multipart upload is left open.
    Not thread-safe (as zipfile): one thread writes.
    """

    def __init__(
        self,
        target: str | os.PathLike[str],
        mode: Literal["w", "a"] = "w",
        *,
        compression: int | str = METHOD_DEFLATE,
        level: int | None = None,
        workers: int | None = None,
        overwrite: bool = True,
        to: str | os.PathLike[str] | None = None,
        piece_size: int = DEFAULT_PIECE,
        part_size: int | None = None,
        comment: bytes | None = None,
        **options: Any,
    ) -> None:
        if mode not in ("w", "a"):
            raise ValueError(f"mode must be 'w' or 'a', not {mode!r}")
        if to is not None and mode != "a":
            raise ValueError("to= is for mode='a' (append into another object)")
        if piece_size < 64 << 10:
            raise ValueError("piece_size must be at least 64 KiB")
        self._target = os.fspath(target)
        self._method = method_of(compression)
        self._level = level
        self._workers = workers or max(2, os.cpu_count() or 2)
        self._piece = piece_size
        self._options = dict(options)
        retries = self._options.get("retries")
        self._retries: RetryPolicy = retries if isinstance(retries, RetryPolicy) else RetryPolicy()
        self._records: list[MemberRecord] = []
        self._names: set[str] = set()
        self._pending: collections.deque[_Job] = collections.deque()
        self._pending_bytes = 0
        self._max_pending = 2 * self._workers * piece_size
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="fastzips3-zip")
        self._closed = False
        self._open_member: _MemberWriter | None = None
        self._client: Any = None
        self.result: WriteResult | None = None
        self.comment = comment if comment is not None else b""
        out = os.fspath(to) if to is not None else self._target
        archive: ZipArchive | None = None
        if mode == "a":
            archive = self._open_existing()
            if comment is None:
                self.comment = archive.comment
        if_match = None
        if mode == "a" and to is None and self._target.startswith("s3://"):
            if_match = archive.etag if archive is not None else None
            if if_match is None:
                raise SourceError("S3 gave no ETag for the archive; cannot guard the append")
        sink_options = {k: v for k, v in self._options.items() if k != "retries"}
        self._sink: MultipartSink | LocalSink = open_sink(
            out,
            options=sink_options,
            overwrite=overwrite,
            if_match=if_match,
            workers=self._workers,
            part_size=part_size,
            retries=self._retries,
        )
        try:
            if archive is not None:
                self._copy_existing(archive)
        except BaseException:
            self.abort()
            raise
        finally:
            if archive is not None:
                archive.close()

    # --- append ------------------------------------------------------------------------------

    def _open_existing(self) -> ZipArchive:
        from fastzips3.archive import open_archive

        opts = {k: v for k, v in self._options.items() if k != "directory_cache"}
        return open_archive(self._target, directory_cache=False, **opts)

    def _copy_existing(self, archive: ZipArchive) -> None:
        directory = archive.directory
        cd_start = directory.cd_start
        if self._target.startswith("s3://"):
            spec = head_spec = S3Object(
                self._target,
                *self._bucket_key(self._target),
                archive.size,
                archive.etag,
                None,
                None,
                None,
            ).spec
            fetch = s3_fetch(self._s3_client(), head_spec, self._retries)
        else:
            from fastzips3.sinks.base import CopySpec
            from fastzips3.sources.resolve import open_source

            source = open_source(self._target)
            spec = CopySpec("", "", url=self._target)

            def fetch(a: int, b: int) -> bytes:
                return source.read_range(start=a, end=b)

        self._sink.copy_range(spec, 0, cd_start, fetch)
        for e in archive.entries():
            self._records.append(
                MemberRecord(
                    e.raw_name,
                    e.flag_bits,
                    e.compress_type,
                    e.date_time,
                    e.crc,
                    e.compress_size,
                    e.file_size,
                    e.header_offset,
                    e.external_attr,
                    _without_zip64(e.extra),
                    e.comment,
                    made_by=(e.create_system << 8) | 63,
                )
            )
            self._names.add(e.name)

    @staticmethod
    def _bucket_key(url: str) -> tuple[str, str]:
        from fastzips3.sources.s3 import parse_s3_url

        return parse_s3_url(url)

    def _s3_client(self) -> Any:
        if self._client is None:
            client = self._options.get("s3_client")
            if client is None:
                from fastzips3.sources.resolve import s3_config
                from fastzips3.sources.s3 import s3_client

                client = s3_client(s3_config(self._options))  # type: ignore[arg-type]
            self._client = client
        return self._client

    # --- adding members ----------------------------------------------------------------------

    def _claim(self, name: str) -> tuple[bytes, int]:
        self._check()
        if self._open_member is not None:
            raise ValueError("a member opened with open(name, 'w') is still being written")
        if name in self._names:
            raise ValueError(f"duplicate member name {name!r} (zipfile would write it twice)")
        raw, flags = encode_name(name)
        self._names.add(name)
        return raw, flags

    def writestr(
        self,
        name: str,
        data: bytes | bytearray | memoryview | str,
        compress_type: int | str | None = None,
        compresslevel: int | None = None,
        *,
        date_time: DateTime | None = None,
        mode: int = _FILE_MODE,
    ) -> None:
        """Add ``data`` (str is encoded as UTF-8) as member ``name``."""
        payload = data.encode("utf-8") if isinstance(data, str) else data
        method = self._method if compress_type is None else method_of(compress_type)
        level = self._level if compresslevel is None else compresslevel
        if name.endswith("/"):
            mode = _DIR_MODE
        raw, flags = self._claim(name)
        attr = (mode << 16) | (0x10 if name.endswith("/") else 0)
        size = memoryview(payload).nbytes
        when = date_time or _now()
        if size <= self._piece:
            self._queue_small(name, raw, flags, method, level, when, attr, payload)
        else:
            self._drain(all_=True)
            view = memoryview(payload).cast("B")
            chunks = (view[i : i + self._piece] for i in range(0, size, self._piece))
            self._stream(raw, flags, method, level, when, attr, chunks, size)

    def mkdir(self, name: str, mode: int = 0o755) -> None:
        """Add a directory entry (``name`` gets a trailing slash)."""
        name = name if name.endswith("/") else name + "/"
        self.writestr(name, b"", METHOD_STORED, mode=stat.S_IFDIR | mode)

    def write(
        self,
        filename: str | os.PathLike[str],
        arcname: str | None = None,
        compress_type: int | str | None = None,
        compresslevel: int | None = None,
        *,
        crc32: int | None = None,
    ) -> None:
        """Add a local file, a directory entry, or an S3 object (``s3://bucket/key``).

        An S3 object added stored into an S3 archive is copied server-side for all but the
        bytes that complete the current part to 5 MiB; its CRC-32 comes from S3's checksums of
        the copied parts (``crc32``, or the object's full-object CRC32 checksum, must agree
        with them). Where S3 gives no checksum and none is known, the object is read once to
        compute it.
        """
        text = os.fspath(filename)
        method = self._method if compress_type is None else method_of(compress_type)
        level = self._level if compresslevel is None else compresslevel
        if text.startswith("s3://"):
            self._write_s3(text, arcname or _arcname(text), method, level, crc32)
            return
        path = Path(text)
        try:
            info = path.stat()
        except OSError as exc:
            raise PathError.from_os_error(exc) from exc
        name = arcname if arcname is not None else _arcname(text)
        if stat.S_ISDIR(info.st_mode):
            name = name if name.endswith("/") else name + "/"
            raw, flags = self._claim(name)
            attr = ((stat.S_IFDIR | stat.S_IMODE(info.st_mode)) << 16) | 0x10
            self._queue_small(
                name, raw, flags, METHOD_STORED, None, _mtime(info.st_mtime), attr, b""
            )
            return
        raw, flags = self._claim(name)
        attr = (stat.S_IFREG | stat.S_IMODE(info.st_mode)) << 16
        when = _mtime(info.st_mtime)
        try:
            if info.st_size <= self._piece:
                data = path.read_bytes()
                self._queue_small(name, raw, flags, method, level, when, attr, data)
                return
            self._drain(all_=True)
            with path.open("rb") as f:
                self._stream(raw, flags, method, level, when, attr, (), info.st_size, f.fileno())
        except OSError as exc:
            if isinstance(exc, FastZipS3Error):
                raise
            raise PathError.from_os_error(exc) from exc

    def open(
        self,
        name: str,
        mode: Literal["w"] = "w",
        *,
        file_size: int | None = None,
        compress_type: int | str | None = None,
        compresslevel: int | None = None,
        date_time: DateTime | None = None,
    ) -> io.BufferedIOBase:
        """A writable file for member ``name``. With ``file_size`` the local header gets the
        sizes and CRC-32 (rewritten when the member ends); without it the member ends with a
        data descriptor. Close it before adding the next member."""
        if mode != "w":
            raise ValueError("ZipWriter.open only writes (mode 'w'); read with open_archive")
        method = self._method if compress_type is None else method_of(compress_type)
        level = self._level if compresslevel is None else compresslevel
        raw, flags = self._claim(name)
        self._drain(all_=True)
        member = _MemberWriter(
            self, raw, flags, method, level, date_time or _now(), _FILE_MODE << 16, file_size
        )
        self._open_member = member
        return member

    # --- internals ---------------------------------------------------------------------------

    def _check(self) -> None:
        if self._closed:
            raise ValueError("the ZipWriter is closed")

    def _queue_small(
        self,
        name: str,
        raw: bytes,
        flags: int,
        method: int,
        level: int | None,
        when: DateTime,
        attr: int,
        data: bytes | bytearray | memoryview,
    ) -> None:
        size = memoryview(data).nbytes
        buf = bytes(data) if isinstance(data, bytearray) else data
        if size == 0:
            method = METHOD_STORED
        future = self._pool.submit(compress_whole, buf, method, level) if size else None
        job = _Job(name, raw, flags, method, when, attr, size, future, buf)
        if future is None:
            job.done = (b"", 0)
        self._pending.append(job)
        self._pending_bytes += size
        self._drain(all_=False)

    def _drain(self, *, all_: bool) -> None:
        while self._pending:
            job = self._pending[0]
            ready = job.done is not None or (job.future is not None and job.future.done())
            if not (ready or all_ or self._pending_bytes > self._max_pending):
                break
            self._pending.popleft()
            self._pending_bytes -= job.size
            if job.done is not None:
                payload, crc = job.done
            else:
                assert job.future is not None
                payload, crc = job.future.result()
            method = job.method
            if method != METHOD_STORED and memoryview(payload).nbytes >= job.size:
                payload, method = job.data, METHOD_STORED  # incompressible: stored is smaller
            job.data = b""
            self._write_known(job, payload, crc, method)

    def _write_known(self, job: _Job, payload: bytes | memoryview, crc: int, method: int) -> None:
        offset = self._sink.position
        csize = memoryview(payload).nbytes
        header = local_header(
            job.raw,
            flags=job.flags,
            method=method,
            date_time=job.date_time,
            crc=crc,
            compress_size=csize,
            file_size=job.size,
        )
        self._sink.write(header)
        self._sink.write(payload)
        self._records.append(
            MemberRecord(
                job.raw,
                job.flags,
                method,
                job.date_time,
                crc,
                csize,
                job.size,
                offset,
                job.external_attr,
            )
        )

    def _begin(
        self,
        raw: bytes,
        flags: int,
        method: int,
        when: DateTime,
        size: int | None,
    ) -> tuple[int, bool, int, int]:
        """Write a local header to be completed later: (offset, zip64, header length, hold)."""
        offset = self._sink.position
        if size is None:
            flags |= FLAG_DATA_DESCRIPTOR
            zip64 = True
        else:
            zip64 = size >= (_ZIP64_DEFLATE if method != METHOD_STORED else U32_MAX)
        header = local_header(
            raw,
            flags=flags,
            method=method,
            date_time=when,
            crc=0,
            compress_size=0,
            file_size=0,
            zip64=zip64,
        )
        self._sink.write(header)
        token = self._sink.hold(offset, offset + len(header)) if size is not None else -1
        return offset, zip64, len(header), token

    def _end(
        self,
        raw: bytes,
        flags: int,
        method: int,
        when: DateTime,
        attr: int,
        begun: tuple[int, bool, int, int],
        crc: int,
        csize: int,
        usize: int,
        descriptor: bool,
    ) -> None:
        offset, zip64, length, token = begun
        if descriptor:
            flags |= FLAG_DATA_DESCRIPTOR
            self._sink.write(data_descriptor(crc, csize, usize, zip64=True))
        else:
            if not zip64 and (csize >= U32_MAX or usize >= U32_MAX):
                raise LimitExceededError(
                    f"member {raw!r} grew past 4 GiB while it was written without ZIP64 sizes"
                )
            header = local_header(
                raw,
                flags=flags,
                method=method,
                date_time=when,
                crc=crc,
                compress_size=csize,
                file_size=usize,
                zip64=zip64,
            )
            assert len(header) == length
            self._sink.patch(offset, header)
            self._sink.release(token)
        self._records.append(
            MemberRecord(raw, flags, method, when, crc, csize, usize, offset, attr)
        )

    def _stream(
        self,
        raw: bytes,
        flags: int,
        method: int,
        level: int | None,
        when: DateTime,
        attr: int,
        chunks: Iterable[bytes | memoryview],
        size: int | None,
        fd: int | None = None,
    ) -> None:
        """Write a member from ``chunks``, or, with ``fd``, from ``size`` bytes of that open
        file (read by the compressing workers themselves: see ``PieceCompressor.feed_file``)."""
        begun = self._begin(raw, flags, method, when, size)
        compressor = PieceCompressor(
            method, level, self._pool, piece=self._piece, max_ahead=self._workers + 1
        )
        try:
            if fd is not None and size is not None:
                for out in compressor.feed_file(fd, 0, size):
                    self._sink.write(out)
            for chunk in chunks:
                for out in compressor.feed(chunk):
                    self._sink.write(out)
            for out in compressor.finish():
                self._sink.write(out)
        except BaseException:
            compressor.cancel()
            raise
        self._end(
            raw,
            flags,
            method,
            when,
            attr,
            begun,
            compressor.crc,
            compressor.compressed,
            compressor.size,
            descriptor=size is None,
        )

    def _write_s3(
        self, url: str, name: str, method: int, level: int | None, crc: int | None
    ) -> None:
        client = self._s3_client()
        obj = head_object(client, url, self._retries)
        raw, flags = self._claim(name)
        when = obj.mtime or _now()
        attr = _FILE_MODE << 16
        fetch = s3_fetch(client, obj.spec, self._retries)
        known = crc if crc is not None else obj.crc
        self._drain(all_=True)
        if (
            method == METHOD_STORED
            and isinstance(self._sink, MultipartSink)
            and obj.size >= 2 * MIN_PART
        ):
            begun = self._begin(raw, flags, METHOD_STORED, when, obj.size)
            copied = self._sink.copy_range(obj.spec, 0, obj.size, fetch)
            if copied is None:
                copied = known
            if copied is None:  # no checksum anywhere: read it once to compute it
                from fastzips3.sinks.crc import crc32 as crc_of

                value = 0
                for data in iter_chunks(fetch, 0, obj.size):
                    value = crc_of(data, value)
                copied = value
            elif known is not None and known != copied:
                raise CRCMismatchError(
                    f"{url}: the CRC-32 given or stored for the object ({known:08x}) is not "
                    f"that of its bytes ({copied:08x})",
                    name=name,
                    expected=known,
                    actual=copied,
                )
            self._end(
                raw, flags, METHOD_STORED, when, attr, begun, copied, obj.size, obj.size, False
            )
            return
        self._stream(
            raw, flags, method, level, when, attr, iter_chunks(fetch, 0, obj.size), obj.size
        )

    # --- closing -----------------------------------------------------------------------------

    def close(self) -> WriteResult:
        """Write the central directory and end records, and make the archive visible."""
        if self._closed:
            if self.result is None:
                raise ValueError("the ZipWriter was aborted")
            return self.result
        try:
            if self._open_member is not None:
                self._open_member.close()
            self._drain(all_=True)
            cd_offset = self._sink.position
            directory = bytearray()
            for record in self._records:
                directory += central_header(record)
            self._sink.write(directory)
            self._sink.write(
                end_records(
                    entries=len(self._records),
                    cd_offset=cd_offset,
                    cd_size=len(directory),
                    comment=self.comment,
                )
            )
            done: SinkResult = self._sink.commit()
        except BaseException:
            self.abort()
            raise
        self._closed = True
        self._pool.shutdown(wait=True)
        self.result = WriteResult(
            done.url,
            done.size,
            done.etag,
            len(self._records),
            done.parts,
            done.copies,
            done.sent,
        )
        return self.result

    def abort(self) -> None:
        """Drop everything written (no object, no open upload); idempotent."""
        self._closed = True
        for job in self._pending:
            if job.future is not None:
                job.future.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._sink.abort()

    def __enter__(self) -> ZipWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()

    def __iter__(self) -> Iterator[str]:
        return iter(self.namelist())

    def namelist(self) -> list[str]:
        """The names written so far (and the old ones, when appending)."""
        return sorted(self._names)


class _MemberWriter(io.BufferedIOBase):
    """The file :meth:`ZipWriter.open` returns."""

    def __init__(
        self,
        writer: ZipWriter,
        raw: bytes,
        flags: int,
        method: int,
        level: int | None,
        when: DateTime,
        attr: int,
        size: int | None,
    ) -> None:
        super().__init__()
        self._writer = writer
        self._args = (raw, flags, method, when, attr)
        self._size = size
        self._begun = writer._begin(raw, flags, method, when, size)
        self._compressor = PieceCompressor(
            method, level, writer._pool, piece=writer._piece, max_ahead=writer._workers + 1
        )

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("write to a closed member")
        for out in self._compressor.feed(data):
            self._writer._sink.write(out)
        return memoryview(data).nbytes

    def close(self) -> None:
        if self.closed:
            return
        super().close()
        raw, flags, method, when, attr = self._args
        c = self._compressor
        for out in c.finish():
            self._writer._sink.write(out)
        self._writer._open_member = None
        if self._size is not None and c.size != self._size:
            from fastzips3.errors import SizeMismatchError

            self._writer.abort()
            raise SizeMismatchError(
                f"member {raw!r}: {c.size} bytes were written, file_size said {self._size}",
                name=raw.decode("utf-8", "replace"),
                expected=self._size,
                actual=c.size,
            )
        self._writer._end(
            raw,
            flags,
            method,
            when,
            attr,
            self._begun,
            c.crc,
            c.compressed,
            c.size,
            descriptor=self._size is None,
        )


def append(
    target: str | os.PathLike[str],
    members: Mapping[str, bytes | str | os.PathLike[str]] | Iterable[str | os.PathLike[str]],
    *,
    to: str | os.PathLike[str] | None = None,
    compression: int | str = METHOD_DEFLATE,
    level: int | None = None,
    workers: int | None = None,
    **options: Any,
) -> WriteResult:
    """Add members to the archive at ``target`` (``ZipWriter(target, mode="a")``).

    ``members`` is a mapping of member name to content (bytes) or to a path or ``s3://`` URL
    to add under that name, or an iterable of paths and URLs (named as zipfile names them).
    See :class:`ZipWriter` for the request plan, the guard against a concurrent change
    (:class:`~fastzips3.errors.DestinationChangedError`) and ``to=``.
    """
    with ZipWriter(
        target,
        "a",
        to=to,
        compression=compression,
        level=level,
        workers=workers,
        **options,
    ) as writer:
        if isinstance(members, Mapping):
            for name, value in members.items():
                if isinstance(value, (bytes, bytearray, memoryview)):
                    writer.writestr(name, value)
                else:
                    writer.write(value, name)
        else:
            for item in members:
                writer.write(item)
    assert writer.result is not None
    return writer.result

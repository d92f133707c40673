"""The readers under test, as run inside a benchmark child process.

Each reader does one operation (``list``, ``read``, ``random``, ``seek`` or ``parallel``) on one
archive and verifies what it got: the entry count, or the member's size and CRC-32 (computed
here over every byte handed back, on top of whatever the reader checks itself), or the CRC-32
of the concatenated random reads, or of the bytes read after one seek.  Set-up that is not
specific to the archive -- importing, making a boto3 client or an s3fs session -- happens in
:meth:`Reader.setup`, outside the timed part.

Peers are imported lazily, so a missing peer fails only its own rows.
"""

from __future__ import annotations

import io
import struct
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

__all__ = ["READERS", "Job", "Reader", "ReaderSpec", "crc32", "make_reader"]

MiB = 1 << 20
_READ_CHUNK = MiB


def _crc_function() -> Callable[[bytes, int], int]:
    try:
        from isal import isal_zlib  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # pragma: no cover - isal is a fastzips3 dependency on CPython
        return zlib.crc32

    def crc(data: bytes, value: int) -> int:
        return int(isal_zlib.crc32(data, value))

    return crc


#: CRC-32 used by the harness for every reader (isal's when installed: ~20 GB/s).
crc32 = _crc_function()

#: Python 3.12+ ``ZipExtFile.seek`` seeks stored members directly instead of reading through.
DIRECT_STORED_SEEK: bool = sys.version_info >= (3, 12)


@dataclass
class Job:
    """What a child process runs: one reader, one operation, one archive, one profile.

    ``endpoint`` is the proxy the reader must go through; ``http_url`` is the object's plain
    URL through that proxy (the bucket is public).  ``positions`` are offsets inside the
    member for ``random``; ``seek_offset`` and ``seek_size`` the one read of ``seek``;
    ``options`` are fastzips3 options (``chunk_size=`` etc.).
    """

    reader: str
    op: str
    bucket: str
    key: str
    endpoint: str
    access_key: str
    secret_key: str
    region: str
    http_url: str
    local_path: str
    tmp_dir: str
    member: str = ""
    expect_entries: int = 0
    expect_size: int = 0
    expect_crc: int = 0
    data_offset: int = 0
    compress_size: int = 0
    positions: list[int] = field(default_factory=list)
    read_size: int = 4096
    seek_offset: int = 0
    seek_size: int = 0
    options: dict[str, int] = field(default_factory=dict)


class VerifyError(Exception):
    """A reader returned different bytes or entries than the archive holds."""


class Reader:
    """Base class: one reader's ``list``, ``read``, ``random``, ``seek`` and ``parallel``."""

    #: Human-readable name, also the key in :data:`READERS`.
    name = ""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.notes: list[str] = []
        #: ``time.monotonic()`` when the archive had been listed (``seek`` only): the parent
        #: counts the requests its proxy saw after that moment (the clock is system-wide).
        self.opened_at: float | None = None
        #: Anything else worth keeping in the result (JSON-serializable).
        self.extra: dict[str, Any] = {}

    def mark_opened(self) -> None:
        """Note that the archive is listed: later requests are the operation's own."""
        self.opened_at = time.monotonic()

    @property
    def s3_url(self) -> str:
        """``s3://bucket/key`` of the archive."""
        return f"s3://{self.job.bucket}/{self.job.key}"

    def setup(self) -> None:
        """Untimed preparation (clients, sessions, local bytes)."""

    def list(self) -> int:
        """List the archive; return the number of entries."""
        raise NotImplementedError(f"{self.name} cannot list")

    def read(self) -> tuple[int, int]:
        """Read the whole member in 1 MiB reads; return (size, CRC-32)."""
        raise NotImplementedError(f"{self.name} cannot read")

    def random(self) -> tuple[int, int]:
        """Do the random reads in order; return (bytes, CRC-32 of their concatenation)."""
        raise NotImplementedError(f"{self.name} cannot seek")

    def seek(self) -> tuple[int, int]:
        """Open the member, seek to ``seek_offset``, read ``seek_size``; return (bytes, CRC)."""
        raise NotImplementedError(f"{self.name} cannot seek in a member")

    def parallel(self) -> tuple[int, int]:
        """Decode the whole member (in parallel where the reader can); return (size, CRC)."""
        raise NotImplementedError(f"{self.name} cannot decode in parallel")

    def close(self) -> None:
        """Release what :meth:`setup` made (timed, as part of the operation)."""

    def fastzips3_s3_options(self) -> dict[str, Any]:
        """The S3 options a user passes to fastzips3 (endpoint, keys, region); fastzips3 makes
        its shared client from them, made here once, untimed, as for every other reader."""
        from fastzips3.sources.resolve import s3_config
        from fastzips3.sources.s3 import s3_client

        options: dict[str, Any] = {
            "endpoint_url": self.job.endpoint,
            "aws_access_key_id": self.job.access_key,
            "aws_secret_access_key": self.job.secret_key,
            "region": self.job.region,
        }
        s3_client(s3_config(options))  # type: ignore[arg-type]
        return options

    def boto3_client(self, **config: Any) -> Any:
        """A boto3 S3 client through the proxy, SigV4 and path-style as the server wants."""
        import boto3
        from botocore.config import Config

        options: dict[str, Any] = {
            "signature_version": "s3v4",
            "s3": {"addressing_style": "path"},
            "retries": {"mode": "standard", "total_max_attempts": 3},
            "max_pool_connections": 64,
        }
        options.update(config)
        session = boto3.session.Session(
            aws_access_key_id=self.job.access_key,
            aws_secret_access_key=self.job.secret_key,
            region_name=self.job.region,
        )
        return session.client("s3", endpoint_url=self.job.endpoint, config=Config(**options))


def read_stream(stream: IO[bytes] | io.BufferedIOBase | io.RawIOBase) -> tuple[int, int]:
    """Read ``stream`` to its end in 1 MiB reads; return (size, CRC-32)."""
    total = 0
    crc = 0
    while True:
        chunk = stream.read(_READ_CHUNK)
        if not chunk:
            break
        total += len(chunk)
        crc = crc32(chunk, crc)
    return total, crc


def read_exactly(stream: IO[bytes] | io.BufferedIOBase | io.RawIOBase, size: int) -> bytes:
    """Read ``size`` bytes (fewer only at the end), looping over short reads."""
    parts: list[bytes] = []
    left = size
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def seek_reads(
    stream: IO[bytes] | io.BufferedIOBase | io.RawIOBase,
    base: int,
    positions: list[int],
    size: int,
) -> tuple[int, int]:
    """``size`` bytes at ``base + p`` for each ``p``; return (bytes, CRC-32 of them all)."""
    total = 0
    crc = 0
    for pos in positions:
        stream.seek(base + pos)
        data = read_exactly(stream, size)
        total += len(data)
        crc = crc32(data, crc)
    return total, crc


# --- fastzips3 -----------------------------------------------------------------------------------


class FastZipS3Reader(Reader):
    """fastzips3's native API: ``open_archive`` then ``archive.open(member)``."""

    name = "fastzips3"

    def setup(self) -> None:
        """Import fastzips3 and make its S3 client (as a user's options make it)."""
        import fastzips3

        self._fastzips3 = fastzips3
        self._s3 = self.fastzips3_s3_options()

    def _open(self) -> Any:
        options: dict[str, Any] = dict(self.job.options)
        return self._fastzips3.open_archive(self.s3_url, **self._s3, **options)

    def list(self) -> int:
        """``len(archive.entries())``."""
        with self._open() as archive:
            n = len(archive.entries())
            self.notes.append(f"fastzips3 stats: {archive.stats}")
            return n

    def read(self) -> tuple[int, int]:
        """Stream the member through ``archive.open``."""
        with self._open() as archive:
            with archive.open(self.job.member) as member:
                result = read_stream(member)
            self.notes.append(f"fastzips3 stats: {archive.stats}")
            return result

    def random(self) -> tuple[int, int]:
        """``member.seek(p); member.read(n)`` on the member reader."""
        with self._open() as archive:
            with archive.open(self.job.member) as member:
                result = seek_reads(member, 0, self.job.positions, self.job.read_size)
            self.notes.append(f"fastzips3 stats: {archive.stats}")
            return result

    #: For ``seek`` and ``parallel``: whether the member's checkpoint index must be known
    #: (found in ``$FASTZIPS3_CACHE_DIR/indexes``, built there by the parent's set-up child) or
    #: must not be (a fresh cache directory). Checked, so a cell never measures the wrong case.
    want_index: bool | None = None

    def _check_index(self, archive: Any) -> None:
        known = archive.index(self.job.member) is not None
        self.extra["index_known"] = known
        if self.want_index is not None and known != self.want_index:
            state = "no checkpoint index was found" if self.want_index else "an index was found"
            raise VerifyError(f"{state} for {self.job.member} (FASTZIPS3_CACHE_DIR set-up)")

    def seek(self) -> tuple[int, int]:
        """``archive.open(member)``, ``seek(offset)``, ``read(size)``."""
        with self._open() as archive:
            self.mark_opened()
            listed = archive.stats.requests
            with archive.open(self.job.member) as member:
                self._check_index(archive)
                member.seek(self.job.seek_offset)
                data = read_exactly(member, self.job.seek_size)
            self.extra["fastzips3_requests_after_open"] = archive.stats.requests - listed
            self.notes.append(f"fastzips3 stats: {archive.stats}")
            return len(data), crc32(data, 0)

    def parallel(self) -> tuple[int, int]:
        """The sequential baseline: ``archive.open(member)`` read in 1 MiB chunks."""
        return self.read()

    def build_index(self) -> tuple[int, int]:
        """Set-up, not a measurement: ``archive.build_index(member)`` into the disk cache.

        Returns (the member size the index covers, 0); the index's size and checkpoints go to
        :attr:`extra`. The index is read back from its bytes to check it round-trips.
        """
        with self._open() as archive:
            listed = archive.stats.requests, archive.stats.bytes_fetched
            t0 = time.perf_counter()
            index = archive.build_index(self.job.member)
            seconds = time.perf_counter() - t0
            blob = index.to_bytes()
            again = type(index).from_bytes(blob)
            if again.checkpoints != index.checkpoints:
                raise VerifyError("the index does not round-trip through to_bytes/from_bytes")
            self.extra.update(
                build_seconds=seconds,
                index_bytes=len(blob),
                checkpoints=len(index.checkpoints),
                spacing=index.spacing,
                member_size=index.size,
                compress_size=index.compress_size,
                build_requests=archive.stats.requests - listed[0],
                build_bytes_fetched=archive.stats.bytes_fetched - listed[1],
            )
            self.notes.append(f"fastzips3 stats: {archive.stats}")
            return index.size, 0


class FastZipS3HttpReader(FastZipS3Reader):
    """fastzips3's native API on the plain HTTP URL: the transport remotezip uses, unsigned."""

    name = "fastzips3 (HTTP URL)"

    def setup(self) -> None:
        """Import fastzips3 and its HTTP source (remotezip's setup imports requests likewise)."""
        import fastzips3
        import fastzips3.sources.http  # fastzips3 imports it lazily, on the first HTTP URL

        self._fastzips3 = fastzips3

    def _open(self) -> Any:
        return self._fastzips3.open_archive(self.job.http_url, **dict(self.job.options))


class FastZipS3IndexedReader(FastZipS3Reader):
    """fastzips3 with the member's checkpoint index already in its disk cache."""

    name = "fastzips3 + index"
    want_index = True


class FastZipS3NoIndexReader(FastZipS3Reader):
    """fastzips3 with an empty disk cache: a seek in a deflate member decodes from its start."""

    name = "fastzips3 (no index)"
    want_index = False

    def parallel(self) -> tuple[int, int]:
        """Not this reader's case."""
        raise NotImplementedError("the parallel scenario compares fastzips3 and iter_parallel")


class FastZipS3ParallelReader(FastZipS3Reader):
    """``archive.iter_parallel(member, workers=N)`` from a prebuilt index."""

    workers = 2
    want_index = True

    def parallel(self) -> tuple[int, int]:
        """Every piece in order, CRC'd as it comes."""
        total = 0
        crc = 0
        with self._open() as archive:
            self._check_index(archive)
            for piece in archive.iter_parallel(self.job.member, workers=self.workers):
                total += len(piece)
                crc = crc32(piece, crc)
            self.notes.append(f"fastzips3 stats: {archive.stats}")
        return total, crc

    def seek(self) -> tuple[int, int]:
        """Not this reader's case."""
        raise NotImplementedError("iter_parallel reads ranges, not one seek")


def _parallel_reader(workers: int) -> type[FastZipS3ParallelReader]:
    class Parallel(FastZipS3ParallelReader):
        pass

    Parallel.name = f"fastzips3 iter_parallel (workers={workers})"
    Parallel.workers = workers
    Parallel.__name__ = Parallel.__qualname__ = f"FastZipS3Parallel{workers}Reader"
    return Parallel


#: ``iter_parallel`` with 2, 3 and 4 workers.
PARALLEL_READERS = [_parallel_reader(n) for n in (2, 3, 4)]


class FastZipS3LocalReader(FastZipS3Reader):
    """fastzips3's native API on the local file (no network)."""

    name = "fastzips3 (local file)"

    def setup(self) -> None:
        """Import fastzips3."""
        import fastzips3

        self._fastzips3 = fastzips3

    def _open(self) -> Any:
        return self._fastzips3.open_archive(self.job.local_path, **dict(self.job.options))


class FastZipS3LocalParallelReader(FastZipS3ParallelReader):
    """``iter_parallel`` on the local file: the decoding speed-up without network or proxy."""

    name = "fastzips3 iter_parallel (local file, workers=2)"
    workers = 2
    setup = FastZipS3LocalReader.setup
    _open = FastZipS3LocalReader._open


# --- zipfile over a file object ----------------------------------------------------------------


class ZipfileReader(Reader):
    """Stdlib ``zipfile.ZipFile`` over a seekable file object made by :meth:`open_raw`.

    Random reads go to the file object at the member's data offset (found from its local
    header through the same file object): Python 3.11's ``ZipExtFile.seek`` reads forward
    through the member (and restarts from its start on every backward seek), which makes 1,000
    random reads in a 1 GB member take hours whatever the file object; Python 3.12's
    ``ZipExtFile`` does this same direct seek for stored members.
    """

    def open_raw(self) -> Any:
        """Open the archive as a seekable binary file object (timed)."""
        raise NotImplementedError

    def list(self) -> int:
        """``len(ZipFile(f).infolist())``."""
        raw = self.open_raw()
        try:
            with zipfile.ZipFile(raw) as zf:
                return len(zf.infolist())
        finally:
            raw.close()

    def read(self) -> tuple[int, int]:
        """``ZipFile(f).open(member)`` read to the end (zipfile checks the CRC too)."""
        raw = self.open_raw()
        try:
            with zipfile.ZipFile(raw) as zf, zf.open(self.job.member) as member:
                return read_stream(member)
        finally:
            raw.close()

    def seek(self) -> tuple[int, int]:
        """``ZipFile(f).open(member)``, ``seek(offset)``, ``read(size)``.

        For a deflate member ``ZipExtFile.seek`` decodes forward to the offset (there is no
        other way without an index) through the file object.
        """
        raw = self.open_raw()
        try:
            with zipfile.ZipFile(raw) as zf:
                self.mark_opened()
                with zf.open(self.job.member) as member:
                    member.seek(self.job.seek_offset)
                    data = read_exactly(member, self.job.seek_size)
                return len(data), crc32(data, 0)
        finally:
            raw.close()

    def random(self) -> tuple[int, int]:
        """Seek and read the file object at the member's data offset."""
        raw = self.open_raw()
        try:
            with zipfile.ZipFile(raw) as zf:
                info = zf.getinfo(self.job.member)
                if info.compress_type != zipfile.ZIP_STORED:
                    raise ValueError("random reads need a stored member")
                raw.seek(info.header_offset)
                header = read_exactly(raw, 30)
                if header[:4] != b"PK\x03\x04":
                    raise VerifyError("bad local header")
                name_len, extra_len = struct.unpack_from("<HH", header, 26)
                base = info.header_offset + 30 + name_len + extra_len
                return seek_reads(raw, base, self.job.positions, self.job.read_size)
        finally:
            raw.close()


class RemoteFileReader(ZipfileReader):
    """``zipfile.ZipFile(fastzips3.RemoteFile(url))``."""

    name = "zipfile + fastzips3.RemoteFile"

    def setup(self) -> None:
        """Import fastzips3 and make its S3 client (as a user's options make it)."""
        import fastzips3

        self._fastzips3 = fastzips3
        self._s3 = self.fastzips3_s3_options()

    def open_raw(self) -> Any:
        """A ``RemoteFile`` (one suffix GET)."""
        options: dict[str, Any] = dict(self.job.options)
        return self._fastzips3.RemoteFile(self.s3_url, **self._s3, **options)


class S3fsReader(ZipfileReader):
    """``zipfile.ZipFile(s3fs.S3FileSystem().open(path))`` with s3fs's defaults."""

    name = "zipfile + s3fs"

    def setup(self) -> None:
        """Make the filesystem and its aiobotocore session."""
        import s3fs

        self._fs = s3fs.S3FileSystem(
            key=self.job.access_key,
            secret=self.job.secret_key,
            endpoint_url=self.job.endpoint,
            client_kwargs={"region_name": self.job.region},
            config_kwargs={"s3": {"addressing_style": "path"}, "signature_version": "s3v4"},
            skip_instance_cache=True,
            use_listings_cache=False,
        )
        self._fs.connect()

    def open_raw(self) -> Any:
        """``fs.open(path, "rb")`` (a HEAD, then 50 MiB read-ahead blocks by default)."""
        return self._fs.open(f"{self.job.bucket}/{self.job.key}", "rb")


class SmartOpenReader(ZipfileReader):
    """``zipfile.ZipFile(smart_open.open("s3://...", "rb"))`` with smart_open's defaults."""

    name = "zipfile + smart_open"

    def setup(self) -> None:
        """Import smart_open and make its boto3 client."""
        import smart_open

        self._smart_open = smart_open
        self._client = self.boto3_client()

    def open_raw(self) -> Any:
        """``smart_open.open(url, "rb", transport_params={"client": client})``."""
        return self._smart_open.open(
            self.s3_url, "rb", compression="disable", transport_params={"client": self._client}
        )


class LocalZipfileReader(ZipfileReader):
    """Stdlib zipfile on the local file (no network)."""

    name = "zipfile (local file)"

    def open_raw(self) -> Any:
        """``open(path, "rb")``."""
        return open(self.job.local_path, "rb")


class Boto3DownloadReader(ZipfileReader):
    """Download the whole object with boto3 ``download_fileobj``, then zipfile on disk."""

    name = "boto3 download + zipfile"

    def setup(self) -> None:
        """Make the boto3 client."""
        self._client = self.boto3_client()

    def open_raw(self) -> Any:
        """Download to a temporary file (deleted on close) and return it, rewound."""
        f = tempfile.TemporaryFile(dir=self.job.tmp_dir, prefix="bench-download-")  # noqa: SIM115
        try:
            self._client.download_fileobj(self.job.bucket, self.job.key, f)
            f.flush()
            f.seek(0)
        except BaseException:
            f.close()
            raise
        return f


class RemotezipReader(Reader):
    """``remotezip.RemoteZip(http_url)`` (requests, ranged GETs on the plain HTTP URL)."""

    name = "remotezip"

    def setup(self) -> None:
        """Import remotezip and make a requests session."""
        import remotezip
        import requests

        self._remotezip = remotezip
        self._session = requests.Session()

    def _open(self) -> Any:
        return self._remotezip.RemoteZip(self.job.http_url, session=self._session)

    def list(self) -> int:
        """``len(RemoteZip(url).infolist())``."""
        with self._open() as zf:
            return len(zf.infolist())

    def read(self) -> tuple[int, int]:
        """``RemoteZip(url).open(member)`` read to the end."""
        with self._open() as zf, zf.open(self.job.member) as member:
            return read_stream(member)

    def seek(self) -> tuple[int, int]:
        """``RemoteZip(url).open(member)``, ``seek(offset)`` (decodes forward), ``read(size)``."""
        with self._open() as zf:
            self.mark_opened()
            with zf.open(self.job.member) as member:
                member.seek(self.job.seek_offset)
                data = read_exactly(member, self.job.seek_size)
            return len(data), crc32(data, 0)

    def random(self) -> tuple[int, int]:
        """``ZipExtFile.seek`` + read; only on Python 3.12+, where seeking is direct."""
        if not DIRECT_STORED_SEEK:
            raise NotImplementedError(
                "needs Python 3.12+: 3.11's ZipExtFile.seek reads through the member"
            )
        with self._open() as zf, zf.open(self.job.member) as member:
            return seek_reads(member, 0, self.job.positions, self.job.read_size)

    def close(self) -> None:
        """Close the requests session."""
        self._session.close()


# --- in-memory inflate baselines ---------------------------------------------------------------


class _InflateReader(Reader):
    """Inflate the deflate member's compressed bytes from memory, 1 MiB of input at a time."""

    def _decompressobj(self) -> Any:
        raise NotImplementedError

    def setup(self) -> None:
        """Load the member's compressed bytes from the local archive into memory."""
        with open(self.job.local_path, "rb") as f:
            f.seek(self.job.data_offset)
            self._data = f.read(self.job.compress_size)
        if len(self._data) != self.job.compress_size:
            raise VerifyError("short compressed data")

    def read(self) -> tuple[int, int]:
        """Inflate everything and CRC the output."""
        d = self._decompressobj()
        view = memoryview(self._data)
        total = 0
        crc = 0
        for start in range(0, len(view), _READ_CHUNK):
            out = d.decompress(view[start : start + _READ_CHUNK])
            total += len(out)
            crc = crc32(out, crc)
        out = d.flush()
        total += len(out)
        crc = crc32(out, crc)
        return total, crc


class IsalInflateReader(_InflateReader):
    """isal's ``decompressobj`` (raw deflate)."""

    name = "isal inflate (memory)"

    def _decompressobj(self) -> Any:
        from isal import isal_zlib

        return isal_zlib.decompressobj(-15)


class ZlibInflateReader(_InflateReader):
    """stdlib zlib's ``decompressobj`` (raw deflate)."""

    name = "zlib inflate (memory)"

    def _decompressobj(self) -> Any:
        return zlib.decompressobj(-15)


# --- registry ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReaderSpec:
    """What the parent needs to know about a reader: its class and what it can do."""

    cls: type[Reader]
    ops: frozenset[str]
    remote: bool = True
    why_not: dict[str, str] = field(default_factory=dict)
    #: The child's FASTZIPS3_CACHE_DIR gets the member's prebuilt checkpoint index.
    needs_index: bool = False
    #: Compared in every main scenario (else only in the scenarios that list it).
    in_main: bool = True


_ALL = frozenset({"list", "read", "random", "seek"})
_RANDOM_NA = (
    "n/a: needs Python 3.12+ (3.11's ZipExtFile.seek reads through the member; "
    "remotezip's file object cannot seek outside a member read)"
)

#: Every reader, in table order.
READERS: dict[str, ReaderSpec] = {
    FastZipS3Reader.name: ReaderSpec(FastZipS3Reader, _ALL | {"parallel", "build_index"}),
    FastZipS3HttpReader.name: ReaderSpec(FastZipS3HttpReader, _ALL),
    RemoteFileReader.name: ReaderSpec(RemoteFileReader, _ALL),
    S3fsReader.name: ReaderSpec(S3fsReader, _ALL),
    SmartOpenReader.name: ReaderSpec(SmartOpenReader, _ALL),
    RemotezipReader.name: ReaderSpec(
        RemotezipReader,
        _ALL if DIRECT_STORED_SEEK else frozenset({"list", "read", "seek"}),
        why_not={} if DIRECT_STORED_SEEK else {"random": _RANDOM_NA},
    ),
    Boto3DownloadReader.name: ReaderSpec(Boto3DownloadReader, _ALL),
    # Random access and parallel decoding in the deflate member (not in the main rows):
    FastZipS3IndexedReader.name: ReaderSpec(
        FastZipS3IndexedReader, frozenset({"seek"}), needs_index=True, in_main=False
    ),
    FastZipS3NoIndexReader.name: ReaderSpec(
        FastZipS3NoIndexReader, frozenset({"seek"}), in_main=False
    ),
    **{
        cls.name: ReaderSpec(cls, frozenset({"parallel"}), needs_index=True, in_main=False)
        for cls in PARALLEL_READERS
    },
    FastZipS3LocalParallelReader.name: ReaderSpec(
        FastZipS3LocalParallelReader,
        frozenset({"parallel"}),
        remote=False,
        needs_index=True,
        in_main=False,
    ),
    # Local baselines (no network):
    IsalInflateReader.name: ReaderSpec(IsalInflateReader, frozenset({"read"}), remote=False),
    ZlibInflateReader.name: ReaderSpec(ZlibInflateReader, frozenset({"read"}), remote=False),
    LocalZipfileReader.name: ReaderSpec(LocalZipfileReader, _ALL, remote=False),
    FastZipS3LocalReader.name: ReaderSpec(
        FastZipS3LocalReader, _ALL | {"parallel", "build_index"}, remote=False
    ),
}

#: The peers compared over the network in every main scenario, in table order.
REMOTE_READERS = [name for name, spec in READERS.items() if spec.remote and spec.in_main]
#: fastzips3 with and without the index in the deflate seek scenario.
SEEK_FASTZIPS3_READERS = [FastZipS3IndexedReader.name, FastZipS3NoIndexReader.name]
#: fastzips3's sequential read and iter_parallel with 2, 3 and 4 workers.
PARALLEL_FASTZIPS3_READERS = [FastZipS3Reader.name] + [cls.name for cls in PARALLEL_READERS]


def make_reader(job: Job) -> Reader:
    """The reader object for ``job``."""
    return READERS[job.reader].cls(job)


def verify(job: Job, op: str, result: int | tuple[int, int]) -> None:
    """Raise :class:`VerifyError` unless ``result`` matches what ``job`` expects."""
    if op == "build_index":
        assert isinstance(result, tuple)
        if result[0] != job.expect_size:
            raise VerifyError(f"the index covers {result[0]} bytes, expected {job.expect_size}")
        return
    if op == "list":
        if result != job.expect_entries:
            raise VerifyError(f"listed {result} entries, expected {job.expect_entries}")
        return
    assert isinstance(result, tuple)
    size, crc = result
    if size != job.expect_size:
        raise VerifyError(f"got {size} bytes, expected {job.expect_size}")
    if crc != job.expect_crc:
        raise VerifyError(f"CRC-32 {crc:08x}, expected {job.expect_crc:08x}")

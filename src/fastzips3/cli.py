"""The ``fastzips3`` command: list, read, test, extract and copy members of remote ZIP archives.

``main(argv)`` parses the arguments and returns the exit status; ``python -m fastzips3`` and the
``fastzips3`` console script call it. Only the public API is used (``fastzips3``,
``fastzips3.errors`` and :mod:`fastzips3.extract`). ``rich`` (the progress bars) and ``boto3`` (the
``cp`` upload) are imported only by the commands that need them, so ``fastzips3 ls`` stays fast.
"""

from __future__ import annotations

import argparse
import difflib
import fnmatch
import io
import json
import logging
import os
import re
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from typing import IO, TYPE_CHECKING, Any, cast

import fastzips3
from fastzips3 import errors
from fastzips3.extract import (
    DEFAULT_MAX_ENTRIES,
    DEFAULT_MAX_RATIO,
    DEFAULT_MAX_TOTAL_SIZE,
    Overwrite,
    extract_members,
    member_path_problem,
)

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TEST_FAILED",
    "EXIT_USAGE",
    "build_parser",
    "main",
]

#: Success.
EXIT_OK = 0
#: An error; the one line on stderr says what failed.
EXIT_ERROR = 1
#: The command line is wrong (argparse's own code).
EXIT_USAGE = 2
#: ``fastzips3 test`` found at least one damaged member.
EXIT_TEST_FAILED = 2
#: Interrupted with Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130

_CHUNK = 1 << 20
_PART_SIZE = 16 << 20
#: ``cat`` shows a progress bar (stdout redirected, stderr a terminal) from this many bytes.
_CAT_PROGRESS_MIN = 8 << 20
_UPLOAD_CONCURRENCY = 8
_GLOB = re.compile(r"[*?\[]")
_MAX_SUGGEST = 200_000
_PASSWORD_ENV = "FASTZIPS3_PASSWORD"
_UNIX_METHOD_NAMES = {
    0: "Stored",
    8: "Defl:N",
    9: "Def64",
    12: "BZip2",
    14: "LZMA",
    93: "Zstd",
    95: "XZ",
    99: "AES",
}

_EPILOG = """\
ARCHIVE is an s3:// or http(s):// URL, a file:// URL, an fsspec URL or a local path. S3 uses
your usual AWS configuration (environment, profiles, SSO, roles); the options below override it.

exit status:
  0    success
  1    error: the one line on stderr says what failed (--debug shows the traceback)
  2    usage error, or 'fastzips3 test' found damaged members
  130  interrupted (Ctrl-C)
"""


class _CLIError(Exception):
    """A failure to report as one line, with an exit status."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


class _StdoutClosedError(Exception):
    """Whoever read our stdout went away (``fastzips3 cat ... | head``)."""


# --- output ---------------------------------------------------------------------------------


def _write(data: bytes) -> None:
    try:
        sys.stdout.buffer.write(data)
    except BrokenPipeError as exc:
        raise _StdoutClosedError from exc


def _line(text: str = "") -> None:
    _write((text + "\n").encode("utf-8", "surrogateescape"))


def _flush() -> None:
    try:
        sys.stdout.flush()
        sys.stdout.buffer.flush()
    except BrokenPipeError as exc:
        raise _StdoutClosedError from exc


def _shown(name: str) -> str:
    """A name safe to print on a terminal: control characters escaped."""
    if name.isprintable():
        return name
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in name)


def _human(size: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def _date(entry: fastzips3.ZipEntry) -> tuple[str, str]:
    """Date and time for listings: the extended timestamp in local time, as unzip shows it,
    else the DOS date and time."""
    year, month, day, hour, minute, _second = entry.date_time
    if entry.mtime is not None:
        with suppress(OverflowError, OSError, ValueError):
            t = time.localtime(entry.mtime)
            year, month, day, hour, minute = t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min
    return f"{year:04d}-{month:02d}-{day:02d}", f"{hour:02d}:{minute:02d}"


def _iso(entry: fastzips3.ZipEntry) -> str:
    year, month, day, hour, minute, second = entry.date_time
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"


def _comment(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp437")


class _Progress:
    """A rich progress bar on stderr (bytes, speed, ETA), or nothing at all when disabled."""

    def __init__(self, enabled: bool, total: int, description: str) -> None:
        self._enabled = enabled
        self._total = total
        self._description = description
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        if self._enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(file=sys.stderr),
                redirect_stdout=False,  # stdout may be a pipe: it must get only our output
                redirect_stderr=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(self._description, total=self._total)
        return self

    def advance(self, count: int) -> None:
        """Count ``count`` more bytes done (thread-safe)."""
        if self._progress is not None:
            self._progress.advance(self._task, count)

    def line(self, text: str) -> None:
        """Print a line of output: above the bar when stdout is the same terminal."""
        if self._progress is not None and sys.stdout.isatty():
            _flush()
            self._progress.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            _line(text)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


def _progress(args: argparse.Namespace, total: int, description: str) -> _Progress:
    enabled = not args.quiet and sys.stderr.isatty()
    return _Progress(enabled, total, description)


# --- opening and selecting --------------------------------------------------------------------


def _open(args: argparse.Namespace) -> fastzips3.ZipArchive:
    options: fastzips3.OpenOptions = {}
    if args.endpoint_url:
        options["endpoint_url"] = args.endpoint_url
    if args.profile:
        options["profile"] = args.profile
    if args.region:
        options["region"] = args.region
    if args.no_sign_request:
        options["anonymous"] = True
    if args.request_payer == "requester":
        options["requester_pays"] = True
    if args.version_id:
        options["version_id"] = args.version_id
    if args.metadata_encoding:
        try:
            b"\0\0\0\0".decode(args.metadata_encoding)  # unknown, or not text (rot13)
        except UnicodeError:
            pass
        except LookupError:
            raise _CLIError(
                f"--metadata-encoding: unknown encoding {args.metadata_encoding!r}", EXIT_USAGE
            ) from None
        options["metadata_encoding"] = args.metadata_encoding
    password = args.password if args.password is not None else os.environ.get(_PASSWORD_ENV)
    if password is not None:
        if "password" not in fastzips3.OpenOptions.__annotations__:
            raise _CLIError(
                f"this fastzips3 ({fastzips3.__version__}) cannot decrypt members: --password "
                "is not supported"
            )
        cast(dict[str, Any], options)["password"] = password
    return fastzips3.open_archive(args.archive, **options)


def _suggest(name: str, names: Sequence[str]) -> str:
    pool = names if len(names) <= _MAX_SUGGEST else names[:_MAX_SUGGEST]
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _matches(entry: fastzips3.ZipEntry, pattern: str) -> bool:
    if entry.name == pattern:
        return True
    if _GLOB.search(pattern):
        return fnmatch.fnmatchcase(entry.name, pattern)
    folder = pattern.rstrip("/") + "/"  # a directory selects what is in it
    return entry.name.startswith(folder)


def _select(
    archive: fastzips3.ZipArchive, patterns: Sequence[str], *, what: str = "member"
) -> list[fastzips3.ZipEntry]:
    """The entries matching any pattern (all without patterns), in archive order.

    A pattern is an exact name, a glob (``*``, ``?``, ``[...]``; ``*`` also matches ``/``), or a
    directory, which selects everything below it. A pattern matching nothing is an error.
    """
    entries = archive.entries()
    if not patterns:
        return entries
    chosen: set[int] = set()
    for pattern in patterns:
        hits = [n for n, e in enumerate(entries) if _matches(e, pattern)]
        if not hits:
            names = [e.name for e in entries]
            raise _CLIError(
                f"no {what} matches {pattern!r} in {archive.url}{_suggest(pattern, names)}"
            )
        chosen.update(hits)
    return [entries[n] for n in sorted(chosen)]


def _one_member(archive: fastzips3.ZipArchive, name: str) -> fastzips3.ZipEntry:
    if name in archive:
        return archive.getinfo(name)
    if _GLOB.search(name):
        hits = [e for e in archive.entries() if fnmatch.fnmatchcase(e.name, name)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise _CLIError(f"{name!r} matches {len(hits)} members; name exactly one")
    raise _CLIError(
        f"there is no member named {name!r} in {archive.url}{_suggest(name, archive.namelist())}"
    )


def _basename(name: str) -> str:
    return re.split(r"[\\/]", name.rstrip("/\\"))[-1]


# --- ls -------------------------------------------------------------------------------------


def _cmd_ls(args: argparse.Namespace) -> int:
    with _open(args) as archive:
        entries = _select(archive, args.patterns)
        if args.json:
            _ls_json(archive, entries)
        elif args.verbose:
            _ls_verbose(archive, entries, quiet=args.quiet)
        else:
            _ls_short(archive, entries, quiet=args.quiet)
    return EXIT_OK


def _ls_short(
    archive: fastzips3.ZipArchive, entries: list[fastzips3.ZipEntry], *, quiet: bool
) -> None:
    total = sum(e.file_size for e in entries)
    w = max(9, len(str(total)))
    if not quiet:
        _line(f"Archive:  {archive.url}")
    _line(f"{'Length':>{w}}      Date    Time    Name")
    _line(f"{'-' * w}  ---------- -----   ----")
    for e in entries:
        day, clock = _date(e)
        _line(f"{e.file_size:>{w}}  {day} {clock}   {_shown(e.name)}")
    _line(f"{'-' * w}                     -------")
    files = "file" if len(entries) == 1 else "files"
    _line(f"{total:>{w}}                     {len(entries)} {files}")


def _ratio(size: int, compressed: int) -> str:
    percent = round((1 - compressed / size) * 100) if size else 0
    return f"{percent:>3}%"


def _ls_verbose(
    archive: fastzips3.ZipArchive, entries: list[fastzips3.ZipEntry], *, quiet: bool
) -> None:
    total = sum(e.file_size for e in entries)
    ctotal = sum(e.compress_size for e in entries)
    w = max(8, len(str(total)))
    cw = max(7, len(str(ctotal)))
    if not quiet:
        _line(f"Archive:  {archive.url}")
    _line(f"{'Length':>{w}}  Method  {'Size':>{cw}}  Cmpr    Date    Time   CRC-32   Name")
    _line(f"{'-' * w}  ------  {'-' * cw}  ---- ---------- ----- --------  ----")
    for e in entries:
        day, clock = _date(e)
        method = _UNIX_METHOD_NAMES.get(e.compress_type, e.method_name)
        _line(
            f"{e.file_size:>{w}}  {method:<6}  {e.compress_size:>{cw}} "
            f"{_ratio(e.file_size, e.compress_size)} {day} {clock} {e.crc:08x}  {_shown(e.name)}"
        )
    _line(f"{'-' * w}          {'-' * cw}  ----                            -------")
    files = "file" if len(entries) == 1 else "files"
    _line(
        f"{total:>{w}}          {ctotal:>{cw}} {_ratio(total, ctotal)}"
        f"                            {len(entries)} {files}"
    )


def _entry_json(e: fastzips3.ZipEntry) -> dict[str, Any]:
    return {
        "name": e.name,
        "size": e.file_size,
        "compressed_size": e.compress_size,
        "method": e.method_name,
        "method_id": e.compress_type,
        "crc": f"{e.crc:08x}",
        "date_time": _iso(e),
        "mtime": e.mtime,
        "is_dir": e.is_dir(),
        "is_symlink": e.is_symlink(),
        "encrypted": e.is_encrypted,
        "unix_mode": None if e.unix_mode is None else f"{e.unix_mode:o}",
        "header_offset": e.header_offset,
    }


def _ls_json(archive: fastzips3.ZipArchive, entries: list[fastzips3.ZipEntry]) -> None:
    document = {
        "archive": archive.url,
        "size": archive.size,
        "etag": archive.etag,
        "zip64": archive.is_zip64,
        "entry_count": len(archive),
        "comment": _comment(archive.comment),
        "entries": [_entry_json(e) for e in entries],
    }
    _line(json.dumps(document, indent=2, ensure_ascii=False))


# --- cat ------------------------------------------------------------------------------------


def _cmd_cat(args: argparse.Namespace) -> int:
    with _open(args) as archive:
        chosen: list[fastzips3.ZipEntry] = []
        for name in args.members:
            if name in archive:
                chosen.append(archive.getinfo(name))
            elif _GLOB.search(name):
                chosen.extend(e for e in _select(archive, [name]) if not e.is_dir())
            else:
                chosen.append(_one_member(archive, name))
        for entry in chosen:
            if entry.is_dir():
                raise _CLIError(f"member {entry.name!r} is a directory")
        total = sum(e.file_size for e in chosen)
        show = (
            total >= _CAT_PROGRESS_MIN
            and not args.quiet
            and sys.stderr.isatty()
            and not sys.stdout.isatty()
        )
        with _Progress(show, total, "reading") as progress:
            for entry in chosen:
                with archive.open(entry) as f:
                    while True:
                        chunk = f.read(_CHUNK)
                        if not chunk:
                            break
                        _write(chunk)
                        progress.advance(len(chunk))
            _flush()
    return EXIT_OK


# --- extract --------------------------------------------------------------------------------


def _cmd_extract(args: argparse.Namespace) -> int:
    overwrite: Overwrite = "always" if args.overwrite else "never" if args.never else "error"
    with _open(args) as archive:
        entries = _select(archive, args.patterns)
        total = sum(e.file_size for e in entries if not e.is_dir())
        try:
            with _progress(args, total, "extracting") as progress:
                report = extract_members(
                    archive,
                    args.dir,
                    entries,
                    overwrite=overwrite,
                    allow_symlinks=args.allow_symlinks,
                    junk_paths=args.junk_paths,
                    max_total_size=args.max_size,
                    max_entries=args.max_entries,
                    max_ratio=args.max_ratio,
                    workers=args.workers,
                    on_progress=progress.advance,
                )
        except FileExistsError as exc:
            if isinstance(exc, errors.FastZipS3Error):
                raise
            raise _CLIError(
                f"{exc.filename} exists (-o overwrites existing files, -n keeps them)"
            ) from exc
        if not args.quiet:
            _line(f"Archive:  {archive.url}")
            for path in report.extracted:
                _line(f"  extracted: {_shown(path)}")
            for path in report.skipped:
                _line(f"    skipped: {_shown(path)} (exists)")
            _line(
                f"{len(report.extracted)} extracted ({report.bytes_written:,} bytes), "
                f"{len(report.skipped)} skipped"
            )
    return EXIT_OK


# --- test -----------------------------------------------------------------------------------


def _cmd_test(args: argparse.Namespace) -> int:
    with _open(args) as archive:
        entries = _select(archive, args.patterns)
        total = sum(e.file_size for e in entries if not e.is_dir())
        stop = threading.Event()

        def check(entry: fastzips3.ZipEntry, progress: _Progress) -> BaseException | None:
            if entry.is_dir() or stop.is_set():
                return None
            try:
                with archive.open(entry, verify=True) as f:
                    while not stop.is_set():
                        chunk = f.read(_CHUNK)
                        if not chunk:
                            break
                        progress.advance(len(chunk))
            except (errors.FastZipS3Error, OSError, KeyError) as exc:
                return exc
            return None

        failed = 0
        width = max((len(_shown(e.name)) for e in entries), default=0)
        width = min(max(width, 24), 60)
        with _progress(args, total, "testing") as progress:
            pool = ThreadPoolExecutor(max_workers=args.workers, thread_name_prefix="fastzips3-test")
            try:
                futures: list[Future[BaseException | None]] = [
                    pool.submit(check, e, progress) for e in entries
                ]
                for entry, future in zip(entries, futures, strict=True):
                    problem = future.result()
                    name = _shown(entry.name)
                    if problem is None:
                        if not args.quiet:
                            progress.line(f"    testing: {name:<{width}}  OK")
                    else:
                        failed += 1
                        progress.line(f"    testing: {name:<{width}}  ERROR: {_message(problem)}")
            except BaseException:
                stop.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
        if failed:
            errors_text = "error" if failed == 1 else "errors"
            _line(f"{failed} {errors_text} detected in compressed data of {archive.url}.")
            return EXIT_TEST_FAILED
        _line(f"No errors detected in compressed data of {archive.url}.")
    return EXIT_OK


# --- index ----------------------------------------------------------------------------------


def _cmd_index(args: argparse.Namespace) -> int:
    with _open(args) as archive:
        chosen = _select(archive, args.patterns) if args.patterns else archive.entries()
        entries = [e for e in chosen if e.compress_type == 8 and not e.is_encrypted]
        if not entries:
            _line("no unencrypted deflate members to index")
            return EXIT_OK
        total = sum(e.file_size for e in entries)
        spacing = int(args.spacing * (1 << 20))
        with _progress(args, total, "indexing") as progress:
            for entry in entries:
                index = archive.build_index(entry, spacing=spacing, on_progress=progress.advance)
                if not args.quiet:
                    size = len(index.to_bytes())
                    share = 100 * size / max(1, entry.compress_size)
                    progress.line(
                        f"  indexed: {_shown(entry.name)}  {len(index.checkpoints)} checkpoints, "
                        f"{size:,} bytes ({share:.2f}% of its compressed size)"
                    )
        if args.sidecar:
            saved = archive.save_indexes(args.sidecar)
            if not args.quiet:
                _line(f"saved {saved} index{'es' if saved != 1 else ''} to {args.sidecar}")
    return EXIT_OK


# --- info -----------------------------------------------------------------------------------


def _cmd_info(args: argparse.Namespace) -> int:
    with _open(args) as archive:
        entries = archive.entries()
        dirs = sum(1 for e in entries if e.is_dir())
        links = sum(1 for e in entries if e.is_symlink())
        files = len(entries) - dirs - links
        size = sum(e.file_size for e in entries)
        csize = sum(e.compress_size for e in entries)
        methods: dict[str, int] = {}
        for e in entries:
            if not e.is_dir():
                methods[e.method_name] = methods.get(e.method_name, 0) + 1
        encrypted = sum(1 for e in entries if e.is_encrypted)
        stats = archive.stats
        if args.json:
            document = {
                "archive": archive.url,
                "size": archive.size,
                "etag": archive.etag,
                "entry_count": len(entries),
                "files": files,
                "directories": dirs,
                "symlinks": links,
                "uncompressed_size": size,
                "compressed_size": csize,
                "methods": methods,
                "zip64": archive.is_zip64,
                "encrypted_entries": encrypted,
                "comment": _comment(archive.comment),
                "requests": stats.requests,
                "bytes_fetched": stats.bytes_fetched,
            }
            _line(json.dumps(document, indent=2, ensure_ascii=False))
            return EXIT_OK
        method_text = ", ".join(
            f"{m} {n}" for m, n in sorted(methods.items(), key=lambda x: (-x[1], x[0]))
        )
        saved = f", {_ratio(size, csize).strip()} saved" if size else ""
        requests = "request" if stats.requests == 1 else "requests"
        rows = [
            ("Archive", archive.url),
            ("Size", f"{archive.size:,} bytes ({_human(archive.size)})"),
            ("ETag", archive.etag or "-"),
            ("Entries", f"{len(entries):,} ({files:,} files, {dirs:,} dirs, {links:,} symlinks)"),
            ("Uncompressed", f"{size:,} bytes ({_human(size)})"),
            ("Compressed", f"{csize:,} bytes ({_human(csize)}{saved})"),
            ("Methods", method_text or "-"),
            ("ZIP64", "yes" if archive.is_zip64 else "no"),
            ("Encrypted", f"{encrypted:,} entries"),
            ("Comment", _shown(_comment(archive.comment)) or "-"),
            ("Cost", f"{stats.requests} {requests}, {stats.bytes_fetched:,} bytes fetched"),
        ]
        for label, value in rows:
            _line(f"{label + ':':<14}{value}")
    return EXIT_OK


# --- cp -------------------------------------------------------------------------------------


class _OneWayReader(io.RawIOBase):
    """A member reader seen as a plain, non-seekable stream.

    Non-seekable, so that s3transfer reads it once, in order, part by part (a seekable file
    would be measured by seeking to its end, which decodes a compressed member twice).
    """

    def __init__(self, raw: fastzips3.MemberReader) -> None:
        super().__init__()
        self._raw = raw

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1, /) -> bytes:
        return self._raw.read(size)

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)


def _s3_client(args: argparse.Namespace) -> S3Client:
    import boto3
    import botocore
    from botocore.config import Config

    session = boto3.session.Session(profile_name=args.profile)
    region = args.region or session.region_name or "us-east-1"
    custom = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3")
    custom = custom or os.environ.get("AWS_ENDPOINT_URL")
    config = Config(
        signature_version=botocore.UNSIGNED if args.no_sign_request else None,
        s3={"addressing_style": "path"} if custom else None,
        retries={"mode": "standard", "max_attempts": 5},
        max_pool_connections=2 * _UPLOAD_CONCURRENCY,
    )
    return session.client("s3", region_name=region, endpoint_url=args.endpoint_url, config=config)


def _cmd_cp(args: argparse.Namespace) -> int:
    with _open(args) as archive:
        entry = _one_member(archive, args.member)
        if entry.is_dir():
            raise _CLIError(f"member {entry.name!r} is a directory")
        base = _basename(entry.name)
        with _progress(args, entry.file_size, "copying") as progress:
            if args.dest.startswith("s3://"):
                _cp_s3(args, archive, entry, base, progress)
            else:
                _cp_local(args, archive, entry, base, progress)
    return EXIT_OK


def _cp_s3(
    args: argparse.Namespace,
    archive: fastzips3.ZipArchive,
    entry: fastzips3.ZipEntry,
    base: str,
    progress: _Progress,
) -> None:
    from boto3.s3.transfer import TransferConfig
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, key = args.dest[len("s3://") :].partition("/")
    if not bucket:
        raise _CLIError(f"no bucket in {args.dest!r}")
    if not key or key.endswith("/"):
        key += base
    client = _s3_client(args)
    config = TransferConfig(
        multipart_threshold=_PART_SIZE,
        multipart_chunksize=_PART_SIZE,
        max_concurrency=_UPLOAD_CONCURRENCY,
    )
    extra = {"RequestPayer": "requester"} if args.request_payer == "requester" else None
    try:
        with archive.open(entry, verify=True) as member:
            client.upload_fileobj(
                cast("IO[bytes]", _OneWayReader(member)),
                bucket,
                key,
                ExtraArgs=extra,
                Callback=progress.advance,  # bytes uploaded, from the transfer threads
                Config=config,
            )
    except (BotoCoreError, ClientError) as exc:
        raise _CLIError(f"upload to s3://{bucket}/{key} failed: {exc}") from exc
    except Exception as exc:  # s3transfer wraps some failures in its own types
        if isinstance(exc, (errors.FastZipS3Error, OSError)):
            raise
        if type(exc).__module__.startswith(("boto3", "s3transfer")):
            raise _CLIError(f"upload to s3://{bucket}/{key} failed: {exc}") from exc
        raise
    finally:
        client.close()


def _cp_local(
    args: argparse.Namespace,
    archive: fastzips3.ZipArchive,
    entry: fastzips3.ZipEntry,
    base: str,
    progress: _Progress,
) -> None:
    target = args.dest
    if os.path.isdir(target) or target.endswith(("/", os.sep)):
        problem = member_path_problem(base)
        if problem is not None:
            raise _CLIError(f"cannot name a file after member {entry.name!r}: {problem}")
        target = os.path.join(target, base)
    parent = os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(
        prefix=f".{_basename(target)[:64]}.", suffix=".fastzips3-tmp", dir=parent
    )
    moved = False
    try:
        with os.fdopen(fd, "wb") as out, archive.open(entry, verify=True) as member:
            while True:
                chunk = member.read(_CHUNK)  # the read that reaches the end checks the CRC
                if not chunk:
                    break
                out.write(chunk)
                progress.advance(len(chunk))
        umask = os.umask(0o022)
        os.umask(umask)
        mode = entry.unix_mode
        mode = mode & 0o777 if mode is not None and mode & 0o777 else 0o666
        os.chmod(tmp, mode & ~umask & ~0o022)
        os.replace(tmp, target)
        moved = True
    finally:
        if not moved:
            with suppress(FileNotFoundError):
                os.unlink(tmp)


# --- the parser -----------------------------------------------------------------------------


def _size(text: str) -> int | None:
    """A byte count with an optional k/M/G/T suffix (powers of 1024), or "none"."""
    if text.lower() in ("none", "off", "0"):
        return None
    match = re.fullmatch(r"(\d+)\s*([kmgt]?)i?b?", text.strip(), re.IGNORECASE)
    if match is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 512M, 10G or none)")
    power = " kmgt".index(match.group(2).lower() or " ")
    return int(match.group(1)) << (10 * power)


def _count(text: str) -> int | None:
    if text.lower() in ("none", "off", "0"):
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a count: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"not a count: {text!r}")
    return value


def _ratio_limit(text: str) -> float | None:
    if text.lower() in ("none", "off", "0"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a ratio: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"not a ratio: {text!r}")
    return value


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"needs a positive number, not {text!r}")
    return value


def _add_global_options(parser: argparse.ArgumentParser, *, suppress_defaults: bool) -> None:
    """The options every command takes, before or after its name.

    On the subcommands their defaults are suppressed, so a value given before the command
    name is not overwritten by the subcommand's default.
    """

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress_defaults else value

    group = parser.add_argument_group("global options")
    group.add_argument(
        "--endpoint-url", metavar="URL", default=default(None), help="S3 endpoint (MinIO, R2...)"
    )
    group.add_argument("--profile", default=default(None), help="AWS profile to use")
    group.add_argument("--region", default=default(None), help="AWS region")
    group.add_argument(
        "--no-sign-request",
        action="store_true",
        default=default(False),
        help="anonymous S3 access (public buckets)",
    )
    group.add_argument(
        "--request-payer",
        choices=["requester"],
        default=default(None),
        help="accept the charges of a requester-pays bucket",
    )
    group.add_argument(
        "--version-id", metavar="ID", default=default(None), help="read this S3 object version"
    )
    group.add_argument(
        "--password",
        default=default(None),
        help=f"password of encrypted members (or set {_PASSWORD_ENV})",
    )
    group.add_argument(
        "-O",
        "--metadata-encoding",
        metavar="ENCODING",
        default=default(None),
        help="encoding of member names not flagged UTF-8, like unzip -O (e.g. shift_jis, gbk)",
    )
    group.add_argument(
        "-q", "--quiet", action="store_true", default=default(False), help="print less"
    )
    group.add_argument(
        "--debug",
        action="store_true",
        default=default(False),
        help="show tracebacks and fastzips3's debug log",
    )
    group.add_argument("--version", action="version", version=_version_text())


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``fastzips3`` command (one subparser per command)."""
    parser = argparse.ArgumentParser(
        prog="fastzips3",
        description="Read ZIP archives on S3, HTTP(S) or local disk without downloading them.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_global_options(parser, suppress_defaults=False)
    common = argparse.ArgumentParser(add_help=False)
    _add_global_options(common, suppress_defaults=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str, description: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=help_text,
            description=description,
            parents=[common],
            epilog="exit status: 0 success, 1 error, 2 usage error, 130 interrupted",
        )
        sub.add_argument("archive", metavar="ARCHIVE", help="s3://, http(s)://, file:// or path")
        return sub

    ls = command(
        "ls",
        "list members (like unzip -l; -v like unzip -v; --json)",
        "List members, like unzip -l (-v: like unzip -v). A PATTERN is a name, a glob or a "
        "directory.",
    )
    ls.add_argument("patterns", metavar="PATTERN", nargs="*", help="members to list")
    ls.add_argument("-v", "--verbose", action="store_true", help="method, sizes, ratio and CRC-32")
    ls.add_argument("--json", action="store_true", help="one JSON document")
    ls.set_defaults(func=_cmd_ls)

    cat = command(
        "cat",
        "write members to stdout",
        "Write members to stdout, binary-safe and streamed (globs allowed).",
    )
    cat.add_argument("members", metavar="MEMBER", nargs="+", help="member names or globs")
    cat.set_defaults(func=_cmd_cat)

    extract = command(
        "extract",
        "extract members below a directory, refusing unsafe paths",
        "Extract members below DIR. Unsafe paths (.., absolute, drive letters, symbolic links "
        "unless --allow-symlinks, duplicate or case-colliding names) refuse the whole archive "
        "before anything is written. An existing file is an error unless -o or -n.",
    )
    extract.add_argument("patterns", metavar="PATTERN", nargs="*", help="members to extract")
    extract.add_argument(
        "-d", "--dir", default=".", metavar="DIR", help="where to extract (default: .)"
    )
    policy = extract.add_mutually_exclusive_group()
    policy.add_argument("-o", "--overwrite", action="store_true", help="replace existing files")
    policy.add_argument(
        "-n", "--never", action="store_true", help="keep existing files (skip those members)"
    )
    extract.add_argument(
        "-j", "--junk-paths", action="store_true", help="write every file directly in DIR"
    )
    extract.add_argument(
        "--allow-symlinks",
        action="store_true",
        help="create symbolic links (only ones that stay inside DIR)",
    )
    extract.add_argument(
        "--workers", type=_workers, default=4, metavar="N", help="parallel members (default: 4)"
    )
    extract.add_argument(
        "--max-size",
        type=_size,
        default=DEFAULT_MAX_TOTAL_SIZE,
        metavar="SIZE",
        help="refuse to write more than SIZE bytes in all (default: 64G; none: no limit)",
    )
    extract.add_argument(
        "--max-entries",
        type=_count,
        default=DEFAULT_MAX_ENTRIES,
        metavar="N",
        help=f"refuse more than N members (default: {DEFAULT_MAX_ENTRIES:,}; none: no limit)",
    )
    extract.add_argument(
        "--max-ratio",
        type=_ratio_limit,
        default=DEFAULT_MAX_RATIO,
        metavar="R",
        help=f"refuse members expanding more than R times (default: {DEFAULT_MAX_RATIO:g}; "
        "none: no limit)",
    )
    extract.set_defaults(func=_cmd_extract)

    test = command(
        "test",
        "check every member's CRC-32 (like unzip -t)",
        "Read every member and check its size and CRC-32, in parallel, like unzip -t. "
        "Exit status 2 when any member is damaged.",
    )
    test.add_argument("patterns", metavar="PATTERN", nargs="*", help="members to test")
    test.add_argument(
        "--workers", type=_workers, default=4, metavar="N", help="parallel members (default: 4)"
    )
    test.set_defaults(func=_cmd_test)

    index = command(
        "index",
        "build checkpoint indexes so deflate members can seek (kept in the cache)",
        "Decode deflate members once and keep a checkpoint every --spacing MiB, in the user's "
        "cache: later seeks in them cost one GET and at most one spacing of decompression.",
    )
    index.add_argument("patterns", metavar="MEMBER", nargs="*", help="members (default: all)")
    index.add_argument(
        "--spacing", type=float, default=8.0, metavar="MIB", help="checkpoint spacing (default: 8)"
    )
    index.add_argument(
        "--sidecar",
        metavar="URL",
        help="also write the indexes to this path or s3:// URL, for other machines "
        "(ZipArchive.load_indexes reads it)",
    )
    index.set_defaults(func=_cmd_index)

    info = command(
        "info",
        "summary of an archive, and the requests it cost",
        "Size, ETag, entries, sizes, methods, ZIP64, encryption, comment, and the requests and "
        "bytes reading the listing cost.",
    )
    info.add_argument("--json", action="store_true", help="one JSON document")
    info.set_defaults(func=_cmd_info)

    cp = command(
        "cp",
        "copy a member to a file or to S3",
        "Copy one member to DEST: a local file, an existing directory, s3://bucket/key or "
        "s3://bucket/prefix/ (the member's base name is appended). S3 uploads are parallel "
        "multipart uploads (16 MiB parts) with no local temporary file; local copies appear "
        "only once their CRC-32 was verified.",
    )
    cp.add_argument("member", metavar="MEMBER", help="the member (a name, or a glob matching one)")
    cp.add_argument("dest", metavar="DEST", help="local path or s3:// URL")
    cp.set_defaults(func=_cmd_cp)
    return parser


# --- main -----------------------------------------------------------------------------------


def _message(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    if isinstance(exc, OSError) and not isinstance(exc, errors.FastZipS3Error):
        if exc.filename is not None and exc.strerror:
            return f"{exc.filename}: {exc.strerror}"
        return str(exc) or type(exc).__name__
    text = str(exc)
    if isinstance(exc, (errors.FastZipS3Error, _CLIError)):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the exit-time flush cannot fail."""
    with suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


@contextmanager
def _debug_logging(enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    logger = logging.getLogger("fastzips3")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _version_text() -> str:
    """``fastzips3 --version``: the version, and which implementation runs."""
    core = fastzips3.core_info()
    if core.compiled:
        impl = f"compiled core on ISA-L {core.isal_version}, zlib {core.zlib_version}"
    else:
        impl = f"pure-Python implementation: {core.reason}"
    return f"fastzips3 {fastzips3.__version__} ({impl})"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fastzips3`` command with ``argv`` (default: ``sys.argv[1:]``); the exit status.

    Errors are one line on stderr (``fastzips3: error: ...``) and exit status 1; usage errors
    and damaged members found by ``test`` exit 2; Ctrl-C exits 130. ``--debug`` adds the
    traceback.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    debug: bool = args.debug
    try:
        with _debug_logging(debug):
            code: int = args.func(args)
            _flush()
            return code
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        return EXIT_INTERRUPTED
    except _StdoutClosedError:
        _silence_stdout()
        return EXIT_OK
    except Exception as exc:
        if debug:
            traceback.print_exc()
        code = exc.code if isinstance(exc, _CLIError) else EXIT_ERROR
        with suppress(OSError):
            sys.stderr.write(f"fastzips3: error: {_message(exc)}\n")
            sys.stderr.flush()
        return code

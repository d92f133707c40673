"""The ``fastzips3`` command: list, read, test, extract and copy members of remote ZIP archives.

``main(argv)`` parses the arguments and returns the exit status; ``python -m fastzips3`` and the
``fastzips3`` console script call it. Only the public API is used (``fastzips3``,
``fastzips3.errors`` and :mod:`fastzips3.extract`). ``rich`` (the progress bars) and ``boto3``
(the ``cp`` upload) are imported only by the commands that need them, so ``fastzips3 ls`` stays
fast.
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
import shutil
import sys
import tempfile
import time
import traceback
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
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
    "EXIT_DAMAGED",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PASSWORD",
    "EXIT_TEST_FAILED",
    "EXIT_USAGE",
    "build_parser",
    "main",
]

#: Success.
EXIT_OK = 0
#: An error; the one line on stderr says what failed (not found, denied, network, unsafe...).
EXIT_ERROR = 1
#: The command line is wrong (argparse's own code).
EXIT_USAGE = 2
#: Damaged data, or not a ZIP archive: a member failed its CRC-32 or size check or could not be
#: decompressed, or the archive's records are bad (``fastzips3 test`` found damage).
EXIT_DAMAGED = 3
#: Old name of :data:`EXIT_DAMAGED`: ``fastzips3 test`` found at least one damaged member.
EXIT_TEST_FAILED = EXIT_DAMAGED
#: Encrypted members and no password, or a wrong password.
EXIT_PASSWORD = 4
#: Interrupted with Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130

_CHUNK = 1 << 20
#: A compressed nested archive is decoded into memory up to this size, then to a file.
_SPOOL_IN_MEMORY = 64 << 20
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

_EXIT_TABLE = """\
exit status:
  0    success
  1    error: the one line on stderr says what failed (missing archive or member, access
       denied, network, unsafe path, a limit); --debug shows the traceback
  2    usage error (the command line is wrong)
  3    damaged data or not a ZIP archive (a CRC-32 or size mismatch, a broken stream, bad
       records); 'fastzips3 test' found damaged members
  4    encrypted members and no password (give it with --password or FASTZIPS3_PASSWORD), or
       a wrong password
  130  interrupted (Ctrl-C)
"""

_EPILOG = (
    """\
ARCHIVE is an s3:// or http(s):// URL, a file:// URL, an fsspec URL or a local path; a path
inside an archive names a nested one (outer.zip/inner.zip, or outer.zip!/inner.zip). S3 uses
your usual AWS configuration (environment, profiles, SSO, roles); the global options above
override it. Options may come before or after the command and its arguments.

"""
    + _EXIT_TABLE
)


class _CommandParser(argparse.ArgumentParser):
    """The parser of one command: options may come before, between and after its positional
    arguments (``extract a.zip -d out 'x/*'``, as unzip users write), and a usage error prints
    this command's usage, not the top-level one."""

    _intermixing = False

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> tuple[Any, list[str]]:
        """Parse with positional arguments and options intermixed; unknown ones are an error."""
        if self._intermixing:  # parse_known_intermixed_args calls back into this method
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            parsed, extras = self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


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


def _size_text(size: int, note: str = "") -> str:
    """``"1,234,567 bytes (1.2 MB)"``; below 1000 bytes the human form would repeat it."""
    human = _human(size)
    if size < 1000:
        return f"{size:,} bytes ({note.lstrip(', ')})" if note else f"{size:,} bytes"
    return f"{size:,} bytes ({human}{note})"


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


def _given_password(args: argparse.Namespace) -> str | None:
    """The password from --password, else from the environment, else None."""
    password: str | None = args.password
    return password if password is not None else os.environ.get(_PASSWORD_ENV)


def _options(args: argparse.Namespace) -> fastzips3.OpenOptions:
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
    if args.retries is not None:
        options["retries"] = fastzips3.RetryPolicy(attempts=args.retries)
    if hasattr(args, "max_unranged_size"):
        options["max_unranged_size"] = args.max_unranged_size or 0
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
    password = _given_password(args)
    if password is not None:
        options["password"] = password
    return options


@contextmanager
def _open(args: argparse.Namespace) -> Iterator[fastzips3.ZipArchive]:
    """The archive ARCHIVE names, open for the command; nested archives included.

    ``outer.zip/inner.zip`` and ``outer.zip!/inner.zip`` open ``inner.zip`` inside
    ``outer.zip``, by the rules of :func:`fastzips3.split_archive_path` (as
    :func:`fastzips3.open` resolves paths). Every level is closed on exit.
    """
    options = _options(args)
    target: str = args.archive
    with ExitStack() as stack:
        yield _open_levels(stack, target, options)


def _open_levels(
    stack: ExitStack, target: str, options: fastzips3.OpenOptions
) -> fastzips3.ZipArchive:
    """Open each level of ``target`` on ``stack``; the innermost archive."""
    nested = fastzips3.split_archive_path(target)
    members = [m.rstrip("/") for m in nested.members if m.strip("/")] if nested else []
    if nested is None or not members:
        outer = nested.archive if nested is not None else target
        return stack.enter_context(fastzips3.open_archive(outer, **options))
    try:
        archive = stack.enter_context(fastzips3.open_archive(nested.archive, **options))
    except FileNotFoundError:
        if "://" not in target or fastzips3.split_archive_path(target, ()) is not None:
            raise
        # An object whose key really is "a.zip/b.zip" (no object "a.zip"): open it as is.
        with suppress(Exception):
            return stack.enter_context(fastzips3.open_archive(target, **options))
        raise
    for name in members:
        entry = _one_member(archive, name)
        if entry.is_dir():
            raise _CLIError(f"{name!r} in {archive.url} is a directory, not an archive")
        archive = _open_inner(stack, archive, entry, options)
    return archive


class _NamedFile(io.RawIOBase):
    """A seekable binary file shown under ``name`` (a nested archive's path, in messages)."""

    def __init__(self, raw: IO[bytes], name: str) -> None:
        super().__init__()
        self._raw = raw
        self.name = name

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def read(self, size: int = -1, /) -> bytes:
        return self._raw.read(size)

    def readinto(self, buffer: Any, /) -> int:
        data = self._raw.read(len(buffer))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)


def _open_inner(
    stack: ExitStack,
    archive: fastzips3.ZipArchive,
    entry: fastzips3.ZipEntry,
    options: fastzips3.OpenOptions,
) -> fastzips3.ZipArchive:
    """The archive stored as member ``entry`` of ``archive``, as :func:`fastzips3.open` reads
    nested archives: a stored one is read in place (its reader seeks by ranges of the outer
    object); a compressed or encrypted one can only be decoded in order, so it is decoded once
    into a spooled temporary file (memory up to 64 MiB, then disk)."""
    member = stack.enter_context(archive.open(entry))
    reader = cast("IO[bytes]", member)
    if entry.compress_type != 0 or entry.is_encrypted:
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
        stack.callback(spool.close)
        shutil.copyfileobj(member, spool, _CHUNK)
        reader = cast("IO[bytes]", spool)
    named = _NamedFile(reader, f"{archive.url}!/{entry.name}")
    inner = fastzips3.ZipFile(cast("IO[bytes]", named), **options)
    stack.callback(inner.close)
    return inner.archive


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
    target: str = args.archive
    many = (
        fastzips3.expand_archives(target, **_options(args))
        if not os.path.exists(target) and any(c in target for c in "*?[")
        else [target]
    )
    if many != [target] or args.parquet is not None:
        return _ls_many(args, many)
    with _open(args) as archive:
        entries = _select(archive, args.patterns)
        if args.json:
            _ls_json(archive, entries)
        elif args.verbose:
            _ls_verbose(archive, entries, quiet=args.quiet)
        else:
            _ls_short(archive, entries, quiet=args.quiet)
    return EXIT_OK


def _ls_many(args: argparse.Namespace, archives: list[str]) -> int:
    """``ls`` of several archives (an archive pattern), or ``--parquet``: the manifest, one
    GET per archive, many at once; ``--json`` prints one JSON object a line per member."""
    options = _options(args)
    patterns: list[str] = args.patterns

    def wanted(name: str) -> bool:
        return not patterns or any(fnmatch.fnmatchcase(name, p) for p in patterns)

    if args.parquet is not None:
        frame = fastzips3.manifest(archives, workers=args.workers, **options)
        if patterns:
            frame = frame[frame["name"].map(wanted)]
        frame.to_parquet(args.parquet, index=False)
        _line(f"{len(frame):,} members of {len(archives):,} archives written to {args.parquet}")
        return EXIT_OK
    current = None
    shown = 0
    for row in fastzips3.iter_manifest(archives, workers=args.workers, **options):
        if not isinstance(row, fastzips3.ManifestRow) or not wanted(row.name):
            continue
        if args.json:
            record = row._asdict()
            record["crc"] = f"{row.crc:08x}"
            record["date_time"] = row.date_time.isoformat() if row.date_time else None
            _line(json.dumps(record, ensure_ascii=False))
            continue
        if row.archive != current:
            current = row.archive
            if not args.quiet:
                _line(f"Archive:  {_shown(row.archive)}")
        when = row.date_time.strftime("%Y-%m-%d %H:%M") if row.date_time else "????-??-?? ??:??"
        _line(f"{row.file_size:>12}  {when}   {_shown(row.name)}")
        shown += 1
    if not args.json and not args.quiet:
        _line(f"{shown:,} members in {len(archives):,} archives")
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
    """Space saved, as unzip shows it: ``" 42%"``; a member that grew shows how much."""
    percent = round((1 - compressed / size) * 100) if size else 0
    return f"{percent:>3}%"


def _aes_strength(extra: bytes) -> int | None:
    """The key strength (1, 2 or 3) of the WinZip AES extra field 0x9901, if any."""
    pos = 0
    while pos + 4 <= len(extra):
        header_id = int.from_bytes(extra[pos : pos + 2], "little")
        length = int.from_bytes(extra[pos + 2 : pos + 4], "little")
        if header_id == 0x9901 and length >= 7 and pos + 4 + length <= len(extra):
            return extra[pos + 8]
        pos += 4 + length
    return None


def _payload(entry: fastzips3.ZipEntry) -> int:
    """The compressed size without the encryption framing (ZipCrypto's 12-byte header, AES's
    salt, verifier and MAC), which unzip leaves out of the ratio too."""
    if not entry.is_encrypted:
        return entry.compress_size
    if entry.compress_type == 99:
        strength = _aes_strength(entry.extra)
        overhead = 4 * strength + 4 + 12 if strength in (1, 2, 3) else 0
    else:
        overhead = 12
    return max(0, entry.compress_size - overhead)


def _method(entry: fastzips3.ZipEntry) -> str:
    method = entry.real_method
    return _UNIX_METHOD_NAMES.get(method, f"Unk:{method:03d}" if method < 1000 else "Unk")


def _ls_verbose(
    archive: fastzips3.ZipArchive, entries: list[fastzips3.ZipEntry], *, quiet: bool
) -> None:
    total = sum(e.file_size for e in entries)
    ctotal = sum(e.compress_size for e in entries)
    payload = sum(_payload(e) for e in entries)
    ratios = [_ratio(e.file_size, _payload(e)) for e in entries]
    total_ratio = _ratio(total, payload)
    w = max(8, len(str(total)))
    cw = max(7, len(str(ctotal)))
    rw = max(4, len(total_ratio), *(len(r) for r in ratios))  # a member may grow: -200%
    encrypted = sum(1 for e in entries if e.is_encrypted)
    if not quiet:
        _line(f"Archive:  {archive.url}")
    _line(
        f"{'Length':>{w}}  Method  {'Size':>{cw}}  {'Cmpr':>{rw}}    Date    Time   CRC-32    Name"
    )
    _line(f"{'-' * w}  ------  {'-' * cw}  {'-' * rw} ---------- ----- --------   ----")
    for e, ratio in zip(entries, ratios, strict=True):
        day, clock = _date(e)
        mark = "*" if e.is_encrypted else " "
        _line(
            f"{e.file_size:>{w}}  {_method(e):<6}  {e.compress_size:>{cw}}  {ratio:>{rw}} "
            f"{day} {clock} {e.crc:08x} {mark} {_shown(e.name)}"
        )
    _line(f"{'-' * w}          {'-' * cw}  {'-' * rw}                             -------")
    files = "file" if len(entries) == 1 else "files"
    legend = f", {encrypted} encrypted (*)" if encrypted else ""
    _line(
        f"{total:>{w}}          {ctotal:>{cw}}  {total_ratio:>{rw}}"
        f"                             {len(entries)} {files}{legend}"
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
        _require_password(args, chosen)
        total = sum(e.file_size for e in chosen)
        show = (
            total >= _CAT_PROGRESS_MIN
            and not args.quiet
            and sys.stderr.isatty()
            and not sys.stdout.isatty()
        )
        with _Progress(show, total, "reading") as progress:
            for run in _cat_runs(chosen):
                if len(run) > 1:  # small members in archive order: few GETs for all of them
                    for _, data in archive.iter_members(run):
                        _write(data)
                        progress.advance(len(data))
                    continue
                with archive.open(run[0]) as f:
                    while True:
                        chunk = f.read(_CHUNK)
                        if not chunk:
                            break
                        _write(chunk)
                        progress.advance(len(chunk))
            _flush()
    return EXIT_OK


#: ``cat`` reads members up to this size many to a GET (larger ones stream on their own).
_CAT_COALESCE_MAX = 8 << 20


def _cat_runs(chosen: list[fastzips3.ZipEntry]) -> list[list[fastzips3.ZipEntry]]:
    """``chosen`` cut into runs to print in turn: small members that follow one another in the
    archive (read together, in archive order, which is the order asked), or one member."""
    runs: list[list[fastzips3.ZipEntry]] = []
    for entry in chosen:
        small = entry.file_size <= _CAT_COALESCE_MAX
        last = runs[-1] if runs else None
        if (
            small
            and last is not None
            and last[-1].file_size <= _CAT_COALESCE_MAX
            and last[-1].header_offset < entry.header_offset
        ):
            last.append(entry)
        else:
            runs.append([entry])
    return runs


# --- extract --------------------------------------------------------------------------------


def _is_real_dir(path: str) -> bool:
    return os.path.isdir(path) and not os.path.islink(path)


def _cmd_extract(args: argparse.Namespace) -> int:
    overwrite: Overwrite = "always" if args.overwrite else "never" if args.never else "error"
    if str(args.dir).startswith("s3://"):
        return _cmd_extract_s3(args, overwrite)
    with _open(args) as archive:
        entries = _select(archive, args.patterns)
        _require_password(args, entries)
        total = sum(e.file_size for e in entries if not e.is_dir())
        if not args.quiet:
            _line(f"Archive:  {archive.url}")  # before the progress bar, as unzip does
            _flush()
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
        except FileExistsError as exc:  # errors.PathExistsError: a target exists
            raise _CLIError(
                f"{exc.filename} exists (-o overwrites existing files, -n keeps them)"
            ) from exc
        if not args.quiet:
            # Directory entries are made as needed (or were there): they are not counted.
            files = [path for path in report.extracted if not _is_real_dir(path)]
            for path in files:
                _line(f"  extracted: {_shown(path)}")
            for path in report.skipped:
                _line(f"    skipped: {_shown(path)} (exists)")
            _line(
                f"{_plural(len(files), 'file')} extracted ({report.bytes_written:,} bytes), "
                f"{len(report.skipped)} skipped"
            )
    return EXIT_OK


def _cmd_extract_s3(args: argparse.Namespace, overwrite: Overwrite) -> int:
    """extract -d s3://bucket/prefix/: fastzips3.extract_to_s3 (server-side copies of stored
    members, streamed uploads of the others)."""
    with _open(args) as archive:
        entries = _select(archive, args.patterns)
        _require_password(args, entries)
        total = sum(e.file_size for e in entries if not e.is_dir())
        if not args.quiet:
            _line(f"Archive:  {archive.url}")
            _flush()
        options: dict[str, Any] = dict(_options(args))
        with _progress(args, total, "extracting") as progress:
            report = fastzips3.extract_to_s3(
                archive,
                args.dir,
                entries,
                overwrite=overwrite,
                junk_paths=args.junk_paths,
                verify=args.verify,
                workers=args.workers,
                max_total_size=args.max_size,
                max_entries=args.max_entries,
                on_progress=progress.advance,
                **options,
            )
        if not args.quiet:
            for key in report.written:
                _line(f"  extracted: {key}")
            for name in report.skipped:
                _line(f"    skipped: {name}")
            for name in report.unverified:
                _line(f" unverified: {name} (S3 gave no checksum; --verify reads it back)")
            _line(
                f"{_plural(len(report.written), 'object')} written, {report.copied} copied "
                f"server-side ({report.verified_by_checksum} CRC-checked by S3), "
                f"{report.bytes_sent:,} bytes sent, {len(report.skipped)} skipped"
            )
    return EXIT_OK


def _zip_inputs(paths: Sequence[str], recursive: bool) -> list[tuple[str, str]]:
    """(source, member name) for each file, URL or (with -r) directory tree, as zip names them."""
    out: list[tuple[str, str]] = []
    for item in paths:
        if item.startswith("s3://") or not os.path.isdir(item):
            out.append((item, item[5:].partition("/")[2] if item.startswith("s3://") else item))
            continue
        out.append((item, item.rstrip("/") + "/"))
        if not recursive:
            continue
        for root, dirs, files in os.walk(item):
            dirs.sort()
            for d in dirs:
                out.append((os.path.join(root, d), os.path.join(root, d) + "/"))
            for f in sorted(files):
                out.append((os.path.join(root, f), os.path.join(root, f)))
    return [(src, name.replace(os.sep, "/").lstrip("./") or src) for src, name in out]


def _cmd_zip(args: argparse.Namespace) -> int:
    """zip / append: fastzips3.ZipWriter over the files and s3:// objects given."""
    inputs = _zip_inputs(args.files, args.recurse)
    total = sum(os.path.getsize(s) for s, _ in inputs if "://" not in s and os.path.isfile(s))
    level = args.level
    compression = "stored" if level == 0 else "deflate"
    mode = "a" if args.command == "append" else "w"
    options: dict[str, Any] = {k: v for k, v in _options(args).items() if k != "password"}
    with _progress(args, total, "zipping") as progress:
        writer = fastzips3.ZipWriter(
            args.archive,
            mode,  # type: ignore[arg-type]
            compression=compression,
            level=level,
            workers=args.workers,
            to=args.to if mode == "a" else None,
            **options,
        )
        with writer:
            for src, name in inputs:
                if name.endswith("/"):
                    writer.mkdir(name)
                else:
                    writer.write(src, name)
                if "://" not in src and os.path.isfile(src):
                    progress.advance(os.path.getsize(src))
                if not args.quiet:
                    progress.line(f"  adding: {name}")
    result = writer.result
    if result is not None and not args.quiet:
        _line(
            f"{result.url}: {_plural(result.entries, 'member')}, {result.size:,} bytes; "
            f"{result.sent:,} bytes sent, {result.copies} server-side copies"
        )
    return EXIT_OK


# --- test -----------------------------------------------------------------------------------


def _display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: wide and fullwidth characters (CJK) take two,
    combining marks none."""
    width = 0
    for c in text:
        if unicodedata.combining(c):
            continue
        width += 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
    return width


def _pad(text: str, width: int) -> str:
    """``text`` padded with spaces to ``width`` terminal columns."""
    return text + " " * max(0, width - _display_width(text))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _require_password(args: argparse.Namespace, entries: Sequence[fastzips3.ZipEntry]) -> None:
    """Fail before any work (exit status 4) when members to read are encrypted and no password
    was given."""
    if _given_password(args) is not None:
        return
    locked = [e for e in entries if e.is_encrypted and not e.is_dir()]
    if len(locked) == 1:
        raise _CLIError(f"member {locked[0].name!r} is encrypted: {_PASSWORD_HINT}", EXIT_PASSWORD)
    if locked:
        raise _CLIError(
            f"{len(locked)} members are encrypted (the first: {locked[0].name!r}): "
            f"{_PASSWORD_HINT}",
            EXIT_PASSWORD,
        )


def _cmd_test(args: argparse.Namespace) -> int:
    password_given = _given_password(args) is not None
    with _open(args) as archive:
        entries = _select(archive, args.patterns)
        total = sum(e.file_size for e in entries if not e.is_dir())
        damaged = locked = other = 0
        width = max((_display_width(_shown(e.name)) for e in entries), default=0)
        width = min(max(width, 24), 60)
        with _progress(args, total, "testing") as progress:
            # Small members come many to a GET; large ones stream, several at once.
            checked = archive.test_members(entries, workers=args.workers)
            try:
                for entry, problem in checked:
                    progress.advance(entry.file_size)
                    name = _pad(_shown(entry.name), width)
                    if problem is None:
                        if not args.quiet:
                            progress.line(f"    testing: {name}  OK")
                    elif isinstance(problem, errors.PasswordError) and not password_given:
                        locked += 1
                        progress.line(f"    testing: {name}  skipped: encrypted, no password")
                    else:
                        if isinstance(problem, errors.PasswordError):
                            locked += 1
                        elif isinstance(problem, errors.FormatError):
                            damaged += 1
                        else:
                            other += 1
                        message = _message(problem, password_given=password_given)
                        if entry.is_encrypted and isinstance(problem, errors.IntegrityError):
                            message += " (a wrong password can do this too)"  # ZipCrypto: 1/256
                        progress.line(f"    testing: {name}  ERROR: {message}")
            finally:
                checked.close()
        return _test_verdict(archive.url, damaged, locked, other, password_given=password_given)


def _test_verdict(url: str, damaged: int, locked: int, other: int, *, password_given: bool) -> int:
    """The last line of ``test``: on stdout when all is well, else one error line on stderr;
    and the exit status (damaged data wins over password problems, which win over the rest)."""
    if not (damaged or locked or other):
        _line(f"No errors detected in compressed data of {url}.")
        return EXIT_OK
    parts = []
    if damaged or other:
        count = damaged + other
        noun = "error" if count == 1 else "errors"
        parts.append(f"{count} {noun} detected in compressed data of {url}")
    if locked and password_given:
        parts.append(f"wrong password for {_plural(locked, 'member')} (--password)")
    elif locked:
        verb = "was" if locked == 1 else "were"
        parts.append(f"{_plural(locked, 'encrypted member')} {verb} not tested: {_PASSWORD_HINT}")
    _flush()
    sys.stderr.write(f"fastzips3: error: {'; '.join(parts)}\n")
    if damaged:
        return EXIT_DAMAGED
    if locked:
        return EXIT_PASSWORD
    return EXIT_ERROR


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
        percent = round((1 - sum(_payload(e) for e in entries) / size) * 100) if size else 0
        saved = f", {percent}% saved" if percent >= 0 else f", {-percent}% larger"
        saved = saved if size else ""
        requests = "request" if stats.requests == 1 else "requests"
        rows = [
            ("Archive", archive.url),
            ("Size", _size_text(archive.size)),
            ("ETag", archive.etag or "-"),
            ("Entries", f"{len(entries):,} ({files:,} files, {dirs:,} dirs, {links:,} symlinks)"),
            ("Uncompressed", _size_text(size)),
            ("Compressed", _size_text(csize, saved)),
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
        _require_password(args, [entry])
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
        "--retries",
        type=_workers,
        default=default(None),
        metavar="N",
        help="attempts per request, the first included (default: 6; 1: no retry)",
    )
    group.add_argument(
        "--max-unranged-size",
        type=_size,
        default=argparse.SUPPRESS,
        metavar="SIZE",
        help="when an HTTP server ignores Range, keep an archive of up to SIZE in memory "
        "(default: 64M; 0: never)",
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
    common = _CommandParser(add_help=False)
    _add_global_options(common, suppress_defaults=True)
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_CommandParser
    )

    def command(name: str, help_text: str, description: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=help_text,
            description=description,
            parents=[common],
            epilog=_EXIT_TABLE,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument("archive", metavar="ARCHIVE", help="s3://, http(s)://, file:// or path")
        return sub

    ls = command(
        "ls",
        "list members (like unzip -l; -v like unzip -v; --json)",
        "List members, like unzip -l (-v: like unzip -v). A PATTERN is a name, a glob or a "
        "directory.",
    )
    ls.add_argument("patterns", metavar="PATTERN", nargs="*", default=[], help="members to list")
    ls.add_argument("-v", "--verbose", action="store_true", help="method, sizes, ratio and CRC-32")
    ls.add_argument(
        "--json",
        action="store_true",
        help="one JSON document (for an archive pattern: one JSON object a line per member)",
    )
    ls.add_argument(
        "--parquet",
        metavar="PATH",
        help="write the members (of every archive the pattern names) as Parquet to PATH, a "
        "local path or s3:// URL",
    )
    ls.add_argument(
        "--workers",
        type=_workers,
        default=64,
        metavar="N",
        help="archives listed at once, for an archive pattern (default: 64)",
    )
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
    extract.add_argument(
        "patterns", metavar="PATTERN", nargs="*", default=[], help="members to extract"
    )
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
    extract.add_argument(
        "--verify",
        action="store_true",
        help="with -d s3://: read back copied members S3 could not CRC-check",
    )
    extract.set_defaults(func=_cmd_extract)

    for name, help_text in (
        ("zip", "write a new archive (S3 or local) from files and s3:// objects"),
        ("append", "add files and s3:// objects to an archive (S3: old bytes copied in S3)"),
    ):
        writer = command(name, help_text, help_text[0].upper() + help_text[1:] + ".")
        writer.add_argument("files", metavar="FILE", nargs="+", help="files, dirs or s3:// URLs")
        writer.add_argument("-r", "--recurse", action="store_true", help="recurse into dirs")
        for n in range(10):
            writer.add_argument(
                f"-{n}",
                dest="level",
                action="store_const",
                const=n,
                help=argparse.SUPPRESS
                if n not in (0, 1, 9)
                else {0: "store only", 1: "compress faster", 9: "compress better"}[n],
            )
        writer.add_argument(
            "--workers", type=_workers, default=4, metavar="N", help="threads (default: 4)"
        )
        if name == "append":
            writer.add_argument(
                "--to", metavar="TARGET", help="write the result here; leave ARCHIVE untouched"
            )
        writer.set_defaults(func=_cmd_zip, level=None, to=None)

    test = command(
        "test",
        "check every member's CRC-32 (like unzip -t)",
        "Read every member and check its size and CRC-32, in parallel, like unzip -t. "
        "Exit status 3 when any member is damaged, 4 when encrypted members could not be "
        "tested (no password, or a wrong one).",
    )
    test.add_argument("patterns", metavar="PATTERN", nargs="*", default=[], help="members to test")
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
    index.add_argument(
        "patterns", metavar="MEMBER", nargs="*", default=[], help="members (default: all)"
    )
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


_PASSWORD_HINT = f"give the password with --password (or set {_PASSWORD_ENV})"


def _password_message(exc: errors.PasswordError, *, password_given: bool) -> str:
    """The library's password error in the CLI's words: it names ``--password``."""
    text = str(exc)
    if not password_given:
        subject = f"member {exc.name!r} is encrypted" if exc.name else "a member is encrypted"
        return f"{subject}: {_PASSWORD_HINT}"
    return f"{text} (--password)" if "wrong password" in text else text


def _message(exc: BaseException, *, password_given: bool = True) -> str:
    """One line describing ``exc`` for stderr."""
    if isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    elif isinstance(exc, OSError) and not isinstance(exc, errors.FastZipS3Error):
        if exc.filename is not None and exc.strerror:
            text = f"{exc.filename}: {exc.strerror}"
        else:
            text = str(exc) or type(exc).__name__
    elif isinstance(exc, errors.PasswordError):
        text = _password_message(exc, password_given=password_given)
    elif isinstance(exc, (errors.FastZipS3Error, _CLIError)):
        text = str(exc) or type(exc).__name__
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return re.sub(r"\s*[\r\n]+\s*", " ", text).strip()


def _exit_code(exc: BaseException) -> int:
    """The exit status for a failure (see the table in ``--help``)."""
    if isinstance(exc, _CLIError):
        return exc.code
    if isinstance(exc, errors.PasswordError):
        return EXIT_PASSWORD
    if isinstance(exc, errors.FormatError):
        return EXIT_DAMAGED
    return EXIT_ERROR


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
    exit 2, damaged data or a non-archive 3, a missing or wrong password 4, Ctrl-C 130.
    ``--debug`` adds the traceback.
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
        code = _exit_code(exc)
        given = _given_password(args) is not None
        with suppress(OSError):
            sys.stderr.write(f"fastzips3: error: {_message(exc, password_given=given)}\n")
            sys.stderr.flush()
        return code

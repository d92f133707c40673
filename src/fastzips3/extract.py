"""Safe extraction of archive members to a local directory.

:func:`extract_members` writes members below a destination directory and refuses what could
write anywhere else. The threat model is the usual one for archives from strangers:

- **zip-slip**: ``..`` components, absolute paths, drive letters, UNC paths, and backslashes
  (a separator on Windows, so they count as one everywhere), Windows reserved names (``CON``,
  ``NUL.txt``), names of dots and spaces only, control characters;
- **symbolic links** (CVE-2025-29787 and friends): symlink members are refused unless
  ``allow_symlinks``; even then a link must resolve inside the destination without passing
  through another link, and nothing is ever written through a link. A member whose path goes
  through a symlink member (``a -> /tmp`` then ``a/evil``) is refused, symlink members are
  created last, and every parent directory of every target is checked with ``lstat`` at write
  time;
- **collisions**: duplicate names and names that differ only in case (or Unicode
  normalization), which would overwrite each other on Windows and macOS;
- **bombs**: limits on the total size, the number of entries and the compression ratio of each
  member, checked on the declared sizes before anything is written, and again on the bytes
  actually produced, which stops mid-member.

Every member is validated before anything is written, so a refused archive writes nothing.
Each file is written to a temporary name in its target directory, and the files are renamed
over their targets only once all of them were written and their sizes and CRC-32s verified.
A failed or interrupted extraction leaves nothing behind: no temporary file, no file or link,
no directory it created (directories that existed before stay). What an archive could do is
bounded; what other processes do to the destination while it is being written (time-of-check
to time-of-use races) is not in scope.
"""

from __future__ import annotations

import contextlib
import errno
import io
import itertools
import os
import re
import stat
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from fastzips3._format.entry import ZipEntry
from fastzips3._format.names import unsafe_reason
from fastzips3.archive import Span, ZipArchive
from fastzips3.errors import (
    FastZipS3Error,
    LimitExceededError,
    PathError,
    PathExistsError,
    UnsafePathError,
)

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = [
    "DEFAULT_MAX_ENTRIES",
    "DEFAULT_MAX_RATIO",
    "DEFAULT_MAX_TOTAL_SIZE",
    "MAX_SYMLINK_TARGET",
    "RATIO_MIN_BYTES",
    "ExtractReport",
    "Overwrite",
    "extract_members",
    "member_path_problem",
]

#: Default cap on the bytes one extraction may write (64 GiB).
DEFAULT_MAX_TOTAL_SIZE = 64 << 30
#: Default cap on the number of members one extraction may write.
DEFAULT_MAX_ENTRIES = 1_000_000
#: Default cap on one member's uncompressed size over its compressed size.
DEFAULT_MAX_RATIO = 1000.0
#: The ratio limit applies only once a member has produced more than this many bytes, so that
#: small, very repetitive files (a few KiB of zeros deflate over 100:1) are never refused.
RATIO_MIN_BYTES = 1 << 20
#: Symlink members whose target is longer than this are refused.
MAX_SYMLINK_TARGET = 4096

#: What to do when a target file already exists: refuse with :class:`FileExistsError`
#: ("error"), keep the existing file ("never"), or replace it atomically ("always").
Overwrite = Literal["never", "always", "error"]

_CHUNK = 1 << 20
#: Members of a fetched span declaring at most this many bytes are decoded whole from it;
#: larger ones (a high ratio) stream, so memory stays bounded by the chunk.
_WHOLE_FROM_HELD = 8 << 20
_TMP_SUFFIX = ".fastzips3-tmp"
#: A new file, never an existing one (nor through a symbolic link at its name).
_CREATE_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_NOFOLLOW", 0)
)
_SEPARATORS = re.compile(r"[\\/]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_WINDOWS_INVALID = re.compile(r'[<>:"|?*]')
_Kind = Literal["dir", "file", "link"]


@dataclass
class ExtractReport:
    """What :func:`extract_members` did.

    ``extracted`` lists the paths written (files, symbolic links and directory entries), in
    archive order; ``skipped`` the targets that existed and were kept (``overwrite="never"``);
    ``bytes_written`` the bytes of the files extracted.
    """

    extracted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    bytes_written: int = 0


@dataclass(frozen=True, slots=True)
class _Item:
    """One member to write: where (components below the destination) and as what."""

    entry: ZipEntry
    parts: tuple[str, ...]
    kind: _Kind
    link_target: str | None = None

    @property
    def key(self) -> str:
        return "/".join(self.parts)


@dataclass(frozen=True, slots=True)
class _Staged:
    """A member written and verified under a temporary name, waiting for its rename.

    ``tmp`` is None for a target kept as it was (``overwrite="never"``), or for a member
    verified in memory and written at its new target (``in_place``).
    """

    shown: str
    target: str
    tmp: str | None
    produced: int
    in_place: bool = False


def _exists(target: str) -> PathExistsError:
    return PathExistsError(
        f"{target} exists: refusing to replace it (overwrite='always' replaces existing "
        "files, 'never' keeps them)",
        path=target,
    )


class _StoppedError(Exception):
    """Another worker failed (or the caller was interrupted): give up this member."""


def _refuse(entry: ZipEntry, reason: str) -> UnsafePathError:
    return UnsafePathError(
        f"refusing to extract {entry.name!r}: {reason}", name=entry.name, reason=reason
    )


def _fold(key: str) -> str:
    """The key under which two names collide on a case-insensitive, normalizing filesystem."""
    import unicodedata

    folded = unicodedata.normalize("NFC", key).casefold()
    if os.name == "nt":  # Windows drops trailing dots and spaces from each component
        folded = "/".join(part.rstrip(" .") for part in folded.split("/"))
    return folded


def member_path_problem(name: str) -> str | None:
    """Why the member ``name`` may not be written below a destination directory, or None.

    This extends :func:`fastzips3._format.names.unsafe_reason` (``..``, absolute paths, drive
    letters, UNC paths, reserved names; ``/`` and ``\\`` both separate) with names of dots and
    spaces only (Windows reads ``".. "`` as ``..``), control characters, and on Windows the
    characters it forbids in names (``:`` would name an alternate data stream).
    """
    reason = unsafe_reason(name)
    if reason is not None:
        return reason
    if _CONTROL.search(name):
        return "control character in name"
    for part in _SEPARATORS.split(name):
        if part in ("", "."):
            continue
        if not part.rstrip(" ."):
            return f"component {part!r} of dots and spaces only"
        if os.name == "nt" and _WINDOWS_INVALID.search(part):
            return f"character not allowed on Windows in {part!r}"
    return None


def _inside(root: str, path: str) -> bool:
    try:
        return os.path.commonpath([root, path]) == root
    except ValueError:  # different drives on Windows
        return False


def _umask() -> int:
    """The process umask, read without changing it where the platform allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mtime(entry: ZipEntry) -> float | None:
    """The modification time to restore: the extended timestamp, else the DOS local time."""
    if entry.mtime is not None:
        return float(entry.mtime)
    year, month, day, hour, minute, second = entry.date_time
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 62):
        return None
    try:
        return time.mktime((year, month, day, hour, minute, second, 0, 0, -1))
    except (OverflowError, ValueError):
        return None


def _write_all(out: io.RawIOBase, data: bytes) -> None:
    """All of ``data`` to an unbuffered file (a raw write may take only part of it)."""
    view = memoryview(data)
    while view:
        view = view[out.write(view) or 0 :]


def _unlink_quiet(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class _Extraction:
    """One call of :func:`extract_members`: the validated plan, then the writing."""

    def __init__(
        self,
        archive: ZipArchive,
        dest: str,
        *,
        overwrite: Overwrite,
        allow_symlinks: bool,
        junk_paths: bool,
        max_total_size: int | None,
        max_entries: int | None,
        max_ratio: float | None,
        workers: int,
        on_progress: Callable[[int], None] | None,
    ) -> None:
        if overwrite not in ("never", "always", "error"):
            raise ValueError(f"overwrite must be 'never', 'always' or 'error', not {overwrite!r}")
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.archive = archive
        self.dest = dest
        self.root = os.path.realpath(dest)
        self.overwrite = overwrite
        self.allow_symlinks = allow_symlinks
        self.junk_paths = junk_paths
        self.max_total_size = max_total_size
        self.max_entries = max_entries
        self.max_ratio = max_ratio
        self.workers = workers
        self.on_progress = on_progress
        umask = _umask()
        self.file_mask = 0o777 & ~0o022 & ~umask
        self.dir_mode = 0o755 & ~umask
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.produced_total = 0
        self.link_keys: set[str] = set()
        self.created_links: set[str] = set()
        self.created_dirs: dict[tuple[str, ...], str] = {}
        # What this run made, for the rollback of a failed run: the destination's missing
        # ancestors (outermost first), verified temporary files not yet renamed, and the
        # targets (files, links) that did not exist before.
        self.created_roots: list[str] = []
        self.staged: set[str] = set()
        #: Temporary file names: a random token per run, then a counter.
        self.token = os.urandom(6).hex()
        #: Directories checked for files (see _parent).
        self.parents: dict[tuple[str, ...], str] = {}
        self.counter = itertools.count()
        self.created_targets: list[str] = []

    # --- validation: nothing is written ---------------------------------------------------

    def plan(self, entries: list[ZipEntry]) -> list[_Item]:
        """Validate every member, and the destination's current state, before any write."""
        if self.max_entries is not None and len(entries) > self.max_entries:
            raise LimitExceededError(
                f"the extraction has {len(entries)} members, more than the limit of "
                f"{self.max_entries}"
            )
        items: list[_Item] = []
        by_key: dict[str, _Item] = {}
        by_fold: dict[str, _Item] = {}
        positions: dict[str, int] = {}
        for position, entry in enumerate(entries):
            item = self._item(entry)
            if item is None:
                continue
            previous = by_key.get(item.key) or by_fold.get(_fold(item.key))
            if previous is not None:
                if previous.kind == "dir" and item.kind == "dir":
                    continue  # the same directory twice: harmless
                if previous.key == item.key:
                    reason = f"duplicate name (also member {positions[previous.key]})"
                else:
                    reason = f"name collides with {previous.entry.name!r} (case or normalization)"
                raise _refuse(entry, reason)
            by_key[item.key] = item
            by_fold[_fold(item.key)] = item
            positions[item.key] = position
            items.append(item)
        self.link_keys = {_fold(i.key) for i in items if i.kind == "link"}
        total = 0
        for item in items:
            for depth in range(1, len(item.parts)):
                above = by_fold.get(_fold("/".join(item.parts[:depth])))
                if above is not None and above.kind != "dir":
                    what = "symbolic link" if above.kind == "link" else "file"
                    raise _refuse(
                        item.entry, f"its path goes through the {what} member {above.entry.name!r}"
                    )
            if item.kind == "file":
                total += item.entry.file_size
                self._check_ratio(item.entry, item.entry.file_size, declared=True)
        if self.max_total_size is not None and total > self.max_total_size:
            raise LimitExceededError(
                f"the members declare {total} bytes in all, more than the limit of "
                f"{self.max_total_size}"
            )
        resolved = [self._with_link_target(i) if i.kind == "link" else i for i in items]
        for item in resolved:
            self._check_destination(item)
        return resolved

    def _item(self, entry: ZipEntry) -> _Item | None:
        problem = member_path_problem(entry.name)
        if problem is not None:
            raise _refuse(entry, problem)
        parts = tuple(p for p in _SEPARATORS.split(entry.name) if p not in ("", "."))
        kind: _Kind
        if entry.is_symlink():
            if not self.allow_symlinks:
                raise _refuse(entry, "symbolic link (allow_symlinks is off)")
            kind = "link"
        elif entry.is_dir() or entry.name.endswith("\\"):
            kind = "dir"
        else:
            kind = "file"
        if self.junk_paths:
            if kind == "dir":
                return None
            parts = parts[-1:]
        if not parts:
            if kind == "dir":
                return None  # "./": the destination itself
            raise _refuse(entry, "empty path")
        return _Item(entry, parts, kind)

    def _with_link_target(self, item: _Item) -> _Item:
        """Read the link's target and check it resolves inside the destination."""
        entry = item.entry
        if entry.file_size > MAX_SYMLINK_TARGET:
            raise _refuse(entry, f"symbolic link target longer than {MAX_SYMLINK_TARGET} bytes")
        with self.archive.open(entry, verify=True) as f:
            raw = f.read(MAX_SYMLINK_TARGET + 1)
        if len(raw) > MAX_SYMLINK_TARGET:
            raise _refuse(entry, f"symbolic link target longer than {MAX_SYMLINK_TARGET} bytes")
        target = os.fsdecode(raw)
        if not target or "\x00" in target:
            raise _refuse(entry, "symbolic link with an empty target or a NUL byte")
        if target.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", target):
            raise _refuse(entry, f"symbolic link to an absolute path {target!r}")
        # The link's own directory must be a real one, so that the target is resolved from
        # where it appears to be.
        self._walk(item.parts[:-1], create=False, allow_links=False, entry=entry)
        stack = list(item.parts[:-1])
        for part in _SEPARATORS.split(target):
            if part in ("", "."):
                continue
            if stack and self._is_link(stack):
                raise _refuse(
                    entry, f"symbolic link target {target!r} goes through another symbolic link"
                )
            if part == "..":
                if not stack:
                    raise _refuse(
                        entry, f"symbolic link target {target!r} points outside the destination"
                    )
                stack.pop()
            else:
                stack.append(part)
        return _Item(entry, item.parts, "link", target)

    def _is_link(self, parts: list[str]) -> bool:
        if _fold("/".join(parts)) in self.link_keys:
            return True
        return os.path.islink(os.path.join(self.root, *parts))

    def _check_ratio(self, entry: ZipEntry, produced: int, *, declared: bool) -> None:
        limit = self.max_ratio
        if limit is None or produced <= RATIO_MIN_BYTES:
            return
        if produced > limit * max(1, entry.compress_size):
            what = "declares" if declared else "produced"
            raise LimitExceededError(
                f"member {entry.name!r} {what} {produced} bytes from {entry.compress_size} "
                f"compressed, a ratio over the limit of {limit:g} (a zip bomb?)"
            )

    def _check_destination(self, item: _Item) -> None:
        """What is already on disk: parents must be directories, targets follow the policy."""
        parent = self._walk(item.parts[:-1], create=False, allow_links=True, entry=item.entry)
        if parent is None:
            return  # a parent is missing: it will be created, so the target cannot exist
        target = os.path.join(parent, item.parts[-1])
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            return
        if item.kind == "dir":
            if stat.S_ISLNK(st.st_mode):
                self._walk(item.parts, create=False, allow_links=True, entry=item.entry)
            elif not stat.S_ISDIR(st.st_mode):
                raise NotADirectoryError(errno.ENOTDIR, "exists and is not a directory", target)
            return
        if self.overwrite == "never":
            return  # skipped when its turn comes, whatever is there
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "exists and is a directory", target)
        if self.overwrite == "error":
            raise _exists(target)

    def _walk(
        self, parts: tuple[str, ...], *, create: bool, allow_links: bool, entry: ZipEntry
    ) -> str | None:
        """The directory ``parts`` below the root, checked component by component with lstat.

        A component that is a symbolic link is refused when this extraction created it, when
        it resolves outside the root, or when ``allow_links`` is off. A missing component is
        created when ``create``, else the walk returns None.
        """
        path = self.root
        for depth, part in enumerate(parts, 1):
            path = os.path.join(path, part)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                if not create:
                    return None
                try:
                    os.mkdir(path, 0o777)
                except FileExistsError:
                    st = os.lstat(path)
                else:
                    os.chmod(path, self.dir_mode)
                    self.created_dirs.setdefault(parts[:depth], path)
                    continue
            if stat.S_ISLNK(st.st_mode):
                if path in self.created_links:
                    raise _refuse(entry, f"{path} is a symbolic link this extraction created")
                if not allow_links:
                    raise _refuse(entry, f"{path} is a symbolic link")
                if not _inside(self.root, os.path.realpath(path)):
                    raise _refuse(
                        entry, f"{path} is a symbolic link pointing outside the destination"
                    )
                if not os.path.isdir(path):
                    raise NotADirectoryError(errno.ENOTDIR, "not a directory", path)
            elif not stat.S_ISDIR(st.st_mode):
                raise NotADirectoryError(errno.ENOTDIR, "not a directory", path)
        return path

    # --- writing ------------------------------------------------------------------------------

    def run(self, items: list[_Item]) -> ExtractReport:
        """Write the validated plan, or on any failure undo everything this run created."""
        try:
            return self._run(items)
        except BaseException:
            self.stop.set()
            self._rollback()
            raise

    def _rollback(self) -> None:
        """Remove what this run created: files, links, temporary files, then directories.

        Directories go deepest first, and only when empty: one that something else wrote
        into meanwhile stays. What existed before the run is never touched.
        """
        with self.lock:
            doomed = [*self.created_targets, *self.staged]
            self.created_targets.clear()
            self.staged.clear()
        for path in doomed:
            with contextlib.suppress(OSError):
                os.unlink(path)
        dirs = [path for _, path in sorted(self.created_dirs.items(), key=lambda kv: -len(kv[0]))]
        for path in [*dirs, *reversed(self.created_roots)]:
            with contextlib.suppress(OSError):
                os.rmdir(path)
        self.created_dirs.clear()
        self.created_roots.clear()

    def _make_dest(self) -> None:
        """Create ``dest`` and its missing ancestors, remembering each one created."""
        path = os.path.abspath(self.dest)
        missing: list[str] = []
        while not os.path.isdir(path):
            missing.append(path)
            parent = os.path.dirname(path)
            if parent == path:
                break
            path = parent
        for path in reversed(missing):
            try:
                os.mkdir(path, 0o777)
            except FileExistsError:
                if not os.path.isdir(path):
                    raise NotADirectoryError(errno.ENOTDIR, "not a directory", path) from None
                continue
            self.created_roots.append(path)

    def _run(self, items: list[_Item]) -> ExtractReport:
        """Directories, then files in parallel (to temporary names), then every rename at once
        after all of them were verified, then links."""
        self._make_dest()
        self.root = os.path.realpath(self.dest)
        order = {id(item): n for n, item in enumerate(items)}
        done: dict[int, tuple[str, bool, int]] = {}
        needed: dict[tuple[str, ...], ZipEntry] = {}
        for item in items:
            needed.setdefault(item.parts if item.kind == "dir" else item.parts[:-1], item.entry)
        owner = {i.parts: i for i in items if i.kind == "dir"}
        for parts in sorted(needed, key=len):
            self._walk(parts, create=True, allow_links=True, entry=needed[parts])
            dir_item = owner.get(parts)
            if dir_item is not None:
                done[order[id(dir_item)]] = (self._shown(dir_item), True, 0)
        files = [i for i in items if i.kind == "file"]
        staged = self._write_files(files)
        for n in sorted(staged):  # archive order
            done[order[id(files[n])]] = self._commit_staged(staged[n])
        for item in items:
            if item.kind == "link":
                done[order[id(item)]] = self._write_link(item)
        self._finish_dirs(owner)
        report = ExtractReport()
        for n in sorted(done):
            path, written, size = done[n]
            (report.extracted if written else report.skipped).append(path)
            report.bytes_written += size
        return report

    def _shown(self, item: _Item) -> str:
        return os.path.join(self.dest, *item.parts)

    def _write_files(self, files: list[_Item]) -> dict[int, _Staged]:
        results: dict[int, _Staged] = {}
        if not files:
            return results
        # Imported here, not with the module: concurrent.futures (and the logging it pulls in)
        # is 5 ms of ``import fastzips3``.
        from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

        # Members that lie close together come in one GET each run (a span); each task writes
        # one span's members, so at most ``workers`` spans are held at once.
        spans = self.archive._plan_spans([item.entry for item in files])
        pool = ThreadPoolExecutor(
            max_workers=min(self.workers, len(spans)), thread_name_prefix="fastzips3-extract"
        )
        futures: dict[Future[list[tuple[int, _Staged]]], Span] = {}
        try:
            for span in spans:
                futures[pool.submit(self._write_span, span, files)] = span
            wait(futures, return_when=FIRST_EXCEPTION)
        except BaseException:
            self.stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        if self.errors:
            self.stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        if self.errors:
            raise self.errors[0]
        for future in futures:
            results.update(future.result())
        return results

    def _write_span(self, span: Span, files: list[_Item]) -> list[tuple[int, _Staged]]:
        """Fetch one span (one GET; a streamed span is read member by member instead) and
        write each of its members."""
        try:
            if self.stop.is_set():
                raise _StoppedError
            held = None if span.streamed else self.archive._fetch_span(span)
            written = []
            for n in span.items:
                if self.stop.is_set():
                    raise _StoppedError
                written.append((n, self._write_file(files[n], held, span.start)))
            return written
        except _StoppedError:
            raise
        except BaseException as exc:
            with self.lock:
                self.errors.append(exc)
            self.stop.set()
            raise

    def _write_file(self, item: _Item, held: bytes | None = None, base: int = 0) -> _Staged:
        """Write one member: verified in memory and written in place (a small member of a
        fetched span, when nothing is to be replaced), or streamed to a temporary file beside
        its target, renamed once every member is done."""
        entry = item.entry
        shown = self._shown(item)
        parent = self._parent(item.parts[:-1], entry)
        if parent is None:
            raise FileNotFoundError(errno.ENOENT, "directory vanished during extraction", shown)
        target = os.path.join(parent, item.parts[-1])
        if held is not None and entry.file_size <= _WHOLE_FROM_HELD:
            content = self.archive._read_held(entry, held, base)  # checked, no request
            self._count(entry, len(content), len(content))
            if self.overwrite != "always":
                return self._write_in_place(shown, target, entry, content)
            fd, tmp = self._temporary(parent, item.parts[-1])
            return self._fill_temporary(fd, tmp, shown, target, entry, content)
        if self.overwrite != "always" and os.path.lexists(target):
            if self.overwrite == "never":
                return _Staged(shown, target, None, 0)
            raise _exists(target)
        fd, tmp = self._temporary(parent, item.parts[-1])
        return self._fill_temporary(fd, tmp, shown, target, entry, None)

    def _parent(self, parts: tuple[str, ...], entry: ZipEntry) -> str | None:
        """The checked directory ``parts`` (walked once per directory: no link this run makes
        exists while files are written, and the directories were made and checked before)."""
        found = self.parents.get(parts)
        if found is None:
            found = self._walk(parts, create=False, allow_links=True, entry=entry)
            if found is not None:
                self.parents[parts] = found
        return found

    def _final_mode(self, entry: ZipEntry) -> int:
        mode = entry.unix_mode
        regular = mode is not None and stat.S_IFMT(mode) in (0, stat.S_IFREG)
        return (mode if regular and mode else 0o666) & self.file_mask

    def _write_in_place(self, shown: str, target: str, entry: ZipEntry, content: bytes) -> _Staged:
        """A verified member's bytes straight to its new target (``O_EXCL``: an existing one is
        never touched); the target is remembered at once, for the rollback of a failed run."""
        try:
            fd = os.open(target, _CREATE_FLAGS, self._final_mode(entry))
        except FileExistsError:
            if self.overwrite == "never":
                return _Staged(shown, target, None, 0)
            raise _exists(target) from None
        with self.lock:
            self.created_targets.append(target)
        with os.fdopen(fd, "wb", buffering=0) as out:
            _write_all(out, content)
            mtime = _mtime(entry)
            if mtime is not None:
                os.utime(out.fileno() if os.utime in os.supports_fd else target, (mtime, mtime))
        if self.on_progress is not None and content:
            self.on_progress(len(content))
        return _Staged(shown, target, None, len(content), in_place=True)

    def _fill_temporary(
        self,
        fd: int,
        tmp: str,
        shown: str,
        target: str,
        entry: ZipEntry,
        content: bytes | None,
    ) -> _Staged:
        """Write ``content`` (or the member, streamed and verified as it goes) to the
        temporary file ``tmp``; it is renamed over ``target`` once every member is done."""
        with self.lock:
            self.staged.add(tmp)
        kept = False
        try:
            produced = 0
            with os.fdopen(fd, "wb", buffering=0) as out:
                if content is not None:
                    produced = len(content)
                    _write_all(out, content)
                    if self.on_progress is not None and produced:
                        self.on_progress(produced)
                else:
                    with self.archive.open(entry, verify=True) as src:
                        while True:
                            if self.stop.is_set():
                                raise _StoppedError
                            chunk = src.read(_CHUNK)  # the read that reaches the end checks the CRC
                            if not chunk:
                                break
                            produced += len(chunk)
                            self._count(entry, produced, len(chunk))
                            _write_all(out, chunk)
                            if self.on_progress is not None:
                                self.on_progress(len(chunk))
                os.chmod(
                    out.fileno() if os.chmod in os.supports_fd else tmp, self._final_mode(entry)
                )
                mtime = _mtime(entry)
                if mtime is not None:
                    os.utime(out.fileno() if os.utime in os.supports_fd else tmp, (mtime, mtime))
            kept = True
        finally:
            if not kept:
                with self.lock:
                    self.staged.discard(tmp)
                _unlink_quiet(tmp)
        return _Staged(shown, target, tmp, produced)

    def _temporary(self, parent: str, leaf: str) -> tuple[int, str]:
        """A new, empty temporary file beside the target (``O_EXCL``, mode 0600): its fd and
        path. Names are this run's token and a counter (``mkstemp``'s random names cost 5 us
        each); a clash with a stranger's file falls back to ``mkstemp``."""
        path = os.path.join(parent, f".{leaf[:64]}.{self.token}{next(self.counter)}{_TMP_SUFFIX}")
        try:
            return os.open(path, _CREATE_FLAGS, 0o600), path
        except FileExistsError:
            import tempfile

            return tempfile.mkstemp(prefix=f".{leaf[:64]}.", suffix=_TMP_SUFFIX, dir=parent)

    def _commit_staged(self, staged: _Staged) -> tuple[str, bool, int]:
        """Rename one verified temporary file over its target; remember a target it created."""
        tmp = staged.tmp
        if staged.in_place:
            return staged.shown, True, staged.produced  # written at its target already
        if tmp is None:
            return staged.shown, False, 0  # skipped ("never")
        existed = os.path.lexists(staged.target)
        outcome = self._commit(tmp, staged.target)
        with self.lock:
            if outcome != "kept" and not existed:
                self.created_targets.append(staged.target)
            if outcome == "moved":
                self.staged.discard(tmp)
        if outcome != "moved":
            _unlink_quiet(tmp)
            with self.lock:
                self.staged.discard(tmp)
        if outcome == "kept":
            return staged.shown, False, 0
        return staged.shown, True, staged.produced

    def _count(self, entry: ZipEntry, produced: int, count: int) -> None:
        """Check the limits on the bytes actually produced, before they are written."""
        with self.lock:
            self.produced_total += count
            total = self.produced_total
        if self.max_total_size is not None and total > self.max_total_size:
            raise LimitExceededError(
                f"extraction stopped in {entry.name!r}: more than the limit of "
                f"{self.max_total_size} bytes in all"
            )
        self._check_ratio(entry, produced, declared=False)

    def _commit(self, tmp: str, target: str) -> Literal["moved", "linked", "kept"]:
        """Put the verified temporary file at ``target``, or keep the existing one ("never")."""
        if self.overwrite == "always":
            os.replace(tmp, target)
            return "moved"
        try:
            os.link(tmp, target)  # fails atomically when the target exists
        except FileExistsError:
            if self.overwrite == "never":
                return "kept"
            raise _exists(target) from None
        except OSError:  # no hard links on this filesystem
            if os.path.lexists(target):
                if self.overwrite == "never":
                    return "kept"
                raise _exists(target) from None
            os.replace(tmp, target)
            return "moved"
        return "linked"

    def _write_link(self, item: _Item) -> tuple[str, bool, int]:
        entry = item.entry
        assert item.link_target is not None
        shown = self._shown(item)
        parent = self._walk(item.parts[:-1], create=False, allow_links=False, entry=entry)
        if parent is None:
            raise FileNotFoundError(errno.ENOENT, "directory vanished during extraction", shown)
        target = os.path.join(parent, item.parts[-1])
        if self.overwrite == "always":
            tmp = os.path.join(parent, f".{item.parts[-1][:64]}.{os.urandom(4).hex()}{_TMP_SUFFIX}")
            _unlink_quiet(tmp)
            existed = os.path.lexists(target)
            try:
                os.symlink(item.link_target, tmp)
                os.replace(tmp, target)
            finally:
                _unlink_quiet(tmp)
            if not existed:
                with self.lock:
                    self.created_targets.append(target)
        else:
            try:
                os.symlink(item.link_target, target)  # fails atomically when it exists
            except FileExistsError:
                if self.overwrite == "never":
                    return shown, False, 0
                raise _exists(target) from None
            with self.lock:
                self.created_targets.append(target)
        self.created_links.add(target)
        mtime = _mtime(entry)
        if mtime is not None and os.utime in os.supports_follow_symlinks:
            with contextlib.suppress(OSError):
                os.utime(target, (mtime, mtime), follow_symlinks=False)
        return shown, True, 0

    def _finish_dirs(self, owner: dict[tuple[str, ...], _Item]) -> None:
        """Modes and times of the directories this extraction created, deepest first."""
        for parts in sorted(owner, key=len, reverse=True):
            path = self.created_dirs.get(parts)
            if path is None:
                continue  # it existed before: leave it as it was
            entry = owner[parts].entry
            mode = entry.unix_mode
            if mode is not None and stat.S_IFMT(mode) in (0, stat.S_IFDIR) and mode & 0o777:
                os.chmod(path, (mode & self.file_mask) | 0o700)
            mtime = _mtime(entry)
            if mtime is not None:
                os.utime(path, (mtime, mtime))


def extract_members(
    archive: ZipArchive,
    dest: str | os.PathLike[str],
    members: Iterable[ZipEntry | str] | None = None,
    *,
    overwrite: Overwrite = "error",
    allow_symlinks: bool = False,
    junk_paths: bool = False,
    max_total_size: int | None = DEFAULT_MAX_TOTAL_SIZE,
    max_entries: int | None = DEFAULT_MAX_ENTRIES,
    max_ratio: float | None = DEFAULT_MAX_RATIO,
    workers: int = 4,
    on_progress: Callable[[int], None] | None = None,
) -> ExtractReport:
    """Extract ``members`` (default: all) of ``archive`` below ``dest``, safely.

    Every member is validated first; a refused archive writes nothing:

    - unsafe paths, symbolic links (unless ``allow_symlinks``; then a link must stay inside
      ``dest`` and never be written through), duplicate and case-colliding names raise
      :class:`~fastzips3.errors.UnsafePathError` (with ``.name`` and ``.reason``);
    - more than ``max_entries`` members, more than ``max_total_size`` bytes in all, or a member
      of more than :data:`RATIO_MIN_BYTES` expanding more than ``max_ratio`` times raise
      :class:`~fastzips3.errors.LimitExceededError`. The declared sizes are checked first, the
      bytes actually produced while writing (stopping mid-member). ``None`` turns a limit off;
    - an existing target raises :class:`~fastzips3.errors.PathExistsError` (a
      :class:`FileExistsError`) with ``overwrite="error"`` (the default), is kept with
      ``"never"`` and replaced atomically with ``"always"``. Other failures of the destination
      raise :class:`~fastzips3.errors.PathError` (an :class:`OSError`, with the builtin's
      subclass and errno), and a missing member
      :class:`~fastzips3.errors.MemberNotFoundError` (a :class:`KeyError`).

    ``dest`` is created if needed. Directories are created (mode 0o755 less the umask), files
    are written to a temporary name beside their target and renamed over it once their size and
    CRC-32 were verified, with their modification time and permission bits (never setuid,
    setgid, sticky or group/other write) restored; symbolic links are created last.
    ``junk_paths`` writes every file directly in ``dest`` (directory entries are skipped).

    Files are extracted by ``workers`` threads, each with its own member reader, to temporary
    names; they are renamed to their targets only once every file was written and verified.
    ``on_progress`` is called with each count of bytes written, from the worker threads.

    **All or nothing.** The first error (a wrong or missing password, a CRC or size mismatch,
    damaged data, a limit, a network failure, a full disk) or an interruption
    (:class:`KeyboardInterrupt`) stops the other workers and is raised after the run was rolled
    back: every temporary file, every file and link this call created, and every directory it
    created (``dest`` and its parents included) are removed. Nothing that existed before is
    removed or changed, except that a failure during the final renames (rare: the disk, or
    another process) cannot bring back files ``overwrite="always"`` had already replaced.
    There is no "keep going" mode: to extract what can be, extract members one call at a time.
    """
    extraction = _Extraction(
        archive,
        os.fspath(dest),
        overwrite=overwrite,
        allow_symlinks=allow_symlinks,
        junk_paths=junk_paths,
        max_total_size=max_total_size,
        max_entries=max_entries,
        max_ratio=max_ratio,
        workers=workers,
        on_progress=on_progress,
    )
    if members is None:
        entries = archive.entries()
    else:
        entries = [archive.getinfo(m) if isinstance(m, str) else m for m in members]
    try:
        items = extraction.plan(entries)
        return extraction.run(items)
    except OSError as exc:
        if isinstance(exc, FastZipS3Error):
            raise
        # the destination's own failures (not a directory, permission denied, disk full...)
        raise PathError.from_os_error(exc) from exc

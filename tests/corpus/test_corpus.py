"""Conformance tests: every archive of the shared corpus, through a local path source.

Each archive's record in ``expected.json`` says what a correct reader must do with it
(``expect.outcome``); one test per outcome family checks it, with one test id per archive path.
Whatever the outcome, nothing but a :class:`~fastzips3.errors.FastZipS3Error` may escape fastzips3,
and no archive may hang it.
"""

from __future__ import annotations

import hashlib
import signal
import threading
import time
import traceback
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import pytest

import fastzips3
from fastzips3 import ZipArchive, ZipEntry
from fastzips3.errors import (
    CentralDirectoryError,
    CodecNotInstalledError,
    CRCMismatchError,
    DecompressionError,
    EncryptedEntryError,
    EOCDNotFoundError,
    FastZipS3Error,
    FormatError,
    IntegrityError,
    LimitExceededError,
    MultiDiskError,
    OverlapError,
    PasswordError,
    SizeMismatchError,
    TruncatedError,
    UnsupportedMethodError,
)

from .conftest import (
    Corpus,
    CorpusCase,
    ExpectedMember,
    collected_outcome_counts,
    skip_unless_required,
)
from .known_gaps import DIVERGENCES, KNOWN_UNSUPPORTED, SUPPORTED_METHODS

pytestmark = pytest.mark.corpus

# --- what the corpus holds ----------------------------------------------------------------------

#: Cases per expected outcome. A corpus change that adds or drops cases must update this on
#: purpose, so tests can never disappear silently.
EXPECTED_OUTCOME_COUNTS: dict[str, int] = {
    "ok": 169,
    "ok_implied": 33,
    "ok_list_refuse_extract": 2,
    "error": 19,
    "error_or_empty": 1,
    "member_error": 33,
    "ok_lenient_error_strict": 0,
    "strict_error": 43,
    "no_crash": 951,
    "unspecified": 57,
    "aux": 13,
}

OK_OUTCOMES = ("ok", "ok_implied")
REFUSE_EXTRACT_OUTCOMES = ("ok_list_refuse_extract",)
ERROR_OUTCOMES = ("error",)
MEMBER_ERROR_OUTCOMES = ("member_error",)
ERROR_OR_EMPTY_OUTCOMES = ("error_or_empty",)
FUZZ_OUTCOMES = ("no_crash",)
NO_CRASH_OUTCOMES = ("strict_error", "ok_lenient_error_strict", "unspecified")
AUX_OUTCOMES = ("aux",)

#: Test function -> the outcomes it covers. Every outcome must be covered exactly once.
TEST_OUTCOMES: dict[str, tuple[str, ...]] = {
    "test_ok": OK_OUTCOMES,
    "test_ok_list_refuse_extract": REFUSE_EXTRACT_OUTCOMES,
    "test_error": ERROR_OUTCOMES,
    "test_member_error": MEMBER_ERROR_OUTCOMES,
    "test_error_or_empty": ERROR_OR_EMPTY_OUTCOMES,
    "test_fuzz_seed_no_crash": FUZZ_OUTCOMES,
    "test_no_crash": NO_CRASH_OUTCOMES,
    "test_aux_is_not_an_archive": AUX_OUTCOMES,
}

# --- limits -----------------------------------------------------------------------------------

CHUNK = 1 << 20
#: Total decoded bytes read per archive where any outcome is fine (a bomb stops here).
NO_CRASH_BUDGET = 64 << 20
#: Total decoded bytes an ok archive may hold; more is a failure.
OK_BUDGET = 1 << 30
#: Wall time one adversarial case may take (open + list + read).
CASE_TIME_LIMIT_S = 2.0
#: A case still running after this is interrupted as a hang (SIGALRM, where available).
HANG_LIMIT_S = 30.0

# --- expected error classes -------------------------------------------------------------------

ErrorClasses = tuple[type[FastZipS3Error], ...]
GAP_ERRORS: ErrorClasses = (UnsupportedMethodError, EncryptedEntryError, PasswordError)

#: ``expect.error`` prefix -> the fastzips3 classes that express it, first match wins. Errors not
#: listed are unclear (origin-specific wording): any FastZipS3Error is accepted for them.
ERROR_CLASS_MAP: tuple[tuple[str, ErrorClasses], ...] = (
    ("not_a_zip", (EOCDNotFoundError, FormatError)),
    ("bad_eocd", (EOCDNotFoundError, FormatError)),
    ("truncated", (FormatError,)),
    ("overlapping_entries", (OverlapError,)),
    ("bad_crc / corrupt_data", (CRCMismatchError, DecompressionError)),
    ("bad_crc", (CRCMismatchError,)),
    ("size_mismatch", (SizeMismatchError, FormatError)),
    # Corrupt member data: a decoder error, or content that fails its size/CRC check, or data
    # cut short by the end of the archive (found before decoding when the declared compressed
    # size runs past it).
    ("corrupt_data", (DecompressionError, IntegrityError, TruncatedError)),
    ("unsupported_method", (UnsupportedMethodError,)),
    ("encrypted_central_directory", (EncryptedEntryError,)),
    ("encrypted", (EncryptedEntryError, PasswordError)),
    ("multi_disk_unsupported", (MultiDiskError,)),
    ("bad_central_directory", (FormatError,)),
    ("invalid_extra_field", (FormatError,)),
    ("resource_limit", (LimitExceededError, DecompressionError)),
    # libzip error codes (zip.h): 19 ZIP_ER_NOZIP, 21/x ZIP_ER_INCONS with a detail about the
    # central directory (5 = entry count, 11 = invalid value).
    ("libzip: 19", (EOCDNotFoundError, FormatError)),
    ("libzip: 21/", (CentralDirectoryError,)),
)


def expected_error_classes(error: str | None) -> ErrorClasses:
    """The fastzips3 classes that express ``expect.error``."""
    if error is not None:
        for prefix, classes in ERROR_CLASS_MAP:
            if error.startswith(prefix):
                return classes
    return (FastZipS3Error,)


def class_names(classes: ErrorClasses) -> str:
    """``A | B`` for messages."""
    return " | ".join(c.__name__ for c in classes)


def describe(exc: BaseException) -> str:
    """``Class: message`` for messages."""
    return f"{type(exc).__name__}: {exc}"


# --- running one archive ----------------------------------------------------------------------


class CaseTimeoutError(Exception):
    """Raised by SIGALRM inside a case that runs longer than ``HANG_LIMIT_S``."""


@contextmanager
def _hang_alarm(seconds: float) -> Iterator[None]:
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise CaseTimeoutError(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def guarded(case: CorpusCase, *, time_limit: float | None) -> Iterator[None]:
    """Run a case in-process, failing on a hang, a foreign exception or a slow run.

    Foreign means not a :class:`FastZipS3Error`: fastzips3 must wrap every failure.
    """
    start = time.perf_counter()
    try:
        with _hang_alarm(HANG_LIMIT_S):
            yield
    except CaseTimeoutError as exc:
        pytest.fail(f"{case.path}: hang: {exc}\n{_traceback(exc)}", pytrace=False)
    except FastZipS3Error:
        raise
    except Exception as exc:
        pytest.fail(
            f"{case.path}: {type(exc).__module__}.{type(exc).__qualname__} escaped fastzips3 "
            f"(every error must be a FastZipS3Error): {exc}\n{_traceback(exc)}",
            pytrace=False,
        )
    elapsed = time.perf_counter() - start
    if time_limit is not None and elapsed > time_limit:
        pytest.fail(
            f"{case.path}: took {elapsed:.2f} s, more than the {time_limit:g} s allowed",
            pytrace=False,
        )


def _traceback(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


@dataclass(frozen=True, slots=True)
class Content:
    """What reading one member gave."""

    size: int
    sha256: str
    crc32: int
    complete: bool
    """False when the byte budget stopped the read before the member's end."""


Read = Content | FastZipS3Error


def read_member(archive: ZipArchive, entry: ZipEntry, budget: int) -> Content:
    """Read ``entry`` in chunks to its end (fastzips3 checks size and CRC there), or to
    ``budget``."""
    digest = hashlib.sha256()
    crc = 0
    size = 0
    with archive.open(entry) as member:
        while True:
            if size >= budget:
                return Content(size, digest.hexdigest(), crc, complete=False)
            chunk = member.read(min(CHUNK, budget - size))
            if not chunk:
                break
            digest.update(chunk)
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    return Content(size, digest.hexdigest(), crc, complete=True)


@dataclass
class ArchiveRun:
    """Open, list, and read every member of one archive."""

    open_error: FastZipS3Error | None = None
    entries: list[ZipEntry] = field(default_factory=list)
    comment: bytes = b""
    reads: dict[int, Read] = field(default_factory=dict)
    """Position in ``entries`` -> result. Missing past the budget."""
    budget_exhausted: bool = False

    def errors(self) -> list[tuple[ZipEntry, FastZipS3Error]]:
        """Every member read that raised."""
        return [
            (self.entries[i], r) for i, r in self.reads.items() if isinstance(r, FastZipS3Error)
        ]


def run_archive(file: Path, *, budget: int) -> ArchiveRun:
    """Open ``file`` through a local path, list it, and read every member (``budget`` in all).

    FastZipS3 errors are recorded; any other exception propagates (see :func:`guarded`).
    """
    run = ArchiveRun()
    try:
        archive = fastzips3.open_archive(file)
    except FastZipS3Error as exc:
        run.open_error = exc.with_traceback(None)
        return run
    with archive:
        run.entries = archive.entries()
        run.comment = archive.comment
        left = budget
        for i, entry in enumerate(run.entries):
            if left <= 0:
                run.budget_exhausted = True
                break
            try:
                content = read_member(archive, entry, left)
            except FastZipS3Error as exc:
                # Drop the traceback now, so that whatever fastzips3 left behind is freed (and
                # finalized) inside this case, not at some later garbage collection.
                run.reads[i] = exc.with_traceback(None)
            else:
                left -= content.size
                run.budget_exhausted = not content.complete
                run.reads[i] = content
    return run


# --- checking what a run gave -----------------------------------------------------------------


def missing_extra(entry: ZipEntry, exc: FastZipS3Error) -> str | None:
    """The extra to install when a supported method's codec is absent here, else None."""
    if isinstance(exc, CodecNotInstalledError) and entry.compress_type in SUPPORTED_METHODS:
        return exc.extra
    return None


def skip_for_missing_extras(case: CorpusCase, run: ArchiveRun) -> None:
    """Skip (fail under FASTZIPS3_REQUIRE_ALL=1) when a codec extra this archive needs is absent."""
    extras = sorted(
        {extra for entry, exc in run.errors() if (extra := missing_extra(entry, exc)) is not None}
    )
    if extras:
        skip_unless_required(
            f"{case.path} needs the codec extra(s) {', '.join(extras)}: "
            f"pip install 'fastzips3[{','.join(extras)}]'."
        )


def is_gap_error(entry: ZipEntry, exc: FastZipS3Error) -> bool:
    """True when ``exc`` is the clean refusal of a feature fastzips3 does not support yet."""
    if entry.is_encrypted:
        return isinstance(exc, (EncryptedEntryError, PasswordError))
    return entry.compress_type not in SUPPORTED_METHODS and isinstance(exc, UnsupportedMethodError)


def _entry_label(entry: ZipEntry) -> str:
    flags = " encrypted" if entry.is_encrypted else ""
    return f"{entry.name!r} (#{entry.index}, method {entry.compress_type}{flags})"


def name_matches(entry: ZipEntry, expected: str, *, policy_dependent: bool) -> bool:
    """Whether ``entry`` is the member the origin calls ``expected``.

    When the origin marks the name encoding as policy dependent, the raw name bytes may be the
    expected text in UTF-8, Shift-JIS or CP437 (fastzips3 decodes by APPNOTE: CP437 unless flagged).
    """
    if entry.name == expected:
        return True
    if not policy_dependent:
        return False
    for encoding in ("utf-8", "shift_jis", "cp437"):
        try:
            if entry.raw_name == expected.encode(encoding):
                return True
        except UnicodeEncodeError:
            continue
    return False


def match_members(
    case: CorpusCase, run: ArchiveRun, problems: list[str]
) -> list[tuple[ExpectedMember, int]]:
    """Pair each expected member with an entry position; missing ones become problems."""
    used: set[int] = set()
    pairs: list[tuple[ExpectedMember, int]] = []
    policy = case.expect.encoding_policy_dependent
    for member in case.expect.members:
        for i, entry in enumerate(run.entries):
            if i not in used and name_matches(entry, member.name, policy_dependent=policy):
                used.add(i)
                pairs.append((member, i))
                break
        else:
            problems.append(f"member {member.name!r} is not listed; names: {_names(run)}")
    return pairs


def _names(run: ArchiveRun) -> str:
    names = [e.name for e in run.entries]
    shown = ", ".join(repr(n) for n in names[:20])
    return f"[{shown}{', ...' if len(names) > 20 else ''}] ({len(names)} entries)"


def stated_size(case: CorpusCase, member: ExpectedMember, entry: ZipEntry) -> int | None:
    """The member size the origin states, as the ZIP member's (uncompressed data) size.

    libarchive states ``archive_entry_size()``, which is 0 for a symbolic link whose target is
    the member data (test_read_format_zip.c test_symlink asserts size 0 and symlink "file"):
    that is not the member's size, so it is not compared.
    """
    if case.origin == "libarchive" and entry.is_symlink():
        return None
    return member.size


def stated_listed_crc(member: ExpectedMember, entry: ZipEntry) -> int | None:
    """The CRC-32 the central directory should list for ``member``.

    The origin states the CRC-32 of the plaintext. WinZip AE-2 (method 99) stores 0 in the
    headers instead, by design (the HMAC protects the data), so 0 is what it must list.
    """
    if entry.compress_type == 99 and entry.crc == 0:
        return None
    return member.crc32


def check_listing(
    case: CorpusCase, run: ArchiveRun, problems: list[str]
) -> list[tuple[ExpectedMember, int]]:
    """Entry count, expected names, sizes, CRC-32 (as listed), types and the comment."""
    expect = case.expect
    if expect.member_count is not None and len(run.entries) != expect.member_count:
        problems.append(f"lists {len(run.entries)} entries, expected {expect.member_count}")
    pairs = match_members(case, run, problems)
    for member, i in pairs:
        entry = run.entries[i]
        label = f"member {member.name!r}"
        size = stated_size(case, member, entry)
        if size is not None and entry.file_size != size:
            problems.append(f"{label}: listed size {entry.file_size}, expected {size}")
        crc = stated_listed_crc(member, entry)
        if crc is not None and entry.crc != crc:
            problems.append(f"{label}: listed CRC-32 {entry.crc:08x}, expected {crc:08x}")
        if member.encrypted is not None and entry.is_encrypted != member.encrypted:
            problems.append(
                f"{label}: is_encrypted is {entry.is_encrypted}, expected {member.encrypted}"
            )
        if member.mode is not None:
            if member.mode.startswith("symlink") and not entry.is_symlink():
                problems.append(f"{label}: is_symlink() is False, expected a symlink")
            if member.mode.startswith("dir") and not entry.is_dir():
                problems.append(f"{label}: is_dir() is False, expected a directory")
    policy = expect.encoding_policy_dependent
    wanted = list(expect.must_include) + list(expect.member_content)
    for name in wanted:
        if not any(name_matches(e, name, policy_dependent=policy) for e in run.entries):
            problems.append(f"member {name!r} is not listed; names: {_names(run)}")
    if expect.comment is not None and run.comment != expect.comment.encode("utf-8"):
        problems.append(f"archive comment is {run.comment!r}, expected {expect.comment!r}")
    return pairs


def check_libzip_stats(case: CorpusCase, run: ArchiveRun, problems: list[str]) -> None:
    """What libzip's read-only ``ziptool stat N`` tests list: the same entry at index N.

    Names whose raw bytes hold control characters are not compared: libzip shows the IBM PC
    glyphs of CP437 for them (0x01 -> '☺'), Python's cp437 codec keeps them as controls.
    """
    for stat in case.expect.libzip_stats:
        label = f"entry #{stat.index} (libzip {stat.test})"
        if stat.index >= len(run.entries):
            problems.append(f"{label}: missing, only {len(run.entries)} entries listed")
            continue
        entry = run.entries[stat.index]
        got = (entry.file_size, entry.crc, entry.compress_type, entry.is_encrypted)
        want = (stat.size, stat.crc32, stat.method, stat.encrypted)
        glyphs = any(b < 0x20 for b in entry.raw_name)
        if got != want or (entry.name != stat.name and not glyphs):
            problems.append(
                f"{label}: fastzips3 lists {entry.name!r} size {got[0]} crc {got[1]:08x} "
                f"method {got[2]} encrypted {got[3]}; libzip lists {stat.name!r} size "
                f"{stat.size} crc {stat.crc32:08x} method {stat.method} encrypted {stat.encrypted}"
            )


def check_content(
    label: str,
    content: Content,
    *,
    size: int | None,
    crc32: int | None,
    sha256: str | None,
    problems: list[str],
) -> None:
    """Compare what a read gave with what the origin states."""
    if not content.complete:
        problems.append(f"{label}: reading stopped at the {content.size}-byte budget")
        return
    if size is not None and content.size != size:
        problems.append(f"{label}: read {content.size} bytes, expected {size}")
    if crc32 is not None and content.crc32 != crc32:
        problems.append(f"{label}: content CRC-32 {content.crc32:08x}, expected {crc32:08x}")
    if sha256 is not None and content.sha256 != sha256:
        problems.append(f"{label}: content SHA-256 {content.sha256}, expected {sha256}")


def check_gap_usage(case: CorpusCase, gap_hits: Sequence[str], problems: list[str]) -> None:
    """A KNOWN_UNSUPPORTED archive must still hit its gap (else the entry is stale)."""
    reason = KNOWN_UNSUPPORTED.get(case.path)
    if reason is not None and not gap_hits:
        problems.append(
            f"listed in KNOWN_UNSUPPORTED ({reason}) but no member read raised "
            f"{class_names(GAP_ERRORS)}: remove it from tests/corpus/known_gaps.py"
        )


def fail_with(case: CorpusCase, run: ArchiveRun, problems: Sequence[str]) -> None:
    """Fail with every problem found, and what fastzips3 did with each member."""
    if not problems:
        return
    lines = [f"{case.path} (expected outcome {case.outcome!r}"]
    if case.expect.error:
        lines[0] += f", error {case.expect.error!r}"
    lines[0] += "):"
    lines += [f"  - {p}" for p in problems]
    if case.expect.note:
        lines.append(f"  corpus note: {case.expect.note}")
    if run.open_error is None:
        lines.append(f"  fastzips3 listed {len(run.entries)} entries; reads:")
        for i, entry in enumerate(run.entries[:30]):
            result = run.reads.get(i)
            if isinstance(result, Content):
                what = f"ok, {result.size} bytes" + ("" if result.complete else " (budget)")
            elif result is None:
                what = "not read (budget)"
            else:
                what = describe(result)
            lines.append(f"    {_entry_label(entry)}: {what}")
    pytest.fail("\n".join(lines), pytrace=False)


def check_readable(case: CorpusCase, run: ArchiveRun, *, budget: int) -> None:
    """The ok family: opens, lists what the origin states, and every member reads fully."""
    if run.open_error is not None:
        fail_with(case, run, [f"must open, but open_archive raised {describe(run.open_error)}"])
        return
    problems: list[str] = []
    pairs = check_listing(case, run, problems)
    check_libzip_stats(case, run, problems)
    listed = {i for _, i in pairs}
    gap_hits: list[str] = []
    gap_entries: set[int] = set()
    for i, entry in enumerate(run.entries):
        result = run.reads.get(i)
        if result is None:
            problems.append(f"{_entry_label(entry)} was not read: the {budget}-byte budget ran out")
            continue
        if isinstance(result, Content):
            if not result.complete:
                problems.append(f"{_entry_label(entry)}: content exceeds the {budget}-byte budget")
            continue
        if missing_extra(entry, result) is not None:
            gap_entries.add(i)  # see skip_for_missing_extras
        elif is_gap_error(entry, result):
            gap_entries.add(i)
            if case.path in KNOWN_UNSUPPORTED:
                gap_hits.append(entry.name)
            else:
                problems.append(
                    f"reading {_entry_label(entry)} raised {describe(result)} (if this is a "
                    "planned gap, list the archive in KNOWN_UNSUPPORTED)"
                )
        elif entry.is_dir() and i not in listed:
            continue  # only files must read; a directory is checked when the origin lists it
        else:
            problems.append(f"reading {_entry_label(entry)} raised {describe(result)}")
    for member, i in pairs:
        result = run.reads.get(i)
        if isinstance(result, Content) and i not in gap_entries:
            check_content(
                f"member {member.name!r}",
                result,
                size=stated_size(case, member, run.entries[i]),
                crc32=member.crc32,
                sha256=member.sha256,
                problems=problems,
            )
    policy = case.expect.encoding_policy_dependent
    for name, (size, sha256) in case.expect.member_content.items():
        for i, entry in enumerate(run.entries):
            result = run.reads.get(i)
            if name_matches(entry, name, policy_dependent=policy) and isinstance(result, Content):
                check_content(
                    f"member {name!r}",
                    result,
                    size=size,
                    crc32=None,
                    sha256=sha256,
                    problems=problems,
                )
    check_gap_usage(case, gap_hits, problems)
    fail_with(case, run, problems)
    skip_for_missing_extras(case, run)


# --- the tests --------------------------------------------------------------------------------


def test_corpus_outcome_counts(corpus: Corpus, pytestconfig: pytest.Config) -> None:
    """Every case of the corpus is collected, once, by the test for its outcome."""
    declared = Counter(case.outcome for case in corpus.cases)
    assert {o: declared.get(o, 0) for o in EXPECTED_OUTCOME_COUNTS} == EXPECTED_OUTCOME_COUNTS, (
        "the corpus changed: update EXPECTED_OUTCOME_COUNTS on purpose"
    )
    assert set(declared) <= set(EXPECTED_OUTCOME_COUNTS), "an outcome nobody tests appeared"
    assert set(corpus.outcomes) == set(EXPECTED_OUTCOME_COUNTS), "the schema's outcomes changed"
    covered = Counter(o for outcomes in TEST_OUTCOMES.values() for o in outcomes)
    assert covered == Counter(set(EXPECTED_OUTCOME_COUNTS)), "each outcome needs one test"
    paths = [case.path for case in corpus.cases]
    assert len(paths) == len(set(paths)), "duplicate archive paths in expected.json"
    missing = [case.path for case in corpus.cases if not case.file.is_file()]
    assert not missing, f"files listed in expected.json but absent: {missing}"

    collected = collected_outcome_counts(pytestconfig)
    mismatches = []
    for test_name, outcomes in TEST_OUTCOMES.items():
        got = {o: collected.get((test_name, o), 0) for o in outcomes}
        if not any(got.values()):
            continue  # that test function was not collected in this run (node id selection)
        want = {o: declared.get(o, 0) for o in outcomes}
        if got != want:
            mismatches.append(f"{test_name}: collected {got}, expected {want}")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.corpus_outcomes(*OK_OUTCOMES)
def test_ok(corpus_case: CorpusCase) -> None:
    """Opens; listed names, sizes, CRC-32 and SHA-256 match; every file member reads fully."""
    with guarded(corpus_case, time_limit=None):
        run = run_archive(corpus_case.file, budget=OK_BUDGET)
    check_readable(corpus_case, run, budget=OK_BUDGET)


@pytest.mark.corpus_outcomes(*REFUSE_EXTRACT_OUTCOMES)
def test_ok_list_refuse_extract(corpus_case: CorpusCase) -> None:
    """Listing and reading are fine (names are data: a traversal name is not an error here)."""
    with guarded(corpus_case, time_limit=None):
        run = run_archive(corpus_case.file, budget=OK_BUDGET)
    check_readable(corpus_case, run, budget=OK_BUDGET)
    # TODO(extraction issue): once fastzips3 can extract, assert that extracting these archives
    # refuses (UnsafePathError) or sanitizes the traversal members ("../../tmp/evil.txt", and
    # "..\\..\\Temp\\evil.txt" on Windows) and writes nothing outside the target directory.


@pytest.mark.corpus_outcomes(*ERROR_OUTCOMES)
def test_error(corpus_case: CorpusCase) -> None:
    """Rejected: opening, or else reading some member, raises the expected FastZipS3Error."""
    if check_divergence(corpus_case):
        return
    expected = expected_error_classes(corpus_case.expect.error)
    with guarded(corpus_case, time_limit=CASE_TIME_LIMIT_S):
        run = run_archive(corpus_case.file, budget=NO_CRASH_BUDGET)
    if run.open_error is not None:
        if not isinstance(run.open_error, expected):
            fail_with(
                corpus_case,
                run,
                [
                    f"rejected at open with {describe(run.open_error)}; expected "
                    f"{class_names(expected)}"
                ],
            )
        return
    errors = run.errors()
    if not errors:
        budget = " (stopped at the read budget)" if run.budget_exhausted else ""
        fail_with(
            corpus_case,
            run,
            [
                f"accepted: opened, listed {len(run.entries)} entries and read them without "
                f"error{budget}; expected {class_names(expected)}"
            ],
        )
    elif not any(isinstance(exc, expected) for _, exc in errors):
        raised = ", ".join(sorted({type(exc).__name__ for _, exc in errors}))
        fail_with(
            corpus_case, run, [f"member reads raised {raised}; expected {class_names(expected)}"]
        )


def _must_fail(member: ExpectedMember, entry: ZipEntry, *, encrypted_case: bool) -> bool:
    """Whether the origin says reading this listed member fails (else it must read fine)."""
    if member.encrypted is not None:
        return member.encrypted
    if encrypted_case:
        return entry.is_encrypted
    return member.read is not None or not member.has_checksum


def check_divergence(case: CorpusCase) -> bool:
    """For an archive in DIVERGENCES, assert fastzips3's pinned outcome; True if it was one."""
    divergence = DIVERGENCES.get(case.path)
    if divergence is None:
        return False
    with guarded(case, time_limit=CASE_TIME_LIMIT_S):
        run = run_archive(case.file, budget=NO_CRASH_BUDGET)
    if divergence.outcome == "not_a_zip":
        if not isinstance(run.open_error, EOCDNotFoundError):
            fail_with(
                case,
                run,
                [f"pinned as not a ZIP ({divergence.reason}); open gave {describe(run.open_error)}"]
                if run.open_error is not None
                else [f"pinned as not a ZIP ({divergence.reason}), but it opened"],
            )
        return True
    assert divergence.outcome == "reads_ok", divergence
    problems = [
        f"pinned to read fine ({divergence.reason}); {describe(e)}" for _, e in run.errors()
    ]
    if run.open_error is not None:
        problems.append(f"pinned to read fine, but open raised {describe(run.open_error)}")
    fail_with(case, run, problems)
    return True


@pytest.mark.corpus_outcomes(*MEMBER_ERROR_OUTCOMES)
def test_member_error(corpus_case: CorpusCase) -> None:
    """Opens; the bad member's read raises the expected class; the listed good ones read fine."""
    if check_divergence(corpus_case):
        return
    error = corpus_case.expect.error or ""
    expected = expected_error_classes(error)
    encrypted_case = error.startswith("encrypted")
    gap = corpus_case.path in KNOWN_UNSUPPORTED
    with guarded(corpus_case, time_limit=CASE_TIME_LIMIT_S):
        run = run_archive(corpus_case.file, budget=NO_CRASH_BUDGET)
    if run.open_error is not None:
        fail_with(
            corpus_case, run, [f"must open, but open_archive raised {describe(run.open_error)}"]
        )
        return
    skip_for_missing_extras(corpus_case, run)  # the expected failure may be behind the codec
    problems: list[str] = []
    pairs = check_listing(corpus_case, run, problems)

    def accepted(entry: ZipEntry, exc: FastZipS3Error) -> bool:
        return isinstance(exc, expected) or (gap and is_gap_error(entry, exc))

    for member, i in pairs:
        entry = run.entries[i]
        result = run.reads.get(i)
        label = f"member {member.name!r}"
        if result is None:
            problems.append(f"{label} was not read: the read budget ran out")
        elif _must_fail(member, entry, encrypted_case=encrypted_case):
            if isinstance(result, Content):
                problems.append(
                    f"{label}: read {result.size} bytes without error; expected "
                    f"{class_names(expected)}" + (f" ({member.read})" if member.read else "")
                )
            elif not accepted(entry, result):
                problems.append(
                    f"{label}: raised {describe(result)}; expected {class_names(expected)}"
                )
        elif isinstance(result, Content):
            check_content(
                label,
                result,
                size=stated_size(corpus_case, member, entry),
                crc32=member.crc32,
                sha256=member.sha256,
                problems=problems,
            )
        else:
            problems.append(f"{label} must read fine, but raised {describe(result)}")
    if encrypted_case:
        for i, entry in enumerate(run.entries):
            result = run.reads.get(i)
            if entry.is_encrypted and isinstance(result, Content):
                problems.append(f"{_entry_label(entry)} is encrypted but read without error")
    errors = run.errors()
    if not any(accepted(entry, exc) for entry, exc in errors):
        raised = ", ".join(sorted({type(exc).__name__ for _, exc in errors})) or "nothing"
        problems.append(f"no member read raised {class_names(expected)} (raised: {raised})")
    check_gap_usage(corpus_case, [e.name for e, exc in errors if is_gap_error(e, exc)], problems)
    fail_with(corpus_case, run, problems)


@pytest.mark.corpus_outcomes(*ERROR_OR_EMPTY_OUTCOMES)
def test_error_or_empty(corpus_case: CorpusCase) -> None:
    """Rejected, or listed with zero entries; never a crash or a hang."""
    with guarded(corpus_case, time_limit=CASE_TIME_LIMIT_S):
        run = run_archive(corpus_case.file, budget=NO_CRASH_BUDGET)
    if run.open_error is None and run.entries:
        fail_with(
            corpus_case,
            run,
            [f"opened with {len(run.entries)} entries; expected a FastZipS3Error or no entries"],
        )


@pytest.mark.corpus_outcomes(*FUZZ_OUTCOMES)
def test_fuzz_seed_no_crash(corpus_case: CorpusCase) -> None:
    """Open, list and read (64 MiB in all): success or a FastZipS3Error, within the time limit."""
    with guarded(corpus_case, time_limit=CASE_TIME_LIMIT_S):
        run_archive(corpus_case.file, budget=NO_CRASH_BUDGET)


@pytest.mark.corpus_outcomes(*NO_CRASH_OUTCOMES)
def test_no_crash(corpus_case: CorpusCase) -> None:
    """Strict-mode-only, lenient and unspecified cases: any clean outcome, no crash or hang."""
    # strict_error / ok_lenient_error_strict: fastzips3 has no strict (consistency-checking)
    # mode, so only the lenient side applies: a result or a FastZipS3Error, nothing else.
    with guarded(corpus_case, time_limit=CASE_TIME_LIMIT_S):
        run_archive(corpus_case.file, budget=NO_CRASH_BUDGET)


@pytest.mark.corpus_outcomes(*AUX_OUTCOMES)
def test_aux_is_not_an_archive(corpus_case: CorpusCase) -> None:
    """Auxiliary files (expected content, raw codec streams) are not archives."""
    pytest.skip(f"{corpus_case.path} is an auxiliary file of the corpus, not an archive")

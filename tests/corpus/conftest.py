"""The conformance corpus: where it is, what it expects, and how its cases become test ids.

The corpus lives outside the repository, in ``<repo>/../shared/corpus`` (``README.md``,
``expected.json``, ``files/``); set ``FASTZIPS3_CORPUS`` to point elsewhere. It is never copied
into the repository. Without it every corpus test skips, saying where it looked — or fails, when
``FASTZIPS3_REQUIRE_ALL=1`` is set (CI), so the corpus can never be skipped silently.

A test asks for the ``corpus_case`` fixture and says which outcomes it covers with
``@pytest.mark.corpus_outcomes("ok", ...)``; it is then parametrized with one test id per
archive path. At the end of the run a table shows passed/failed/skipped per outcome.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

import pytest

__all__ = [
    "CORPUS_ENV_VAR",
    "DEFAULT_CORPUS_DIR",
    "REQUIRE_ALL_ENV_VAR",
    "Corpus",
    "CorpusCase",
    "Expect",
    "ExpectedMember",
    "LibzipStat",
    "collected_outcome_counts",
    "skip_unless_required",
]

CORPUS_ENV_VAR = "FASTZIPS3_CORPUS"
REQUIRE_ALL_ENV_VAR = "FASTZIPS3_REQUIRE_ALL"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS_DIR = REPO_ROOT.parent / "shared" / "corpus"

_OUTCOME_PROPERTY = "corpus_outcome"
_MARKER = "corpus_outcomes"
_FIXTURE = "corpus_case"
_MISSING_ID = "corpus-missing"


# --- the expectations, typed ------------------------------------------------------------------


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"expected.json: {key!r} should be a string, got {value!r}")
    return value


def _opt_int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected.json: {key!r} should be an integer, got {value!r}")
    return value


def _opt_bool(data: Mapping[str, Any], key: str) -> bool | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise TypeError(f"expected.json: {key!r} should be a boolean, got {value!r}")
    return value


def _str_list(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"expected.json: {key!r} should be a list of strings, got {value!r}")
    return tuple(value)


@dataclass(frozen=True, slots=True)
class ExpectedMember:
    """One member as the origin states it. Only ``name`` is always present."""

    name: str
    size: int | None = None
    crc32: int | None = None
    sha256: str | None = None
    mode: str | None = None
    read: str | None = None
    """When present, the origin says reading this member must fail (and why)."""
    encrypted: bool | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> ExpectedMember:
        """Build from one ``expect.members`` record (``crc32`` is a hex string there)."""
        name = _opt_str(data, "name")
        if name is None:
            raise TypeError(f"expected.json: member without a name: {data!r}")
        crc = _opt_str(data, "crc32")
        return cls(
            name=name,
            size=_opt_int(data, "size"),
            crc32=int(crc, 16) if crc is not None else None,
            sha256=_opt_str(data, "sha256"),
            mode=_opt_str(data, "mode"),
            read=_opt_str(data, "read"),
            encrypted=_opt_bool(data, "encrypted"),
        )

    @property
    def has_checksum(self) -> bool:
        """True when the origin states the content (CRC-32 or SHA-256)."""
        return self.crc32 is not None or self.sha256 is not None


@dataclass(frozen=True, slots=True)
class LibzipStat:
    """One ``ziptool stat N`` result that a libzip regression test asserts on this archive."""

    test: str
    """The libzip test (file:line) that asserts it."""
    index: int
    name: str
    size: int
    crc32: int
    method: int
    encrypted: bool


#: ziptool options that keep ``stat`` comparable. None: libzip's default guesses names as
#: fastzips3 decodes them (flagged or valid UTF-8 as UTF-8, else CP437); ``-s`` (strict CP437
#: unless flagged), ``-r`` (raw), ``-x`` (hex names) and the rest don't.
_ZIPTOOL_OK_FLAGS: frozenset[str] = frozenset()
_STAT_KEYS = frozenset({"name", "index", "size", "crc", "compression method", "encryption method"})


def _parse_libzip_stats(tests: Any) -> tuple[LibzipStat, ...]:
    """The ``stat`` results of libzip tests that only stat this archive (no modification).

    Only ``ziptool_regress`` runs that exit 0 in default (non-strict) mode and whose commands
    are all ``stat N`` are used: their stdout is what libzip lists for the unmodified archive.
    """
    stats: list[LibzipStat] = []
    for test in tests if isinstance(tests, list) else []:
        if (
            test.get("program") != "ziptool_regress"
            or test.get("return") != 0
            or test.get("strict_checkcons")
        ):
            continue
        args = str(test.get("arguments", "")).split()
        flags = [a for a in args if a.startswith("-")]
        commands = [a for a in args if not a.startswith("-")][1:]
        if set(flags) - _ZIPTOOL_OK_FLAGS or not commands or len(commands) % 2:
            continue
        pairs = list(zip(commands[::2], commands[1::2], strict=True))
        if any(cmd != "stat" or not index.isdigit() for cmd, index in pairs):
            continue
        blocks: list[dict[str, str]] = [{}]
        for line in test.get("stdout", []):
            if not line:
                blocks.append({})
                continue
            key, _, value = str(line).partition(": ")
            blocks[-1][key] = value[1:-1] if value.startswith("'") else value
        blocks = [b for b in blocks if b]
        if len(blocks) > len(pairs):
            continue
        # The corpus keeps only the first lines of stdout: a cut block is not used.
        for (_, index), block in zip(pairs, blocks, strict=False):
            if not _STAT_KEYS.issubset(block):
                break
            stats.append(
                LibzipStat(
                    test=str(test.get("test")),
                    index=int(index),
                    name=block["name"],
                    size=int(block["size"]),
                    crc32=int(block["crc"], 16),
                    method=int(block["compression method"]),
                    encrypted=block["encryption method"] != "0",
                )
            )
    return tuple(stats)


@dataclass(frozen=True, slots=True)
class Expect:
    """The ``expect`` record of one archive (the parts the tests use)."""

    outcome: str
    error: str | None
    members: tuple[ExpectedMember, ...]
    member_count: int | None
    must_include: tuple[str, ...]
    """Names from ``members_must_include`` and ``members_names_only``."""
    member_content: Mapping[str, tuple[int | None, str | None]]
    """``member_content``: name -> (size, sha256)."""
    comment: str | None
    encoding_policy_dependent: bool
    """Names may legitimately decode differently (CP437 vs UTF-8 vs Shift-JIS)."""
    note: str | None
    libzip_stats: tuple[LibzipStat, ...]
    """What libzip's read-only ``ziptool stat`` tests list for this archive."""

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Expect:
        """Build from one archive's ``expect`` object."""
        outcome = _opt_str(data, "outcome")
        if outcome is None:
            raise TypeError(f"expected.json: expect without an outcome: {data!r}")
        members_raw = data.get("members") or []
        if not isinstance(members_raw, list):
            raise TypeError(f"expected.json: 'members' should be a list, got {members_raw!r}")
        content_raw = data.get("member_content") or {}
        if not isinstance(content_raw, dict):
            raise TypeError(f"expected.json: 'member_content' should be a mapping: {content_raw!r}")
        content = {
            str(name): (_opt_int(spec, "size"), _opt_str(spec, "sha256"))
            for name, spec in content_raw.items()
        }
        return cls(
            outcome=outcome,
            error=_opt_str(data, "error"),
            members=tuple(ExpectedMember.parse(m) for m in members_raw),
            member_count=_opt_int(data, "member_count"),
            must_include=_str_list(data, "members_must_include")
            + _str_list(data, "members_names_only"),
            member_content=content,
            comment=_opt_str(data, "comment"),
            encoding_policy_dependent=bool(data.get("encoding_policy_dependent")),
            note=_opt_str(data, "note"),
            libzip_stats=_parse_libzip_stats(data.get("libzip_tests")),
        )


@dataclass(frozen=True, slots=True)
class CorpusCase:
    """One archive of the corpus and what a correct reader must do with it."""

    path: str
    """Relative to ``files/``; also the test id."""
    file: Path
    origin: str
    expect: Expect

    @property
    def outcome(self) -> str:
        """The expected outcome (``expect.outcome``)."""
        return self.expect.outcome


@dataclass(frozen=True, slots=True)
class Corpus:
    """The parsed ``expected.json``."""

    root: Path
    outcomes: tuple[str, ...]
    """The outcome names the schema defines."""
    cases: tuple[CorpusCase, ...]

    def case(self, path: str) -> CorpusCase:
        """The case for ``path``."""
        for case in self.cases:
            if case.path == path:
                return case
        raise KeyError(path)


def corpus_dir() -> Path:
    """Where the corpus should be: ``$FASTZIPS3_CORPUS``, else ``<repo>/../shared/corpus``."""
    override = os.environ.get(CORPUS_ENV_VAR)
    return Path(override).expanduser() if override else DEFAULT_CORPUS_DIR


def _missing_reason(root: Path) -> str:
    override = os.environ.get(CORPUS_ENV_VAR)
    where = f"{CORPUS_ENV_VAR}={override}" if override else "the default, <repo>/../shared/corpus"
    return (
        f"conformance corpus not found: looked for {root / 'expected.json'} ({where}). Set "
        f"{CORPUS_ENV_VAR}=/path/to/corpus (the folder holding expected.json and files/) to "
        "point at it."
    )


@cache
def load_corpus() -> Corpus | None:
    """The corpus, or None when it is absent."""
    root = corpus_dir().resolve()
    expected = root / "expected.json"
    if not expected.is_file():
        return None
    with expected.open(encoding="utf-8") as f:
        data = json.load(f)
    outcomes = tuple(data["schema"]["outcome"])
    cases = tuple(
        CorpusCase(
            path=record["path"],
            file=root / "files" / record["path"],
            origin=record["origin"],
            expect=Expect.parse(record["expect"]),
        )
        for record in data["archives"]
    )
    return Corpus(root=root, outcomes=outcomes, cases=cases)


def skip_unless_required(reason: str) -> NoReturn:
    """Skip the test, or fail it when ``FASTZIPS3_REQUIRE_ALL=1`` (CI: nothing skips silently)."""
    if os.environ.get(REQUIRE_ALL_ENV_VAR) == "1":
        pytest.fail(f"{reason} Required because {REQUIRE_ALL_ENV_VAR}=1.", pytrace=False)
    pytest.skip(reason)


def require_corpus() -> Corpus:
    """The corpus; skips the test when absent, or fails it under ``FASTZIPS3_REQUIRE_ALL=1``."""
    corpus = load_corpus()
    if corpus is not None:
        return corpus
    skip_unless_required(_missing_reason(corpus_dir()))


# --- hooks and fixtures -----------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker that says which outcomes a corpus test covers."""
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(*outcomes): parametrize the {_FIXTURE} fixture with every corpus archive "
        "whose expected outcome is one of these",
    )
    config.stash[_COLLECTED] = Counter()
    _RESULTS.clear()


def _outcomes_of(metafunc: pytest.Metafunc) -> tuple[str, ...] | None:
    marker = metafunc.definition.get_closest_marker(_MARKER)
    return None if marker is None else tuple(str(a) for a in marker.args)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test id (the archive path) per corpus case of the outcomes the test covers."""
    if _FIXTURE not in metafunc.fixturenames:
        return
    outcomes = _outcomes_of(metafunc)
    if outcomes is None:
        raise pytest.UsageError(f"{metafunc.function.__name__} uses {_FIXTURE} without {_MARKER}")
    corpus = load_corpus()
    if corpus is None:
        params = [pytest.param(None, id=_MISSING_ID)]
    else:
        params = [
            pytest.param(case.path, id=case.path)
            for case in corpus.cases
            if case.outcome in outcomes
        ]
    metafunc.parametrize(_FIXTURE, params, indirect=True)


@pytest.fixture
def corpus_case(request: pytest.FixtureRequest) -> CorpusCase:
    """The corpus case this test id stands for (see ``pytest_generate_tests``)."""
    corpus = require_corpus()
    path = request.param
    assert isinstance(path, str)
    return corpus.case(path)


@pytest.fixture
def corpus() -> Corpus:
    """The whole corpus (skips, or fails under ``FASTZIPS3_REQUIRE_ALL=1``, when absent)."""
    return require_corpus()


# --- counting what ran ------------------------------------------------------------------------

_COLLECTED = pytest.StashKey[Counter[tuple[str, str]]]()
"""(test function, outcome) -> collected items, before any -k/-m deselection."""
_RESULTS: dict[str, tuple[str, str]] = {}
"""nodeid -> (outcome, result) with result one of passed/failed/skipped (this session)."""


def _case_outcome(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    if callspec is None or _FIXTURE not in callspec.params:
        return None
    path = callspec.params[_FIXTURE]
    corpus = load_corpus()
    if corpus is None or not isinstance(path, str):
        return None
    return corpus.case(path).outcome


def pytest_itemcollected(item: pytest.Item) -> None:
    """Count collected corpus cases per test function and outcome; tag their reports."""
    outcome = _case_outcome(item)
    if outcome is None or not isinstance(item, pytest.Function):
        return
    item.config.stash[_COLLECTED][(item.originalname, outcome)] += 1
    item.user_properties.append((_OUTCOME_PROPERTY, outcome))


def collected_outcome_counts(config: pytest.Config) -> Counter[tuple[str, str]]:
    """(test function name, outcome) -> number of collected test ids."""
    return config.stash[_COLLECTED]


def _report_outcome(report: pytest.TestReport) -> str | None:
    for key, value in report.user_properties:
        if key == _OUTCOME_PROPERTY and isinstance(value, str):
            return value
    return None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember the result of every corpus case (a failure in any phase wins)."""
    outcome = _report_outcome(report)
    if outcome is None:
        return
    previous = _RESULTS.get(report.nodeid, (outcome, "passed"))[1]
    if report.failed:
        result = "failed"
    elif report.skipped and previous != "failed":
        result = "skipped"
    else:
        result = previous
    _RESULTS[report.nodeid] = (outcome, result)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    """A table of corpus results per expected outcome."""
    if not _RESULTS:
        return
    table: dict[str, Counter[str]] = {}
    for outcome, result in _RESULTS.values():
        table.setdefault(outcome, Counter())[result] += 1
    terminalreporter.section("fastzips3 conformance corpus: results per expected outcome")
    for outcome in sorted(table, key=lambda o: (-sum(table[o].values()), o)):
        counts = table[outcome]
        detail = ", ".join(f"{counts[r]} {r}" for r in ("passed", "failed", "skipped") if counts[r])
        terminalreporter.write_line(f"  {outcome:<24} {sum(counts.values()):>5}: {detail}")

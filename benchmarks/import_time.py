"""What ``import fastzips3`` costs a fresh process, as ``python -X importtime`` reports it.

Each run is a fresh interpreter. Bytecode is warm: a first, unmeasured run writes it (into a
private ``PYTHONPYCACHEPREFIX``, so the tree stays clean and ``PYTHONDONTWRITEBYTECODE`` in the
environment does not turn every run into a cold one). The report gives the median and the range
of the package's cumulative import time, and the modules that cost the most (median of each
module's own time over the runs). ``--cold`` measures without bytecode instead.

    python -m benchmarks.import_time [--runs 21] [--top 25] [--module fastzips3] [--cold]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict


def _importtime(module: str, env: dict[str, str]) -> dict[str, tuple[int, int, int]]:
    """{module: (self us, cumulative us, depth)} for one fresh ``import module``."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stderr
    rows: dict[str, tuple[int, int, int]] = {}
    for line in err.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        fields = line.split(":", 1)[1].split("|")
        if not fields[0].strip().isdigit():
            continue  # the header line
        name = fields[2].rstrip()
        depth = (len(name) - len(name.lstrip())) // 2
        rows[name.strip()] = (int(fields[0]), int(fields[1]), depth)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--module", default="fastzips3")
    parser.add_argument("--cold", action="store_true", help="no bytecode cache")
    args = parser.parse_args(argv)

    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="fastzips3-pyc-") as pycache:
        if args.cold:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            env["PYTHONPYCACHEPREFIX"] = pycache  # empty, and nothing written to it
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = pycache
            _importtime(args.module, env)  # writes the bytecode
        runs = [_importtime(args.module, env) for _ in range(args.runs)]

    totals = [run[args.module][1] / 1000 for run in runs]
    own: dict[str, list[int]] = defaultdict(list)
    cumulative: dict[str, list[int]] = defaultdict(list)
    for run in runs:
        for name, (self_us, cum_us, _) in run.items():
            own[name].append(self_us)
            cumulative[name].append(cum_us)
    print(
        f"import {args.module} ({'cold' if args.cold else 'warm'} bytecode, {args.runs} fresh "
        f"processes, {sys.implementation.name} {sys.version.split()[0]}): median "
        f"{statistics.median(totals):.1f} ms, min {min(totals):.1f}, max {max(totals):.1f}"
    )
    print(f"\n{'own ms':>8} {'cum ms':>8}  module (medians; top {args.top} by own time)")
    ranked = sorted(own, key=lambda n: statistics.median(own[n]), reverse=True)
    for name in ranked[: args.top]:
        print(
            f"{statistics.median(own[name]) / 1000:8.2f} "
            f"{statistics.median(cumulative[name]) / 1000:8.2f}  {name}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

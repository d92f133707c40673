"""One benchmark measurement in a fresh process: ``python -m benchmarks.child < job.json``.

The parent (:mod:`benchmarks.run`) writes a :class:`~benchmarks.readers.Job` as JSON on
stdin.  The child sets the reader up (untimed), times the operation including closing,
verifies the result, and prints one line ``RESULT {json}`` on stdout with the seconds, the
peak RSS of the process (``VmHWM``, so each reader's memory is measured alone), CPU time,
when the archive had been listed (``opened_at``, ``time.monotonic()``, for ``seek``), what
the reader noted (``extra``) and any failure.  Requests and bytes are counted by the
parent's proxy, not here.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import traceback
from dataclasses import fields
from typing import Any

from benchmarks.readers import Job, make_reader, verify

__all__ = ["RESULT_PREFIX", "main"]

#: Marks the result line on stdout.
RESULT_PREFIX = "RESULT "


def peak_rss_bytes() -> int:
    """This process's peak resident set size.

    ``VmHWM`` from ``/proc/self/status`` where there is one: ``ru_maxrss`` is no good in a
    child, because Linux carries the parent's peak over ``fork``/``exec`` (a child of a 500 MB
    parent reports 500 MB however little it uses).
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    # ru_maxrss is in kilobytes on Linux, bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _rusage() -> dict[str, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "maxrss_mb": peak_rss_bytes() / 1e6,
        "cpu_user": usage.ru_utime,
        "cpu_sys": usage.ru_stime,
    }


def run_job(job: Job) -> dict[str, Any]:
    """Run ``job`` and return the result record (never raises for reader failures)."""
    out: dict[str, Any] = {"ok": False}
    try:
        reader = make_reader(job)
        t0 = time.perf_counter()
        reader.setup()
        out["setup_seconds"] = time.perf_counter() - t0
        before = _rusage()
        out["base_rss_mb"] = before["maxrss_mb"]
        op = getattr(reader, job.op)
        t0 = time.perf_counter()
        try:
            result = op()
        finally:
            reader.close()
        out["seconds"] = time.perf_counter() - t0
        after = _rusage()
        out["maxrss_mb"] = after["maxrss_mb"]
        out["cpu_seconds"] = (
            after["cpu_user"] - before["cpu_user"] + after["cpu_sys"] - before["cpu_sys"]
        )
        out["result"] = list(result) if isinstance(result, tuple) else result
        out["notes"] = reader.notes
        out["extra"] = reader.extra
        if reader.opened_at is not None:
            out["opened_at"] = reader.opened_at
        module = sys.modules.get("fastzips3")
        if module is not None:
            out["fastzips3_path"] = str(getattr(module, "__file__", ""))
        verify(job, job.op, result)
        out["ok"] = True
    except NotImplementedError as exc:
        out["error"] = f"n/a: {exc}"
        out["skipped"] = True
    except BaseException as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"[:500]
        out["traceback"] = traceback.format_exc()[-3000:]
    return out


def main() -> int:
    """Read a job from stdin, run it, print the result line."""
    raw = json.load(sys.stdin)
    names = {f.name for f in fields(Job)}
    job = Job(**{k: v for k, v in raw.items() if k in names})
    result = run_job(job)
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

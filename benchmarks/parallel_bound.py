"""Where the parallel read of the 1 GiB deflate member stops scaling on this machine.

    .venv/bin/python -m benchmarks.parallel_bound [--runs 3]

Issue 11 asks a parallel read from the checkpoint index to be 1.7x the sequential read. Both
make one fresh 1 GiB result, and the kernel must fault in (zero and map) its 262,144 pages:

- the sequential read decodes on one core while a helper thread populates the pages ahead of
  it on the other (``MADV_POPULATE_WRITE``), so it costs about D, the decoding alone;
- the parallel read decodes on both cores, and the same page work lands on them too, so it
  costs at least (D + F) / 2, F being the page work.

Its ratio is therefore at most about 2D / (D + F) on 2 cores. This prints D (decoding into
pages already faulted in), D2 (two threads each decoding half of it at once, pages faulted in:
does decoding itself scale?), F (faulting in 1 GiB of fresh pages one fault per page; the
core's bulk populate is cheaper), the real sequential (S) and parallel (P) reads, the
thread-seconds the parallel read's pieces spend decoding (their pages populated included) and
reading, and the bound S / (those thread-seconds / 2). Medians of ``--runs``.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable

MiB = 1 << 20


def _median(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    """Measure and print one line per figure."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--archive",
        default="benchmarks/.data/pytest-full/big.zip",
        help="the benchmark archive (benchmarks/run_pytest.sh makes it)",
    )
    args = parser.parse_args()

    import fastzips3
    from benchmarks.data import CSV_MEMBER
    from fastzips3._accel import CORE

    if CORE is None:
        raise SystemExit("the compiled core is needed")
    path = args.archive
    with fastzips3.open_archive(path, directory_cache=False) as archive:
        start, end = archive.data_span(CSV_MEMBER)
        size = archive.getinfo(CSV_MEMBER).file_size
    with open(path, "rb") as f:
        f.seek(start)
        compressed = f.read(end - start)

    def decode_into(out: bytearray | memoryview, limit: int) -> None:
        inflater = CORE.Inflater(name=CSV_MEMBER)
        inflater.feed(compressed)
        view = memoryview(out)[:limit]
        done = 0
        while done < limit:
            done += inflater.decompress_into(view[done:])

    faulted = bytearray(size)
    faulted[::4096] = b"\x01" * len(range(0, size, 4096))  # every page faulted in once
    d = _median(args.runs, lambda: decode_into(faulted, size))

    halves = [bytearray(size // 2 + 4096), bytearray(size // 2 + 4096)]
    for half in halves:
        half[::4096] = b"\x01" * len(range(0, len(half), 4096))

    def two_threads() -> None:
        threads = [threading.Thread(target=decode_into, args=(half, size // 2)) for half in halves]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    d2 = _median(args.runs, two_threads)

    def fault_per_page() -> None:
        fresh = bytearray(size)
        fresh[::4096] = b"\x01" * len(range(0, size, 4096))

    f_page = _median(args.runs, fault_per_page)

    def sequential() -> None:
        with fastzips3.open_archive(path, directory_cache=False) as archive:
            archive.read(CSV_MEMBER)

    def parallel() -> None:
        with fastzips3.open_archive(path) as archive:
            if archive.index(CSV_MEMBER) is None:
                archive.build_index(CSV_MEMBER)
            archive.read(CSV_MEMBER)

    parallel()  # the index, built once into the cache
    s = _median(args.runs, sequential)
    p = _median(args.runs, parallel)
    busy = _thread_seconds(parallel)
    work = busy["decode"] + busy["read"]
    print(f"# 1 GiB deflate member ({size / MiB:.0f} MiB out), medians of {args.runs} runs")
    print(f"D   decode, pages faulted in, 1 thread : {d:.3f} s ({size / d / MiB:.0f} MiB/s)")
    print(f"D2  the same work on 2 threads at once  : {d2:.3f} s (decode scaling {d / d2:.2f}x)")
    print(f"F   fault in 1 GiB of fresh pages       : {f_page:.3f} s (one fault per page)")
    print(f"S   sequential read (populate helper)   : {s:.3f} s")
    print(f"P   parallel read from the index        : {p:.3f} s (S/P = {s / p:.2f}x)")
    print(
        f"    its pieces' thread-seconds          : decode with populate {busy['decode']:.3f} s "
        f"+ reads {busy['read']:.3f} s = {work:.3f} s"
    )
    print(f"bound on 2 cores, S / (work / 2)        : {2 * s / work:.2f}x")


def _thread_seconds(run: Callable[[], None]) -> dict[str, float]:
    """Seconds the parallel read's workers spent decoding (pages populated included) and
    reading compressed bytes, summed over threads (one more run, timed piece by piece)."""
    from fastzips3._codecs.zran import PieceOutput
    from fastzips3._engine.engine import Engine

    busy = {"decode": 0.0, "read": 0.0}
    lock = threading.Lock()
    decode, fetch = PieceOutput.decode, Engine.fetch

    def timed(kind: str, fn: Callable[..., object]) -> Callable[..., object]:
        def wrapper(*a: object, **k: object) -> object:
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                with lock:
                    busy[kind] += time.perf_counter() - t

        return wrapper

    PieceOutput.decode = timed("decode", decode)  # type: ignore[method-assign,assignment]
    Engine.fetch = timed("read", fetch)  # type: ignore[method-assign,assignment]
    try:
        run()
    finally:
        PieceOutput.decode = decode  # type: ignore[method-assign]
        Engine.fetch = fetch  # type: ignore[method-assign]
    return busy


if __name__ == "__main__":
    main()

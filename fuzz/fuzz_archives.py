"""Long-running mutation fuzzer for fastzips3's parser and readers (not run by CI).

Run it for as long as you like::

    .venv/bin/python -m fuzz.fuzz_archives --seconds 600

Seeds are the conformance corpus (``../shared/corpus`` or ``$FASTZIPS3_CORPUS``) plus seeded
generated archives. Each input is mutated (bit flips, boundary values written over fields,
cuts, insertions, splices) and checked against the invariant of ``tests/helpers/invariant.py``:
open, list and read either succeed or raise a fastzips3 error, every request stays inside the
object, listing never fetches more than the object holds, within 2 s and a 4 GiB address-space
cap. A failing input is written to ``fuzz/crashes/`` with the traceback, and the run goes on.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import resource
import signal
import sys
import time
import traceback
from pathlib import Path
from types import FrameType

from tests.helpers.invariant import check
from tests.helpers.zips import make_zip, seeded_members

BOUNDARY = [0, 1, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, (1 << 63) - 1, (1 << 64) - 1]
CRASHES = Path(__file__).resolve().parent / "crashes"
TIME_LIMIT_S = 2


class _HangError(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _HangError("over the time limit")


def seeds(corpus: Path | None) -> list[bytes]:
    """Corpus archives (when present) and generated ones."""
    out = [make_zip(seeded_members(s, 5, 5000), comment=b"x" * s) for s in range(8)]
    out.append(make_zip([("z", b"z" * 70_000, "deflate")], force_zip64=True))
    if corpus is not None and (corpus / "files").is_dir():
        out += [p.read_bytes() for p in sorted((corpus / "files").rglob("*")) if p.is_file()]
    return [s for s in out if 0 < len(s) <= 1 << 20]


def mutate(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    """One to eight random mutations."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if not buf:
            buf = bytearray(b"PK\x05\x06")
        pos = rng.randrange(len(buf))
        kind = rng.random()
        if kind < 0.35:
            buf[pos] ^= 1 << rng.randrange(8)
        elif kind < 0.65:
            width = rng.choice((2, 4, 8))
            value = rng.choice(BOUNDARY) & ((1 << (8 * width)) - 1)
            buf[pos : pos + width] = value.to_bytes(width, "little")
        elif kind < 0.75:
            del buf[pos : pos + rng.randint(1, 256)]
        elif kind < 0.85:
            buf[pos:pos] = rng.randbytes(rng.randint(1, 64))
        else:
            other = rng.choice(pool)
            start = rng.randrange(len(other))
            buf[pos:pos] = other[start : start + rng.randint(1, 512)]
    return bytes(buf)


def main(argv: list[str] | None = None) -> int:
    """Fuzz for ``--seconds``; return 1 if any input broke the invariant."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--corpus", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpus"
    )
    args = parser.parse_args(argv)
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    signal.signal(signal.SIGALRM, _alarm)
    rng = random.Random(args.seed)
    pool = seeds(args.corpus)
    deadline = time.monotonic() + args.seconds
    runs = failures = 0
    while time.monotonic() < deadline:
        data = mutate(rng, rng.choice(pool), pool)
        runs += 1
        signal.alarm(TIME_LIMIT_S)
        try:
            check(
                data,
                tail_size=rng.choice((1, 100, 4096, 1 << 20)),
                chunk=rng.choice((1, 4096, 1 << 20)),
            )
        except Exception:  # anything not from fastzips3, a hang, or a broken request bound
            failures += 1
            CRASHES.mkdir(exist_ok=True)
            name = hashlib.sha256(data).hexdigest()[:16]
            (CRASHES / f"{name}.zip").write_bytes(data)
            (CRASHES / f"{name}.txt").write_text(traceback.format_exc())
        finally:
            signal.alarm(0)
    print(f"{runs} inputs in {args.seconds:g} s from {len(pool)} seeds; {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

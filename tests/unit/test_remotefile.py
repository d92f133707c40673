"""RemoteFile as a file: reads are whole (as from a local file) wherever its read-ahead stream
cuts its pieces, and zipfile walking many members through it works and costs few requests."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import fastzips3
from fastzips3.sources.memory import MemorySource


def test_sequential_reads_are_whole_across_the_stream_pieces() -> None:
    """1,000-byte reads of a 20 MB object (not a ZIP: read-ahead runs to the end) straddle the
    stream's 256 KiB and 1 MiB pieces; each still returns all 1,000 bytes, as a file does
    (zipfile took a short read of a local header for a truncated archive)."""
    data = random.Random(1).randbytes(20_000_000)
    f = fastzips3.RemoteFile(MemorySource(data))
    got: list[bytes] = []
    while True:
        chunk = f.read(1000)
        if not chunk:
            break
        assert len(chunk) == min(1000, len(data) - sum(map(len, got)))
        got.append(chunk)
    assert b"".join(got) == data


def test_zipfile_extractall_through_remotefile(tmp_path: Path) -> None:
    rng = random.Random(3)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(20_000):  # about 10 MB: past one prefetch chunk, so it streams in pieces
            zf.writestr(f"d{i % 13}/f{i:05d}.bin", rng.randbytes(rng.randrange(10, 900)))
    data = buf.getvalue()
    assert len(data) > 8 << 20
    remote = fastzips3.RemoteFile(MemorySource(data))
    with zipfile.ZipFile(remote) as zf:
        zf.extractall(tmp_path)
    with zipfile.ZipFile(io.BytesIO(data)) as ref:
        for info in ref.infolist()[::37]:
            assert (tmp_path / info.filename).read_bytes() == ref.read(info)
    assert remote.stats.requests <= 50  # 16 KiB blocks for 512 KiB (a local source), then streams

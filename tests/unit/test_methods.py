"""Every method: whole reads, chunked reads from 1 byte to 1 MiB, seeks, early close."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import fastzips3
from fastzips3 import errors
from tests.helpers.rawzip import RawMember, build_zip
from tests.helpers.zips import random_bytes, text_bytes

METHODS = {
    "stored": 0,
    "deflate": 8,
    "deflate64": 9,
    "bzip2": 12,
    "lzma": 14,
    "zstd": 93,
    "xz": 95,
}


def _payload(seed: int, size: int) -> bytes:
    rng = random.Random(seed)
    return text_bytes(rng, size // 2) + random_bytes(rng, size - size // 2)


@pytest.fixture(scope="module")
def archives() -> dict[str, tuple[bytes, bytes]]:
    out = {}
    for label, method in METHODS.items():
        payload = _payload(method, 600_000)
        data = build_zip(
            [
                RawMember("empty", b"", method),
                RawMember("one", b"x", method),
                RawMember("big", payload, method),
            ]
        )
        out[label] = (data, payload)
    return out


@pytest.mark.parametrize("label", METHODS)
def test_whole_reads(label: str, archives: dict[str, tuple[bytes, bytes]]) -> None:
    data, payload = archives[label]
    with fastzips3.open_archive(fastzips3.MemorySource(data)) as archive:
        assert archive.read("empty") == b""
        assert archive.read("one") == b"x"
        assert archive.read("big") == payload
        assert archive.getinfo("big").compress_type == METHODS[label]


@pytest.mark.parametrize("chunk", [1, 3, 4096, 65_537, 1 << 20])
@pytest.mark.parametrize("label", METHODS)
def test_chunked_reads(label: str, chunk: int, archives: dict[str, tuple[bytes, bytes]]) -> None:
    data, payload = archives[label]
    limit = 40_000 if chunk < 16 else len(payload)  # 1-byte reads over the first 40 KB
    with fastzips3.open_archive(fastzips3.MemorySource(data)) as archive, archive.open("big") as f:
        out = bytearray()
        while len(out) < limit:
            piece = f.read(chunk)
            if not piece:
                break
            assert len(piece) <= chunk
            out += piece
        assert bytes(out) == payload[: len(out)]
        assert len(out) >= min(limit, len(payload))


@pytest.mark.parametrize("label", METHODS)
def test_seek_and_early_close(label: str, archives: dict[str, tuple[bytes, bytes]]) -> None:
    data, payload = archives[label]
    with fastzips3.open_archive(fastzips3.MemorySource(data)) as archive:
        f = archive.open("big")
        f.seek(500_000)
        assert f.read(1000) == payload[500_000:501_000]
        f.seek(7)
        assert f.read(5) == payload[7:12]
        f.close()
        assert f.closed
        assert f.threads_alive == 0
        with pytest.raises(ValueError, match="closed"):
            f.read(1)


@pytest.mark.parametrize(
    ("label", "module", "extra"),
    [("zstd", "zstandard", "zstd"), ("deflate64", "inflate64", "deflate64")],
)
def test_missing_codec_names_the_extra(
    label: str,
    module: str,
    extra: str,
    archives: dict[str, tuple[bytes, bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data, _ = archives[label]
    monkeypatch.setitem(sys.modules, module, None)
    if label == "zstd":
        monkeypatch.setitem(sys.modules, "compression", None)
    with fastzips3.open_archive(fastzips3.MemorySource(data)) as archive:
        with pytest.raises(errors.CodecNotInstalledError) as info:
            archive.open("big")
    assert info.value.extra == extra
    assert f"fastzips3[{extra}]" in str(info.value)
    assert isinstance(info.value, errors.UnsupportedMethodError)


def test_corrupt_compressed_data_is_a_decompression_error() -> None:
    payload = _payload(1, 100_000)
    good = build_zip([RawMember("d", payload, 8)])
    pos = len(good) // 2
    bad = good[:pos] + bytes([good[pos] ^ 0xFF]) * 40 + good[pos + 40 :]
    with fastzips3.open_archive(fastzips3.MemorySource(bad)) as archive:
        with pytest.raises((errors.DecompressionError, errors.IntegrityError)):
            archive.read("d")


def test_decode_thread_stops_on_early_close() -> None:
    payload = _payload(2, 12 << 20)
    data = build_zip([RawMember("big", payload, 8)])
    before = {t.ident for t in threading.enumerate()}
    with fastzips3.open_archive(fastzips3.MemorySource(data)) as archive:
        f = archive.open("big")
        assert f.read(100) == payload[:100]
        assert f.threads_alive >= 1  # a large deflate member decodes on its own thread
        f.close()
        assert f.threads_alive == 0
    leftover = [t for t in threading.enumerate() if t.ident not in before]
    assert not [t.name for t in leftover if t.name.startswith("fastzips3")]


def test_lzma_header_declaring_a_4gib_dictionary_does_not_allocate_it(tmp_path: Path) -> None:
    """Found by the fuzzer: liblzma allocated the declared dictionary (MemoryError)."""
    from tests.helpers.rawzip import COMPRESSORS

    payload = b"lzma " * 2000
    compressed = bytearray(COMPRESSORS[14](payload))
    compressed[5:9] = (0xFFFFFFFF).to_bytes(4, "little")  # the dictionary size property
    data = build_zip([RawMember("m", payload, 14, compressed=bytes(compressed))])
    path = tmp_path / "dict.zip"
    path.write_bytes(data)
    code = (
        "import resource, sys, fastzips3;"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30));"
        f"a = fastzips3.open_archive({str(path)!r});"
        "sys.exit(0 if a.read('m') == b'lzma ' * 2000 else 3)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr

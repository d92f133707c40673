"""The random-access block cache and the block size the engine picks for its source."""

from __future__ import annotations

import random

import pytest

from fastzips3._engine.cache import BlockCache
from fastzips3._engine.engine import LOCAL_BLOCK_SIZE, REMOTE_BLOCK_SIZE, Engine, EngineConfig
from fastzips3.sources.memory import MemorySource


class _RemoteMemorySource(MemorySource):
    """Memory standing in for an object behind the network."""

    remote = True


@pytest.mark.parametrize(("start", "size"), [(2048, 1024), (2048 + 100, 500)])
def test_one_block_s_bytes_are_kept_without_a_copy(start: int, size: int) -> None:
    cache = BlockCache(1024, 1 << 20)
    data = random.Random(1).randbytes(size)
    cache.put(start, data)
    assert cache.get(start, start + size) is data


@pytest.mark.parametrize(("start", "data"), [(2048, b"x" * 2048), (2048 + 10, b"y" * 2000)])
def test_blocks_cut_from_larger_data_read_back(start: int, data: bytes) -> None:
    cache = BlockCache(1024, 1 << 20)
    cache.put(start, data)
    got = cache.get(start, start + 1000)
    assert got == data[:1000]
    assert cache.get(start, start + len(data)) == data
    assert cache.nbytes == len(data)


def test_reads_across_blocks_match_the_object() -> None:
    rng = random.Random(3)
    obj = rng.randbytes(50_000)
    cache = BlockCache(4096, 1 << 20)
    for start in range(0, len(obj), 4096):
        cache.put(start, obj[start : start + 4096])
    for _ in range(200):
        a = rng.randrange(len(obj))
        b = rng.randrange(a, len(obj) + 1)
        assert cache.get(a, b) == obj[a:b]


def test_least_recently_used_blocks_go_first() -> None:
    cache = BlockCache(1000, 2000)
    cache.put(0, b"a" * 1000)
    cache.put(1000, b"b" * 1000)
    assert cache.get(0, 10) == b"a" * 10  # block 0 is now the most recent
    cache.put(2000, b"c" * 1000)
    assert cache.get(1000, 1010) is None
    assert cache.get(0, 10) == b"a" * 10
    assert cache.nbytes == 2000


@pytest.mark.parametrize(
    ("source", "expected"),
    [(MemorySource(b"PK"), LOCAL_BLOCK_SIZE), (_RemoteMemorySource(b"PK"), REMOTE_BLOCK_SIZE)],
)
def test_the_engine_picks_the_block_size_by_source(source: MemorySource, expected: int) -> None:
    assert Engine(source).block_size == expected
    assert Engine(source, EngineConfig(block_size=4096)).block_size == 4096


def test_a_block_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="block_size"):
        EngineConfig(block_size=0)

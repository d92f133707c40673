"""Property tests: any bytes parse or raise a fastzips3 error, whole or fed in tiny pieces."""

from __future__ import annotations

import random
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.invariant import check
from tests.helpers.zips import make_zip, seeded_members

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BASES = [make_zip(seeded_members(seed, 4, 3000), comment=b"c" * seed) for seed in range(4)]
BASES.append(make_zip([("z", b"z" * 5000, "deflate")], force_zip64=True))

BOUNDARY = [0, 1, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFE, 0xFFFFFFFF, (1 << 63) - 1, (1 << 64) - 1]


@SETTINGS
@given(st.binary(max_size=2048))
def test_random_bytes(data: bytes) -> None:
    check(data)


@SETTINGS
@given(st.sampled_from(range(len(BASES))), st.data())
def test_mutated_archives(index: int, data: st.DataObject) -> None:
    base = bytearray(BASES[index])
    for _ in range(data.draw(st.integers(1, 6))):
        kind = data.draw(st.sampled_from(["flip", "field", "cut", "insert"]))
        pos = data.draw(st.integers(0, len(base) - 1))
        if kind == "flip":
            base[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "field":
            width = data.draw(st.sampled_from([2, 4, 8]))
            value = data.draw(st.sampled_from(BOUNDARY)) & ((1 << (8 * width)) - 1)
            base[pos : pos + width] = value.to_bytes(width, "little")
        elif kind == "cut":
            del base[pos : pos + data.draw(st.integers(1, 64))]
        else:
            base[pos:pos] = data.draw(st.binary(min_size=1, max_size=32))
        if not base:
            base = bytearray(b"PK")
    check(bytes(base))


@SETTINGS
@given(st.sampled_from(range(len(BASES))), st.data())
def test_fed_in_tiny_pieces_gives_the_same_result(index: int, data: st.DataObject) -> None:
    base = bytearray(BASES[index])
    if data.draw(st.booleans()):
        pos = data.draw(st.integers(0, len(base) - 1))
        base[pos] ^= 0xFF
    whole = check(bytes(base))
    tiny = check(bytes(base), tail_size=data.draw(st.integers(1, 64)), chunk=7)
    assert tiny == whole


def test_lying_entry_counts_and_sizes_request_nothing_outside_the_object() -> None:
    rng = random.Random(5)
    base = BASES[0]
    eocd = base.rfind(b"PK\x05\x06")
    for count in (0xFFFF, 0xFFFE, 1000):
        data = bytearray(base)
        struct.pack_into("<HH", data, eocd + 8, count, count)
        check(bytes(data))
    cd = base.find(b"PK\x01\x02")
    for offset in (16, 20, 24, 42):  # crc, compressed size, size, header offset
        for value in (0xFFFFFFFF, 0x7FFFFFFF, rng.randrange(1 << 32)):
            data = bytearray(base)
            struct.pack_into("<L", data, cd + offset, value)
            check(bytes(data))

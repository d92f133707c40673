"""Streaming large members from S3: parallel GETs that tile the member, cancellation, patterns."""

from __future__ import annotations

import itertools
import random
import re
import threading
import time
import zlib
from typing import TYPE_CHECKING

import fastzips3
from fastzips3.testing.bigzip import random_chunks
from tests.integration.conftest import BIG_KEY, Uploaded

if TYPE_CHECKING:
    from fastzips3.testing import CountingProxy, LocalS3Server

_RANGE = re.compile(r"bytes=(\d+)-(\d+)")


def _get_ranges(proxy: CountingProxy) -> list[tuple[int, int]]:
    out = []
    for record in proxy.records:
        m = _RANGE.fullmatch(record.range_header or "")
        if record.method == "GET" and m is not None:
            out.append((int(m.group(1)), int(m.group(2)) + 1))
    return sorted(out)


def _fastzips3_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("fastzips3")]


def test_full_read_of_a_1gb_member_tiles_it_with_parallel_gets(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, big_archive: Uploaded
) -> None:
    client = s3_server.client(endpoint_url=s3_proxy.url)
    name = "a/first.bin"
    info = big_archive.infos[name]
    with fastzips3.open_archive(f"s3://test/{BIG_KEY}", s3_client=client) as archive:
        end = big_archive.member_end(name, archive.directory.cd_start)
        s3_proxy.reset()
        crc = 0
        total = 0
        peak_threads = 0
        with archive.open(name) as f:
            while chunk := f.read(4 << 20):
                crc = zlib.crc32(chunk, crc)
                total += len(chunk)
                peak_threads = max(peak_threads, f.threads_alive)
        assert total == info.file_size
        assert crc == info.CRC
        assert peak_threads > 1  # the GETs ran in parallel
        ranges = _get_ranges(s3_proxy)
        assert ranges[0][0] == info.header_offset
        assert ranges[-1][1] == end
        assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
        assert s3_proxy.bytes_sent() == end - info.header_offset
    assert not _fastzips3_threads()
    client.close()


def test_early_close_cancels_the_prefetch(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, big_archive: Uploaded
) -> None:
    client = s3_server.client(endpoint_url=s3_proxy.url)
    name = "c/second.bin"
    with fastzips3.open_archive(f"s3://test/{BIG_KEY}", s3_client=client) as archive:
        s3_proxy.reset()
        f = archive.open(name)
        expected = next(random_chunks(64 + 3, 1 << 20))  # the generator's seed for member 3
        first = f.read(1 << 20)
        assert first[8:-8] == expected[8:-8]
        for _ in range(10):
            f.read(1 << 20)
        f.close()
        assert f.threads_alive == 0
        assert not _fastzips3_threads()
        at_close = s3_proxy.bytes_sent()
        time.sleep(0.3)  # what the proxy had in flight when the sockets closed
        sent = s3_proxy.bytes_sent()
        assert sent - at_close < 1 << 20
        time.sleep(0.5)
        assert s3_proxy.bytes_sent() == sent, "a GET kept streaming after close()"
        # the window grows with use: 11 MiB read costs far less than the 128 MiB window
        assert sent <= 64 << 20
    client.close()


def test_random_pattern_does_not_trigger_read_ahead(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, big_archive: Uploaded
) -> None:
    client = s3_server.client(endpoint_url=s3_proxy.url)
    name = "c/second.bin"
    size = big_archive.infos[name].file_size
    rng = random.Random(3)
    with fastzips3.open_archive(f"s3://test/{BIG_KEY}", s3_client=client) as archive:
        with archive.open(name) as f:
            f.seek(1)
            s3_proxy.reset()
            for _ in range(100):
                pos = rng.randrange(0, size - 65536)
                f.seek(pos)
                f.read(4096)
                f.read(4096)  # two small reads in a row are not yet a sequential pattern
        ranges = _get_ranges(s3_proxy)
        assert ranges
        assert max(e - s for s, e in ranges) <= 2 * (256 << 10)  # a read may span two blocks
    client.close()

"""A server that ignores Range (``python -m http.server``) costs one request, never a retry.

The first GET is answered 200 with the whole body; up to ``max_unranged_size`` that body is kept
and the archive is listed and read from memory. Past the limit the open fails at once, with a
message that names the limit and the option.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import fastzips3
from fastzips3 import errors
from tests.helpers.http_server import LocalHTTPServer
from tests.helpers.zips import make_zip, random_bytes, text_bytes

MiB = 1 << 20


@pytest.fixture(scope="module")
def members() -> list[tuple[str, bytes, str]]:
    rng = random.Random(9)
    return [
        ("data/random.bin", random_bytes(rng, 2 * MiB), "stored"),
        ("data/table.csv", text_bytes(rng, 3 * MiB), "deflate"),
        ("readme.txt", b"hello from http.server\n", "deflate"),
        ("data/more.bin", random_bytes(rng, 900_000), "deflate"),
    ]


@pytest.fixture
def server(tmp_path: Path, members: list[tuple[str, bytes, str]]) -> Iterator[LocalHTTPServer]:
    (tmp_path / "small.zip").write_bytes(make_zip(members))
    with LocalHTTPServer(tmp_path) as srv:
        yield srv


def test_the_archive_lists_and_reads_with_one_request(
    server: LocalHTTPServer, tmp_path: Path, members: list[tuple[str, bytes, str]]
) -> None:
    size = (tmp_path / "small.zip").stat().st_size
    assert 2.5 * MiB < size < 4 * MiB  # the 3 MB archive
    url = f"{server.url}/small.zip"
    with fastzips3.open_archive(url, directory_cache=False) as archive:
        assert archive.namelist() == [name for name, _, _ in members]
        for name, data, _ in members:
            assert archive.read(name) == data
        with archive.open("data/random.bin") as f:  # random access too
            f.seek(MiB)
            assert f.read(100) == members[0][1][MiB : MiB + 100]
        assert archive.stats.requests == 1
    assert server.count() == 1
    assert server.requests[0].range is not None  # it was asked for a range, and ignored it


def test_a_reopen_with_a_directory_cache_costs_one_request_too(
    server: LocalHTTPServer, tmp_path: Path, members: list[tuple[str, bytes, str]]
) -> None:
    url = f"{server.url}/small.zip"
    cache = tmp_path / "cache"
    for _ in range(2):
        before = server.count()
        with fastzips3.open_archive(url, directory_cache=str(cache)) as archive:
            assert archive.read("readme.txt") == members[2][1]
        assert server.count() - before == 1


def test_the_cli_lists_and_cats_with_one_request_each(
    server: LocalHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from fastzips3.cli import main

    url = f"{server.url}/small.zip"
    assert main(["ls", url]) == 0
    assert "data/table.csv" in capsys.readouterr().out
    assert server.count() == 1
    assert main(["cat", url, "readme.txt"]) == 0
    assert capsys.readouterr().out == "hello from http.server\n"
    assert server.count() == 2


def test_past_the_limit_it_fails_at_once_naming_the_option(server: LocalHTTPServer) -> None:
    url = f"{server.url}/small.zip"
    start = time.monotonic()
    with pytest.raises(errors.RangeNotSupportedError) as info:
        fastzips3.open_archive(url, directory_cache=False, max_unranged_size=MiB)
    elapsed = time.monotonic() - start
    text = str(info.value)
    assert "max_unranged_size" in text
    assert "--max-unranged-size" in text
    assert "1 MiB" in text
    assert "\n" not in text
    assert not isinstance(info.value, errors.RetriesExhaustedError)
    assert not info.value.retryable
    # the suffix GET, then one explicit range (for servers that refuse only the suffix form)
    assert server.count() <= 2
    assert [r.method for r in server.requests] == ["GET"] * server.count()
    assert elapsed < 5  # no backoff: generous for a loaded 2-core machine


def test_a_limit_of_zero_never_keeps_a_body(server: LocalHTTPServer) -> None:
    with pytest.raises(errors.RangeNotSupportedError, match="max_unranged_size"):
        fastzips3.open_archive(
            f"{server.url}/small.zip", directory_cache=False, max_unranged_size=0
        )
    assert server.count() <= 2


def test_an_archive_smaller_than_the_listing_get_is_one_request(server: LocalHTTPServer) -> None:
    tiny = make_zip([("a.txt", b"tiny", "stored")])
    (server.directory / "tiny.zip").write_bytes(tiny)
    with fastzips3.open_archive(f"{server.url}/tiny.zip", directory_cache=False) as archive:
        assert archive.read("a.txt") == b"tiny"
    assert server.count() == 1


def test_a_missing_file_is_not_found_at_once(server: LocalHTTPServer) -> None:
    start = time.monotonic()
    with pytest.raises(errors.SourceNotFoundError) as info:
        fastzips3.open_archive(f"{server.url}/none.zip", directory_cache=False)
    assert isinstance(info.value, FileNotFoundError)
    assert "HTTP 404" in str(info.value)
    assert server.count() == 1
    assert time.monotonic() - start < 5


def test_the_cli_takes_the_limit_as_an_option(
    server: LocalHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from fastzips3.cli import main

    url = f"{server.url}/small.zip"
    assert main(["ls", url, "--max-unranged-size", "1M"]) == 1
    ours = [line for line in capsys.readouterr().err.splitlines() if line.startswith("fastzips3")]
    assert len(ours) == 1 and "--max-unranged-size" in ours[0]
    assert main(["ls", "--max-unranged-size", "8M", url]) == 0
    assert "readme.txt" in capsys.readouterr().out

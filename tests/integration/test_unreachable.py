"""Unreachable servers fail fast, typed, and in one readable line (loopback only).

A refused connection to a literal address or localhost is not retried (it took 9.8 s to fail
before); every "gave up" message names the cause, the attempts and the URL once, and carries
none of urllib3's internals.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import fastzips3
from fastzips3 import errors
from fastzips3.testing import FaultProxy
from fastzips3.testing.faults import Fault
from tests.helpers.http_server import LocalHTTPServer, closed_port
from tests.helpers.zips import make_zip

FAST = fastzips3.RetryPolicy(attempts=3, backoff=0.001, backoff_max=0.01)
FOREIGN = ("MaxRetryError", "HTTPConnectionPool", "HTTPSConnectionPool", "NewConnectionError")


def _one_line_with_the_url_once(err: BaseException, url: str) -> str:
    text = str(err)
    assert "\n" not in text
    assert text.count(url) == 1, text
    for internal in FOREIGN:
        assert internal not in text
    return text


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalHTTPServer]:
    (tmp_path / "a.zip").write_bytes(make_zip([("x.txt", b"x" * 1000, "deflate")]))
    with LocalHTTPServer(tmp_path) as srv:
        yield srv


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_refused_connection_to_a_literal_address_fails_under_a_second(
    scheme: str, host: str
) -> None:
    url = f"{scheme}://{host}:{closed_port()}/a.zip"
    start = time.monotonic()
    with pytest.raises(errors.SourceConnectionRefusedError) as info:
        fastzips3.open_archive(url, directory_cache=False)
    elapsed = time.monotonic() - start
    assert elapsed < 1.0
    err = info.value
    assert isinstance(err, ConnectionRefusedError)
    assert isinstance(err, ConnectionError)
    assert isinstance(err, errors.SourceError)
    assert not err.retryable
    text = _one_line_with_the_url_once(err, url)
    assert text.startswith("connection refused by ")
    assert isinstance(err.__cause__, Exception)
    assert not isinstance(err.__context__, Exception) or err.__context__ is err.__cause__


def test_the_cli_reports_a_refused_connection_in_one_line_under_a_second(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from fastzips3.cli import main

    url = f"https://127.0.0.1:{closed_port()}/a.zip"
    start = time.monotonic()
    code = main(["ls", url])
    elapsed = time.monotonic() - start
    err = capsys.readouterr().err
    assert code != 0
    assert elapsed < 1.0
    assert err.count("\n") == 1
    assert "connection refused" in err
    assert err.count(url) == 1


def test_a_refused_s3_endpoint_fails_under_a_second() -> None:
    import boto3  # noqa: F401 - imported before the clock starts

    endpoint = f"http://127.0.0.1:{closed_port()}"
    options = {
        "endpoint_url": endpoint,
        "aws_access_key_id": "AKIAFAKEFAKEFAKE0000",
        "aws_secret_access_key": "fake-secret",
        "directory_cache": False,
    }
    # Untimed: the first call builds the botocore client (endpoint rules, models: 1-3 s in a
    # fresh process), which later calls with the same options reuse.
    with pytest.raises(errors.SourceConnectionRefusedError):
        fastzips3.open_archive("s3://bucket/a.zip", **options)  # type: ignore[arg-type]
    start = time.monotonic()
    with pytest.raises(errors.SourceConnectionRefusedError) as info:
        fastzips3.open_archive("s3://bucket/a.zip", **options)  # type: ignore[arg-type]
    assert time.monotonic() - start < 1.0
    text = _one_line_with_the_url_once(info.value, "s3://bucket/a.zip")
    assert "connection refused" in text
    assert "Could not connect" not in text


def test_gave_up_names_the_cause_the_attempts_and_the_url_once(server: LocalHTTPServer) -> None:
    with FaultProxy(server.url, [Fault("reset", after_bytes=-1, times=None)]) as proxy:
        url = f"{proxy.url}/a.zip"
        with pytest.raises(errors.RetriesExhaustedError) as info:
            fastzips3.open_archive(url, directory_cache=False, retries=FAST)
    err = info.value
    text = _one_line_with_the_url_once(err, url)
    assert text.startswith("gave up after 3 attempts: ")
    assert "reset" in text or "closed the connection" in text
    assert len(err.history) == 3
    assert isinstance(err.__cause__, errors.SourceConnectionError)
    assert all(url not in line for line in err.history)


def test_a_timeout_is_retried_and_named(server: LocalHTTPServer) -> None:
    stall = Fault("stall", after_bytes=-1, stall_seconds=5, times=None)
    with FaultProxy(server.url, [stall]) as proxy:
        url = f"{proxy.url}/a.zip"
        policy = fastzips3.RetryPolicy(attempts=2, backoff=0.001)
        with pytest.raises(errors.RetriesExhaustedError) as info:
            fastzips3.open_archive(url, directory_cache=False, retries=policy, read_timeout=0.3)
    text = _one_line_with_the_url_once(info.value, url)
    assert "gave up after 2 attempts: timed out" in text
    assert "read_timeout" in text
    assert isinstance(info.value.__cause__, errors.SourceTimeoutError)


def test_tls_to_a_plain_http_server_fails_at_once(server: LocalHTTPServer) -> None:
    url = f"https://127.0.0.1:{server.port}/a.zip"
    start = time.monotonic()
    with pytest.raises(errors.SourceConnectionError) as info:
        fastzips3.open_archive(url, directory_cache=False)
    assert time.monotonic() - start < 5
    text = _one_line_with_the_url_once(info.value, url)
    assert text.startswith("TLS error with 127.0.0.1:")
    assert not info.value.retryable


def test_a_name_that_does_not_exist_is_a_dns_failure() -> None:
    url = "http://no-such-host-fastzips3.invalid/a.zip"
    with pytest.raises(errors.SourceError) as info:
        fastzips3.open_archive(url, directory_cache=False, retries=FAST)
    # EAI_NONAME is not retried; a resolver that cannot be reached (EAI_AGAIN) is
    text = _one_line_with_the_url_once(info.value, url)
    assert "DNS lookup" in text
    cause = info.value
    if isinstance(cause, errors.RetriesExhaustedError):
        assert isinstance(cause.__cause__, errors.SourceConnectionError)
    else:
        assert isinstance(cause, errors.SourceConnectionError)
        assert "does not exist" in text


def test_a_redirect_loop_is_named_not_dumped() -> None:
    import http.server
    import threading

    class Loop(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    loop = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Loop)
    thread = threading.Thread(target=loop.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        url = f"http://127.0.0.1:{loop.server_port}/a.zip?sig=LOOPSECRET"
        with pytest.raises(errors.SourceError) as info:
            fastzips3.open_archive(url, directory_cache=False)
    finally:
        loop.shutdown()
        loop.server_close()
        thread.join(timeout=5)
    shown = f"http://127.0.0.1:{loop.server_port}/a.zip?sig=***"
    text = _one_line_with_the_url_once(info.value, shown)
    assert "too many redirects" in text
    assert "LOOPSECRET" not in text
    assert not info.value.retryable

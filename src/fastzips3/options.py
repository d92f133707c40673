"""The options every opening function takes, and how they split between the layers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from fastzips3._engine.engine import EngineConfig
from fastzips3._engine.retry import RetryPolicy
from fastzips3.sources.resolve import SourceOptions, source_option_names

__all__ = ["OpenOptions", "ReaderOptions", "split_options"]


class OpenOptions(SourceOptions, total=False):
    """Options of :func:`fastzips3.open_archive`, :class:`fastzips3.RemoteFile` and friends.

    Besides the source options (see :class:`fastzips3.sources.resolve.SourceOptions`; among
    them ``max_unranged_size``, 64 MiB by default: how large an archive may be kept in memory
    when an HTTP server ignores ``Range`` and sends all of it):

    - ``tail_size``: bytes of the listing GET (default 256 KiB);
    - ``block_size``: random-access cache block (default 256 KiB remote, 16 KiB local);
    - ``cache_size``: block cache capacity in bytes (default 64 MiB);
    - ``part_size``, ``max_parallel``: how large exact ranges are split into parallel GETs;
    - ``chunk_size``, ``concurrency``, ``max_ahead``: sequential streaming (8 MiB GETs, 8 in
      flight, at most 64 MiB fetched ahead of the reader; 40 MiB for compressed members);
    - ``retries``: a :class:`fastzips3.RetryPolicy` (default: 6 attempts, backoff from 0.1 s
      capped at 5 s with jitter, 300 s per GET); broken bodies resume from the last good byte;
    - ``max_entries``: refuse archives with more entries (default: no cap beyond what the
      central directory's real size allows);
    - ``verify``: check size and CRC-32 at the end of full reads (default True);
    - ``deflate_backend``: "isal", "zlib-ng" or "zlib" (default: the fastest installed);
    - ``password``: for encrypted members (ZipCrypto, WinZip AES), str or bytes;
    - ``directory_cache``: keep listings of remote archives on disk (default True: in the
      user's cache dir; a path: there; False: never). Reopening an unchanged archive then
      costs one conditional request (304), or none within ``cache_ttl`` seconds (default 0);
    - ``index_while_reading``: a full sequential read of a deflate member also builds its
      checkpoint index (default False: it decodes through zlib, ~1.6x slower than isal here);
    - ``metadata_encoding``: the encoding of member names not flagged UTF-8, as in
      :mod:`zipfile` (e.g. "shift_jis", "gbk"; default: a valid Info-ZIP Unicode Path field,
      else UTF-8 when the name is valid UTF-8, else CP437).
    """

    tail_size: int
    block_size: int
    cache_size: int
    part_size: int
    max_parallel: int
    chunk_size: int
    concurrency: int
    max_ahead: int
    retries: RetryPolicy
    max_entries: int
    verify: bool
    deflate_backend: str
    password: str | bytes
    directory_cache: bool | str
    cache_ttl: float
    index_while_reading: bool
    metadata_encoding: str


@dataclass(frozen=True, slots=True)
class ReaderOptions:
    """The archive-level part of the options: listing, caching, member reading."""

    max_entries: int | None = None
    verify: bool = True
    deflate_backend: str | None = None
    password: str | bytes | None = None
    directory_cache: bool | str = True
    cache_ttl: float = 0.0
    index_while_reading: bool = False
    metadata_encoding: str | None = None


_ENGINE_KEYS = frozenset(
    {
        "tail_size",
        "block_size",
        "cache_size",
        "part_size",
        "max_parallel",
        "chunk_size",
        "concurrency",
        "max_ahead",
        "retries",
    }
)
_READER_KEYS = frozenset(
    {
        "max_entries",
        "verify",
        "deflate_backend",
        "password",
        "directory_cache",
        "cache_ttl",
        "index_while_reading",
        "metadata_encoding",
    }
)


def split_options(options: OpenOptions) -> tuple[SourceOptions, EngineConfig, ReaderOptions]:
    """Split user options into the source's, the engine's and the reader's.

    Unknown keys raise :class:`TypeError` naming them, so a typo never passes silently.
    """
    known = source_option_names() | _ENGINE_KEYS | _READER_KEYS
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"unknown option(s): {', '.join(unknown)}")
    raw: dict[str, Any] = dict(options)
    source = cast(SourceOptions, {k: v for k, v in raw.items() if k in source_option_names()})
    engine = EngineConfig(**{k: v for k, v in raw.items() if k in _ENGINE_KEYS})
    reader = ReaderOptions(**{k: v for k, v in raw.items() if k in _READER_KEYS})
    return source, engine, reader

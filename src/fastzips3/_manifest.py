"""A manifest of many archives: one row per member, listed concurrently with one GET each.

The request plan: expand the glob (S3: one ListObjectsV2 per 1,000 keys, from the pattern's
literal prefix; see :mod:`fastzips3.sources.listing` for the matching rule), then list every
archive as :func:`~fastzips3.open_archive` does, ``workers`` at a time (default 64) on one
shared S3 client whose connection pool holds ``workers`` connections:

- an archive not in the directory cache costs one suffix GET (two when its central directory
  is larger than ``tail_size``, 256 KiB by default);
- an archive in the cache costs one conditional GET (304 when unchanged), or none within
  ``cache_ttl`` seconds.

Rows come in the order of the archives (the glob's order, or the list's), and within an
archive in central directory order. The pool keeps at most ``2 * workers`` archives listed
ahead of the consumer, so :func:`iter_manifest` runs in bounded memory however many archives
there are.

``data_offset`` (where a member's compressed bytes start) is filled when the member's local
header lies in bytes the listing already holds (a small archive's tail is all of it), and is
missing otherwise: finding it would cost a request per member.
"""

from __future__ import annotations

import io
import os
from collections import deque
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, cast

from fastzips3._engine.retry import RetryPolicy, call_with_retries
from fastzips3._format.entry import ZipEntry
from fastzips3._format.plan import Directory, MemberLayout, member_layout
from fastzips3._format.records import LocalFileHeader
from fastzips3.archive import ZipArchive, open_archive
from fastzips3.errors import (
    FastZipS3Error,
    FormatError,
    PathError,
    UnsupportedError,
    redact_url,
)
from fastzips3.options import OpenOptions, split_options
from fastzips3.sources.listing import DEFAULT_MAX_KEYS, expand_glob, is_glob
from fastzips3.sources.resolve import s3_config
from fastzips3.sources.s3 import ListPage, s3_client

if TYPE_CHECKING:
    from concurrent.futures import Future
    from datetime import datetime

    import pandas as pd
    from typing_extensions import Unpack

# concurrent.futures, logging and datetime are imported where they are used: ``import
# fastzips3`` (and every CLI command) would pay about 6 ms for them.

__all__ = [
    "COLUMNS",
    "ManifestFailure",
    "ManifestRow",
    "expand_archives",
    "iter_manifest",
    "manifest",
]

#: The fewest connections the shared S3 client keeps, whatever ``workers`` is.
_MIN_POOL = 32

ErrorMode = Literal["raise", "skip", "record"]


class ManifestRow(NamedTuple):
    """One member of one archive, as :func:`iter_manifest` yields it.

    ``archive`` is the archive's URL or path as given (or as the glob expanded it);
    ``crc`` is the CRC-32 the archive declares; ``method`` the compression method's number
    and ``method_name`` its name ("stored", "deflate", ...); ``header_offset`` the local
    header's offset in the object; ``data_offset`` where the compressed data starts, or None
    when that would cost a request; ``date_time`` the DOS modification time (naive, as the
    archive stores it), or None when it is not a valid date; ``encrypted`` True for ZipCrypto
    and WinZip AES members.
    """

    archive: str
    name: str
    file_size: int
    compress_size: int
    crc: int
    method: int
    method_name: str
    header_offset: int
    data_offset: int | None
    date_time: datetime | None
    is_dir: bool
    encrypted: bool


class ManifestFailure(NamedTuple):
    """An archive that could not be listed (``errors="record"``): its URL and the error.

    ``error`` is the exception; :attr:`message` is one line naming its type and the archive.
    """

    archive: str
    error: FastZipS3Error

    @property
    def message(self) -> str:
        """``"<ErrorType>: <message>"``, the archive's URL (redacted) included."""
        return f"{type(self.error).__name__}: {self.error}"


#: The DataFrame's columns, in order (``errors="record"`` adds ``error``).
COLUMNS: tuple[str, ...] = ManifestRow._fields


def expand_archives(
    urls_or_glob: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    max_keys: int = DEFAULT_MAX_KEYS,
    **options: Unpack[OpenOptions],
) -> list[str]:
    """The archives that ``urls_or_glob`` names, as URLs or paths.

    A string with ``*``, ``?`` or ``[`` (not an HTTP(S) URL) is a pattern: ``s3://``
    patterns are listed with ListObjectsV2 from their literal prefix, local ones walked, other
    schemes listed through fsspec. ``*`` does not cross ``/``; ``**`` does, and ``**/``
    matches zero or more directories (see :mod:`fastzips3.sources.listing`). A pattern that
    matches nothing raises :class:`~fastzips3.errors.SourceNotFoundError`. Any other string
    or path is one archive; a list (any iterable) is taken as it is, without expansion.

    ``options`` are :func:`~fastzips3.open_archive`'s (``endpoint_url``, ``s3_client``,
    ``retries``...); listing requests are retried by the ``retries`` policy.
    """
    if isinstance(urls_or_glob, (str, os.PathLike)):
        text = os.fspath(urls_or_glob)
        if not is_glob(text):
            return [text]
        split_options(options)  # unknown option names raise TypeError before any request
        policy = options.get("retries") or RetryPolicy()

        def retry(call: Any) -> ListPage:
            return cast(ListPage, call_with_retries(policy, call))

        return expand_glob(text, retry=retry, max_keys=max_keys, **_source_options(options))
    return [os.fspath(u) for u in urls_or_glob]


def _source_options(options: OpenOptions) -> Any:
    source, _, _ = split_options(options)
    return source


def _shared_client_options(urls: list[str], options: OpenOptions, workers: int) -> OpenOptions:
    """``options`` with one S3 client for every archive, its pool sized for ``workers``.

    A caller's own ``s3_client`` is used as it is (its ``max_pool_connections`` then bounds
    how many GETs are really in flight).
    """
    if "s3_client" in options or not any(u.startswith("s3://") for u in urls):
        return options
    source, _, _ = split_options(options)
    client = s3_client(s3_config(source, max_pool_connections=max(_MIN_POOL, workers)))
    shared = dict(options)
    shared["s3_client"] = client
    return cast("OpenOptions", shared)


def _check(workers: int, errors: str) -> None:
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers must be a positive int, not {workers!r}")
    if errors not in ("raise", "skip", "record"):
        raise ValueError(f"errors must be 'raise', 'skip' or 'record', not {errors!r}")


def iter_manifest(
    urls_or_glob: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    workers: int = 64,
    errors: ErrorMode = "raise",
    **options: Unpack[OpenOptions],
) -> Iterator[ManifestRow | ManifestFailure]:
    """One :class:`ManifestRow` per member of every archive, listed ``workers`` at a time.

    ``urls_or_glob`` is a pattern, one archive, or a list (see :func:`expand_archives`); an
    empty list yields nothing. Each archive costs what :func:`~fastzips3.open_archive` costs
    to list it: one GET, or one conditional GET when the directory cache has it. S3 archives
    share one client, whose connection pool holds ``workers`` connections. Rows come in the
    archives' order; at most ``2 * workers`` archives are listed ahead of the consumer. Needs
    no pandas.

    When an archive cannot be listed (missing, not an archive, truncated, unreachable):

    - ``errors="raise"`` (default): its error is raised, as the type it is (a
      :class:`~fastzips3.errors.FastZipS3Error`, and the builtin it stands for), with the
      archive's URL in its message; rows of the archives before it have been yielded;
    - ``errors="skip"``: the archive is left out (and logged at warning level on the
      ``fastzips3.manifest`` logger);
    - ``errors="record"``: a :class:`ManifestFailure` is yielded in its place.

    Errors other than fastzips3's (a bad argument, an interrupt) are always raised. ``options``
    are :func:`~fastzips3.open_archive`'s, for every archive.
    """
    _check(workers, errors)
    split_options(options)  # unknown option names raise TypeError before any request
    if isinstance(urls_or_glob, (str, os.PathLike)):
        # One client for the glob's listing and every archive.
        shared = _shared_client_options([os.fspath(urls_or_glob)], options, workers)
        urls = expand_archives(urls_or_glob, **shared)
    else:
        urls = expand_archives(urls_or_glob)
        shared = _shared_client_options(urls, options, workers)
    if not urls:
        return
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(
        max_workers=min(workers, len(urls)), thread_name_prefix="fastzips3-manifest"
    )
    pending: deque[tuple[str, Future[list[ManifestRow]]]] = deque()
    todo = iter(urls)
    try:
        for url in todo:
            pending.append((url, pool.submit(_list_one, url, shared)))
            if len(pending) >= 2 * workers:
                break
        while pending:
            url, future = pending.popleft()
            try:
                rows = future.result()
            except FastZipS3Error as exc:
                failure = _with_archive(exc, url)
                if errors == "raise":
                    raise failure.with_traceback(exc.__traceback__) from exc.__cause__
                rows = []
                if errors == "record":
                    yield ManifestFailure(url, failure)
                else:
                    import logging

                    logging.getLogger("fastzips3.manifest").warning(
                        "manifest: skipped %s: %s", redact_url(url), failure
                    )
            following = next(todo, None)
            if following is not None:
                pending.append((following, pool.submit(_list_one, following, shared)))
            yield from rows
    finally:
        for _, future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def _list_one(url: str, options: OpenOptions) -> list[ManifestRow]:
    """Every member of the archive at ``url`` (one listing, as open_archive makes it)."""
    with open_archive(url, **options) as archive:
        offsets = _DataOffsets(archive)
        return [
            ManifestRow(
                url,
                entry.name,
                entry.file_size,
                entry.compress_size,
                entry.crc,
                entry.compress_type,
                entry.method_name,
                entry.header_offset,
                offsets.get(entry),
                _datetime(entry.date_time),
                entry.is_dir(),
                entry.is_encrypted,
            )
            for entry in archive.directory.entries
        ]


class _DataOffsets:
    """Data offsets from the bytes the listing holds (its block cache); never a request."""

    def __init__(self, archive: ZipArchive) -> None:
        # The archive's engine is private to the package; the manifest only reads its cache.
        self._cache = archive._engine.cache
        self._directory: Directory = archive.directory

    def get(self, entry: ZipEntry) -> int | None:
        start = entry.header_offset
        # Most local headers hold the directory's name and extra: one lookup, not two.
        guess = LocalFileHeader.SIZE + len(entry.name_bytes or entry.name) + len(entry.extra)
        head = self._cache.get(start, start + guess)
        if head is None:
            head = self._cache.get(start, start + LocalFileHeader.SIZE)
        if head is None:
            return None
        try:
            layout = member_layout(entry, self._directory, head)
            if not isinstance(layout, MemberLayout):
                more = self._cache.get(start, start + layout)
                if more is None:
                    return None
                layout = member_layout(entry, self._directory, more)
        except FormatError:
            return None  # a damaged local header: reading the member will say so
        return layout.data_start if isinstance(layout, MemberLayout) else None


def _datetime(fields: tuple[int, int, int, int, int, int]) -> datetime | None:
    from datetime import datetime

    try:
        return datetime(*fields)
    except ValueError:  # a DOS date of month 0, day 0 (some writers), or seconds 60
        return None


def _with_archive(exc: FastZipS3Error, url: str) -> FastZipS3Error:
    """``exc``, of the same type and fields, with the archive's (redacted) URL in its message."""
    import copy

    shown = redact_url(url)
    if shown in str(exc) or isinstance(exc, PathError):
        return exc
    new = copy.copy(exc)  # through __reduce__: same type, every field
    new.args = (f"{exc} [{shown}]",)
    return new


# --- pandas and Parquet ---------------------------------------------------------------------


def _import_pandas() -> Any:
    try:
        import pandas
    except ImportError as exc:
        raise UnsupportedError(
            "fastzips3.manifest() returns a pandas DataFrame, and pandas is not installed: "
            "pip install 'fastzips3[pandas]' (or iterate fastzips3.iter_manifest(), which "
            "needs no pandas)"
        ) from exc
    return pandas


def _check_pyarrow() -> None:
    import importlib

    try:
        importlib.import_module("pyarrow")
    except ImportError as exc:
        raise UnsupportedError(
            "writing the manifest as Parquet needs pyarrow: pip install 'fastzips3[parquet]'"
        ) from exc


def manifest(
    urls_or_glob: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    workers: int = 64,
    errors: ErrorMode = "raise",
    parquet: str | os.PathLike[str] | None = None,
    **options: Unpack[OpenOptions],
) -> pd.DataFrame:
    """A pandas DataFrame with one row per member of every archive ``urls_or_glob`` names.

    Columns: ``archive``, ``name``, ``file_size``, ``compress_size``, ``crc``, ``method``,
    ``method_name``, ``header_offset``, ``data_offset`` (nullable), ``date_time``
    (``datetime64``, NaT when invalid), ``is_dir``, ``encrypted`` (see :class:`ManifestRow`);
    with ``errors="record"`` also ``error`` (None for members; for an archive that failed, one
    row with its ``archive`` and ``error`` and the member columns missing, integers then
    being pandas' nullable ``Int64``).

    The archives are listed by :func:`iter_manifest` (one GET each, ``workers`` in flight,
    the directory cache; see there for ``errors``). ``parquet``: also write the frame to this
    path or ``s3://`` URL (one PUT, with the S3 options given here). Needs pandas
    (``pip install 'fastzips3[pandas]'``), and pyarrow for Parquet (``fastzips3[parquet]``).
    """
    _check(workers, errors)
    pandas = _import_pandas()
    if parquet is not None:
        _check_pyarrow()
    rows = list(iter_manifest(urls_or_glob, workers=workers, errors=errors, **options))
    frame = _frame(pandas, rows, record=errors == "record")
    if parquet is not None:
        _write_parquet(frame, os.fspath(parquet), options)
    return frame


_INT_COLUMNS = ("file_size", "compress_size", "crc", "method", "header_offset")
_BOOL_COLUMNS = ("is_dir", "encrypted")


def _frame(pandas: Any, rows: list[ManifestRow | ManifestFailure], *, record: bool) -> Any:
    """The DataFrame of ``rows``, with the same dtypes whatever the rows (even none)."""
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    errors: list[str | None] = []
    failed = False
    for row in rows:
        if isinstance(row, ManifestFailure):
            failed = True
            columns["archive"].append(row.archive)
            for name in COLUMNS[1:]:
                columns[name].append(None)
            errors.append(row.message)
        else:
            for name, value in zip(COLUMNS, row, strict=True):
                columns[name].append(value)
            errors.append(None)
    nullable = record and failed
    # pandas' own string dtype from pandas 3 on (what read_parquet gives back), else object.
    text: Any = "str" if int(pandas.__version__.split(".")[0]) >= 3 else object
    data: dict[str, Any] = {}
    for name in COLUMNS:
        values = columns[name]
        dtype: Any
        if name in _INT_COLUMNS:
            dtype = "Int64" if nullable else "int64"
        elif name == "data_offset":
            dtype = "Int64"
        elif name in _BOOL_COLUMNS:
            dtype = "boolean" if nullable else "bool"
        elif name == "date_time":
            dtype = "datetime64[ns]"
        else:
            dtype = text
        data[name] = pandas.Series(values, dtype=dtype)
    if record:
        data["error"] = pandas.Series(errors, dtype=text)
    return pandas.DataFrame(data)


def _write_parquet(frame: Any, target: str, options: OpenOptions) -> None:
    from fastzips3.sources.write import write_object

    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    try:
        write_object(target, buf.getvalue(), **_source_options(options))
    except OSError as exc:
        if isinstance(exc, FastZipS3Error):
            raise
        raise PathError.from_os_error(
            exc, f"cannot write the manifest to {target}: {exc.strerror or exc}"
        ) from exc

"""Dask over many archives: members as a bag of records or as a dataframe, and extraction.

Needs ``dask[dataframe]`` (and ``distributed`` for a cluster): ``pip install
'dask[dataframe]' distributed``. Dask is imported inside the functions, so ``import fastzips3``
never imports it.

The request plan, for ``read_members`` / ``read_csv`` / ``read_json`` / ``extract_archives``:

1. **Plan, on the client** (:func:`plan_tasks`): the archives are listed by
   :func:`fastzips3.iter_manifest`: one GET each (a conditional GET, 304, when the directory
   cache has it), ``list_workers`` in flight. The members that ``members_glob`` matches are
   grouped per archive, in archive order, into tasks of at most ``max_task_bytes``
   (uncompressed, 64 MiB by default): a small archive is one task; a big one is cut into
   several. With ``split_large`` (the default of ``read_csv`` and ``read_json``), a deflate
   member larger than ``max_task_bytes`` is cut at its checkpoint index into pieces
   (:func:`fastzips3.member_splits`, which builds the index once if no cached one is found:
   one sequential read of the member on the client).
2. **Run, on the workers**: a task carries the archive's URL, the options and the member
   names, never an open archive. It opens the archive, whose listing the directory cache holds
   (the plan wrote it): no request within ``listing_ttl`` seconds on workers that share the
   client's cache (a ``LocalCluster``, or a ``directory_cache`` path on a shared filesystem);
   one listing GET on other hosts. Then it reads its members with one
   :meth:`ZipArchive.iter_members <fastzips3.ZipArchive.iter_members>` call: adjacent members
   are fetched by one GET (runs of at most ``max_span``, 8 MiB by default, ``read_workers``
   GETs at once), and every member is CRC-checked. A piece of a large member is one ranged GET
   from its checkpoint (:func:`fastzips3.read_split`).

So an archive of small members whose bytes span less than ``max_span`` costs two GETs in all:
the plan's listing and the task's coalesced read. Every GET after the listing is pinned to the
ETag the listing saw (``If-Match``), so an archive replaced between the plan and a task fails
with :class:`~fastzips3.errors.SourceChangedError` rather than giving bytes of two versions.

A member that fails its checks (CRC-32, size, password, damaged data) fails its task, and the
job, with the member's own error type (:class:`~fastzips3.errors.CRCMismatchError`...), its
``.name``, and the archive's URL (credentials redacted) in the message.

Options (``storage_options``) are :func:`fastzips3.open_archive`'s; they travel with every
task, so they must pickle: give credentials or a profile, not an ``s3_client``.
"""

from __future__ import annotations

import fnmatch
import io
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn, TypedDict, cast

from fastzips3._manifest import ManifestRow, _with_archive, iter_manifest
from fastzips3.archive import open_archive
from fastzips3.errors import FastZipS3Error, UnsafePathError, UnsupportedError
from fastzips3.extract import (
    DEFAULT_MAX_ENTRIES,
    DEFAULT_MAX_RATIO,
    DEFAULT_MAX_TOTAL_SIZE,
    Overwrite,
    extract_members,
    member_path_problem,
)
from fastzips3.options import OpenOptions
from fastzips3.splits import MemberSplit, member_splits, read_split

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_LISTING_TTL",
    "DEFAULT_TASK_BYTES",
    "ArchiveExtract",
    "MemberGroup",
    "MemberPiece",
    "MemberRecord",
    "Task",
    "extract_archives",
    "plan_tasks",
    "read_csv",
    "read_json",
    "read_members",
]

#: Default cap on the uncompressed bytes of one task's members (one partition's input).
DEFAULT_TASK_BYTES = 64 << 20
#: Default time (seconds) tasks trust the listing the plan made (the directory cache).
DEFAULT_LISTING_TTL = 3600.0
#: Bytes of a member that meta inference parses (as ``dask.dataframe.read_csv``'s
#: ``sample``).
DEFAULT_SAMPLE = 256 << 10

_DEFLATE = 8


# --- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberGroup:
    """Members of one archive, read by one task with one coalesced ``iter_members`` call.

    ``names`` are in archive order; ``nbytes`` is their uncompressed size in all and
    ``compressed`` their compressed size.
    """

    archive: str
    names: tuple[str, ...]
    nbytes: int
    compressed: int


@dataclass(frozen=True, slots=True)
class MemberPiece:
    """One piece of a large deflate member (a :class:`fastzips3.MemberSplit`), one task."""

    split: MemberSplit

    @property
    def archive(self) -> str:
        """The archive's URL or path."""
        return self.split.archive

    @property
    def nbytes(self) -> int:
        """The piece's uncompressed bytes."""
        return self.split.end - self.split.start


#: One task of a plan: a group of members of one archive, or a piece of one large member.
Task = MemberGroup | MemberPiece


class MemberRecord(TypedDict):
    """One record of :func:`read_members`' bag.

    ``data`` is the member's content (or, for a piece of a large member, the bytes from
    ``offset``); ``size`` is the member's whole uncompressed size.
    """

    archive: str
    name: str
    offset: int
    size: int
    data: bytes


def _task_options(storage_options: Mapping[str, Any] | None, listing_ttl: float) -> OpenOptions:
    """The options tasks open archives with: the caller's, trusting the plan's listing."""
    options = cast("dict[str, Any]", dict(storage_options or {}))
    if listing_ttl < 0:
        raise ValueError("listing_ttl must not be negative")
    if listing_ttl > 0:
        options["cache_ttl"] = max(float(options.get("cache_ttl", 0.0)), listing_ttl)
    return cast("OpenOptions", options)


def plan_tasks(
    archives: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    members_glob: str | None = "*",
    *,
    storage_options: Mapping[str, Any] | None = None,
    max_task_bytes: int = DEFAULT_TASK_BYTES,
    split_large: bool = False,
    include_dirs: bool = False,
    list_workers: int = 64,
    listing_ttl: float = DEFAULT_LISTING_TTL,
) -> list[Task]:
    """The tasks that read the members ``members_glob`` matches in ``archives``.

    ``archives`` is a glob (``s3://b/exports/*.zip``), one archive, or a list, as for
    :func:`fastzips3.manifest`, which lists them (one GET each, ``list_workers`` in flight).
    ``members_glob`` is matched against member names with :func:`fnmatch.fnmatchcase` (``*``
    crosses ``/``, as :meth:`fastzips3.ZipArchive.select`); None matches every member.
    Directory entries are left out unless ``include_dirs``.

    Each archive's members, in archive order, are grouped into :class:`MemberGroup` tasks of
    at most ``max_task_bytes`` uncompressed bytes (a member larger than that is a task of its
    own). With ``split_large``, a deflate member larger than ``max_task_bytes`` is instead cut
    into :class:`MemberPiece` tasks of about ``max_task_bytes`` each by
    :func:`fastzips3.member_splits`. Archives with no matching member give no task.
    """
    return _plan(
        archives,
        members_glob,
        storage_options=storage_options,
        max_task_bytes=max_task_bytes,
        split_large=split_large,
        include_dirs=include_dirs,
        list_workers=list_workers,
        listing_ttl=listing_ttl,
    ).tasks


class _Plan(NamedTuple):
    tasks: list[Task]
    #: A matching member whose bytes the listing already holds (its local header lies in the
    #: listing's tail, and the tail runs to the end of the object): reading it costs no request
    #: while the directory cache has the listing. None when there is none.
    held: MemberGroup | None


def _plan(
    archives: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    members_glob: str | None,
    *,
    storage_options: Mapping[str, Any] | None,
    max_task_bytes: int,
    split_large: bool,
    include_dirs: bool,
    list_workers: int,
    listing_ttl: float,
) -> _Plan:
    """:func:`plan_tasks`, and a member readable from the cached listing (for meta)."""
    if max_task_bytes < 1:
        raise ValueError("max_task_bytes must be positive")
    options = cast("OpenOptions", dict(storage_options or {}))
    task_options = _task_options(options, listing_ttl)
    by_archive: dict[str, list[ManifestRow]] = {}
    held: MemberGroup | None = None
    for row in iter_manifest(archives, workers=list_workers, **options):
        assert isinstance(row, ManifestRow)  # errors="raise": no failures are yielded
        rows = by_archive.setdefault(row.archive, [])
        if row.is_dir and not include_dirs:
            continue
        if members_glob is None or fnmatch.fnmatchcase(row.name, members_glob):
            rows.append(row)
            if held is None and row.data_offset is not None and not row.is_dir:
                held = MemberGroup(row.archive, (row.name,), row.file_size, row.compress_size)
    # The listings go to the directory cache on background threads; tasks read them there.
    from fastzips3._engine.diskcache import wait_for_writes

    wait_for_writes()
    tasks: list[Task] = []
    for archive, rows in by_archive.items():
        tasks.extend(_archive_tasks(archive, rows, max_task_bytes, split_large, task_options))
    return _Plan(tasks, held)


def _archive_tasks(
    archive: str,
    rows: list[ManifestRow],
    max_task_bytes: int,
    split_large: bool,
    options: OpenOptions,
) -> list[Task]:
    """One archive's tasks: its members in archive order, grouped under ``max_task_bytes``."""
    tasks: list[Task] = []
    names: list[str] = []
    seen: set[str] = set()
    nbytes = compressed = 0

    def close() -> None:
        nonlocal names, nbytes, compressed
        if names:
            tasks.append(MemberGroup(archive, tuple(names), nbytes, compressed))
        names, nbytes, compressed = [], 0, 0

    for row in sorted(rows, key=lambda r: r.header_offset):
        if row.name in seen:
            continue  # a duplicate name: reading by name gives the last one, once
        seen.add(row.name)
        if split_large and row.method == _DEFLATE and row.file_size > max_task_bytes:
            close()
            n = -(-row.file_size // max_task_bytes)
            splits = member_splits(archive, row.name, n, **options)
            tasks.extend(MemberPiece(s) for s in splits)
            continue
        if names and nbytes + row.file_size > max_task_bytes:
            close()
        names.append(row.name)
        nbytes += row.file_size
        compressed += row.compress_size
    close()
    return tasks


# --- running a task ---------------------------------------------------------------------------


def _raise_with_archive(exc: FastZipS3Error, archive: str) -> NoReturn:
    """Raise ``exc`` again (same type and fields) with the archive's URL in its message."""
    named = _with_archive(exc, archive)
    raise named.with_traceback(exc.__traceback__) from exc.__cause__


def _read_options(max_gap: int | None, max_span: int | None, workers: int) -> dict[str, Any]:
    read: dict[str, Any] = {"workers": workers}
    if max_gap is not None:
        read["max_gap"] = max_gap
    if max_span is not None:
        read["max_span"] = max_span
    return read


def iter_task(
    task: Task,
    options: OpenOptions,
    *,
    delimiter: bytes | None = None,
    read_options: dict[str, Any] | None = None,
) -> Iterator[MemberRecord]:
    """The records of one task, as a worker reads them (see the module's request plan).

    A group opens its archive and reads its members with one
    :meth:`~fastzips3.ZipArchive.iter_members` call (``read_options``: its ``max_gap``,
    ``max_span``, ``workers``); a piece is read by :func:`fastzips3.read_split` (with
    ``delimiter``, the records that start in it). Errors name the archive.
    """
    try:
        if isinstance(task, MemberPiece):
            split = task.split
            data = read_split(split, delimiter=delimiter, **options)
            yield MemberRecord(
                archive=split.archive,
                name=split.member,
                offset=split.start,
                size=split.size,
                data=data,
            )
            return
        with open_archive(task.archive, **options) as archive:
            for entry, content in archive.iter_members(task.names, **(read_options or {})):
                yield MemberRecord(
                    archive=task.archive,
                    name=entry.name,
                    offset=0,
                    size=entry.file_size,
                    data=content,
                )
    except FastZipS3Error as exc:
        _raise_with_archive(exc, task.archive)


def _records(
    partition: Sequence[Task],
    *,
    options: OpenOptions,
    delimiter: bytes | None,
    read_options: dict[str, Any],
) -> list[MemberRecord]:
    out: list[MemberRecord] = []
    for task in partition:
        out.extend(iter_task(task, options, delimiter=delimiter, read_options=read_options))
    return out


def _import_dask(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise UnsupportedError(
            f"fastzips3.dask needs {module}: pip install 'dask[dataframe]' (and distributed "
            f"for a cluster) ({exc})"
        ) from exc


# --- the bag ----------------------------------------------------------------------------------


def read_members(
    archives: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    members_glob: str | None = "*",
    *,
    storage_options: Mapping[str, Any] | None = None,
    max_task_bytes: int = DEFAULT_TASK_BYTES,
    split_large: bool = False,
    delimiter: bytes | None = None,
    list_workers: int = 64,
    listing_ttl: float = DEFAULT_LISTING_TTL,
    max_gap: int | None = None,
    max_span: int | None = None,
    read_workers: int = 8,
) -> Any:
    """A ``dask.bag`` of :class:`MemberRecord` dicts: every member ``members_glob`` matches.

    One partition per task of :func:`plan_tasks` (which lists the archives now, on the
    client): the small members of one archive make one partition, read by one coalesced
    ``iter_members`` call. Records come in archive order within a partition. With
    ``split_large``, deflate members over ``max_task_bytes`` come as several records (pieces,
    each with its ``offset``); with ``delimiter`` too, each piece holds the whole records that
    start in it (``b"\\n"`` for lines). ``max_gap``, ``max_span`` and ``read_workers`` tune
    ``iter_members`` (None: its defaults). Empty when nothing matches.
    """
    tasks = plan_tasks(
        archives,
        members_glob,
        storage_options=storage_options,
        max_task_bytes=max_task_bytes,
        split_large=split_large,
        list_workers=list_workers,
        listing_ttl=listing_ttl,
    )
    db = _import_dask("dask.bag")
    if not tasks:
        return db.from_sequence([], npartitions=1)
    bag = db.from_sequence(tasks, npartitions=len(tasks))
    return bag.map_partitions(
        _records,
        options=_task_options(storage_options, listing_ttl),
        delimiter=delimiter,
        read_options=_read_options(max_gap, max_span, read_workers),
    )


# --- dataframes -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Parser:
    """How one task's records become one pandas DataFrame (picklable: it travels with tasks)."""

    kind: str  # "csv" | "json"
    kwargs: dict[str, Any]
    path_column: str | None

    def frame(self, record: MemberRecord, columns: list[Any] | None) -> pd.DataFrame | None:
        """``record``'s rows, or None when it holds none (an empty member or piece)."""
        import pandas as pd

        data = record["data"]
        if not data.strip():
            return None
        kwargs = dict(self.kwargs)
        if self.kind == "csv":
            if record["offset"] > 0 and columns is not None:
                # a piece after the first of a split member: no header line in it
                kwargs["header"] = None
                kwargs["names"] = columns
            df = pd.read_csv(io.BytesIO(data), **kwargs)
        else:
            df = pd.read_json(io.BytesIO(data), **kwargs)
        if self.path_column is not None:
            df[self.path_column] = f"{record['archive']}!/{record['name']}"
        return cast("pd.DataFrame", df)


def _frame_partition(
    task: Task,
    *,
    parser: _Parser,
    empty: pd.DataFrame,
    options: OpenOptions,
    read_options: dict[str, Any],
) -> pd.DataFrame:
    """One partition: the frames of one task's members, concatenated (``empty``, the meta,
    if none)."""
    import pandas as pd

    columns = [c for c in empty.columns if c != parser.path_column]
    delimiter = b"\n" if parser.kind == "csv" or parser.kwargs.get("lines") else None
    frames = []
    for record in iter_task(task, options, delimiter=delimiter, read_options=read_options):
        try:
            frame = parser.frame(record, columns)
        except (ValueError, TypeError) as exc:
            # pandas' parse errors (ParserError, UnicodeDecodeError...) are ValueErrors
            _raise_naming_member(exc, record)
        if frame is not None:
            frames.append(frame)
    if not frames:
        return empty.copy()
    if len(frames) == 1:
        return frames[0]
    return cast("pd.DataFrame", pd.concat(frames, ignore_index=True))


def _raise_naming_member(exc: Exception, record: MemberRecord) -> NoReturn:
    """Raise ``exc`` again, of its type when it can be made from a message (pandas'
    ``ParserError``), else as a ValueError, naming the member and the archive."""
    message = f"{exc} [member {record['name']!r} of {_shown(record['archive'])}]"
    try:
        named = type(exc)(message)
    except Exception:  # a type that needs more than a message (UnicodeDecodeError)
        named = ValueError(message)
    raise named from exc


def _shown(url: str) -> str:
    from fastzips3.errors import redact_url

    return redact_url(url)


def _infer_meta(task: Task, parser: _Parser, options: OpenOptions, sample: int) -> pd.DataFrame:
    """An empty frame with the columns and dtypes of the first ``sample`` bytes of the first
    member of ``task`` (cut at its last line end). Costs no request when the member lies in
    the listing the directory cache holds, one GET (or a few, for a piece) otherwise."""
    try:
        if isinstance(task, MemberPiece):
            data = read_split(task.split, delimiter=b"\n", **options)[:sample]
            name, size = task.split.member, task.split.size
        else:
            name = task.names[0]
            with open_archive(task.archive, **options) as archive:
                entry = archive.getinfo(name)
                size = entry.file_size
                with archive.open(entry) as f:
                    data = f.read(sample + 1)
    except FastZipS3Error as exc:
        _raise_with_archive(exc, task.archive)
    lines = parser.kind == "csv" or bool(parser.kwargs.get("lines"))
    if len(data) > sample:
        if not lines:
            raise ValueError(
                f"cannot infer meta from member {name!r} of {_shown(task.archive)}: it is "
                f"larger than sample={sample} bytes and not lines: give meta= (or a larger "
                "sample=)"
            )
        data = data[: data.rfind(b"\n", 0, sample) + 1]
    record = MemberRecord(archive=task.archive, name=name, offset=0, size=size, data=data)
    frame = parser.frame(record, None)
    if frame is None:
        raise ValueError(
            f"cannot infer meta: member {name!r} of {_shown(task.archive)} is empty; give meta="
        )
    return frame.iloc[:0]


def _read_frames(
    kind: str,
    archives: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    members_glob: str | None,
    *,
    storage_options: Mapping[str, Any] | None,
    meta: pd.DataFrame | None,
    include_path_column: bool | str,
    max_task_bytes: int,
    split_large: bool,
    sample: int,
    list_workers: int,
    listing_ttl: float,
    read_workers: int,
    pandas_kwargs: dict[str, Any],
) -> Any:
    dd = _import_dask("dask.dataframe")
    path_column = (
        None
        if include_path_column is False
        else "path"
        if include_path_column is True
        else str(include_path_column)
    )
    parser = _Parser(kind, dict(pandas_kwargs), path_column)
    if kind == "json" and not pandas_kwargs.get("lines"):
        split_large = False  # only lines can be cut between records
    tasks, held = _plan(
        archives,
        members_glob,
        storage_options=storage_options,
        max_task_bytes=max_task_bytes,
        split_large=split_large,
        include_dirs=False,
        list_workers=list_workers,
        listing_ttl=listing_ttl,
    )
    options = _task_options(storage_options, listing_ttl)
    if meta is None:
        if not tasks:
            raise ValueError("no member matched, so there is no meta to infer: give meta=")
        # Sampled from a member the cached listing holds when there is one (no request).
        meta = _infer_meta(held or tasks[0], parser, options, sample)
    if not tasks:
        return dd.from_pandas(meta, npartitions=1)
    return dd.from_map(
        _frame_partition,
        tasks,
        meta=meta,
        label=f"fastzips3-read-{kind}",
        enforce_metadata=False,
        parser=parser,
        empty=meta,
        options=options,
        read_options=_read_options(None, None, read_workers),
    )


def read_csv(
    archives: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    members_glob: str | None = "*.csv",
    *,
    storage_options: Mapping[str, Any] | None = None,
    meta: pd.DataFrame | None = None,
    include_path_column: bool | str = False,
    max_task_bytes: int = DEFAULT_TASK_BYTES,
    split_large: bool = True,
    sample: int = DEFAULT_SAMPLE,
    list_workers: int = 64,
    listing_ttl: float = DEFAULT_LISTING_TTL,
    read_workers: int = 8,
    **pandas_kwargs: Any,
) -> Any:
    """A ``dask.dataframe`` of the CSV members ``members_glob`` matches in ``archives``.

    Each partition is one task of :func:`plan_tasks`: the members of one task, each parsed by
    :func:`pandas.read_csv` with ``pandas_kwargs``, concatenated (a fresh ``RangeIndex`` per
    partition, as ``dask.dataframe.read_csv``). Deflate members larger than ``max_task_bytes``
    are cut at their checkpoint index into pieces of whole lines (``split_large``); pieces
    after the first are parsed with ``header=None`` and ``names`` = the meta's columns, so a
    split member must have one header line (or ``header=None`` and ``names``) and no line
    breaks inside quoted fields.

    ``meta``: the empty frame of the result's columns and dtypes; by default inferred from the
    first ``sample`` bytes of one member: the first matching member whose bytes the listing
    already holds (the listing's tail; no request), else the first member (one GET). As with
    dask's own readers, a dtype guessed from the
    sample may differ in another member: give ``dtype=`` to be sure. ``include_path_column``:
    add a column (``"path"``, or the name given) with ``"<archive>!/<member>"``. Empty members
    give no rows; an empty match needs ``meta``.
    """
    return _read_frames(
        "csv",
        archives,
        members_glob,
        storage_options=storage_options,
        meta=meta,
        include_path_column=include_path_column,
        max_task_bytes=max_task_bytes,
        split_large=split_large,
        sample=sample,
        list_workers=list_workers,
        listing_ttl=listing_ttl,
        read_workers=read_workers,
        pandas_kwargs=pandas_kwargs,
    )


def read_json(
    archives: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    members_glob: str | None = "*.json",
    *,
    storage_options: Mapping[str, Any] | None = None,
    meta: pd.DataFrame | None = None,
    include_path_column: bool | str = False,
    lines: bool = True,
    max_task_bytes: int = DEFAULT_TASK_BYTES,
    split_large: bool = True,
    sample: int = DEFAULT_SAMPLE,
    list_workers: int = 64,
    listing_ttl: float = DEFAULT_LISTING_TTL,
    read_workers: int = 8,
    **pandas_kwargs: Any,
) -> Any:
    """A ``dask.dataframe`` of the JSON members ``members_glob`` matches in ``archives``.

    As :func:`read_csv`, with :func:`pandas.read_json` (``lines=True`` by default: one record
    per line, JSON Lines). Only JSON Lines members are split (``split_large``); with
    ``lines=False`` each member is one document (``orient`` and the rest in
    ``pandas_kwargs``), read whole, and meta inference reads its member whole (up to
    ``sample`` bytes; give ``meta=`` for larger ones).
    """
    return _read_frames(
        "json",
        archives,
        members_glob,
        storage_options=storage_options,
        meta=meta,
        include_path_column=include_path_column,
        max_task_bytes=max_task_bytes,
        split_large=split_large,
        sample=sample,
        list_workers=list_workers,
        listing_ttl=listing_ttl,
        read_workers=read_workers,
        pandas_kwargs={"lines": lines, **pandas_kwargs},
    )


# --- extraction -------------------------------------------------------------------------------


class ArchiveExtract(NamedTuple):
    """What one extraction task did: its archive, the directory it wrote below, and
    :class:`fastzips3.ExtractReport`'s fields (paths relative to nothing: as written)."""

    archive: str
    dest: str
    extracted: list[str]
    skipped: list[str]
    bytes_written: int


def _subdirs(urls: list[str]) -> dict[str, str]:
    """Each archive's directory below the destination: its path after the archives' common
    directory, without a ``.zip`` suffix (``s3://b/x/2024/a.zip`` -> ``2024/a``)."""
    if not urls:
        return {}
    # by characters, then cut at a '/': commonpath would fold the '//' of 's3://'
    common = os.path.commonprefix(urls)  # noqa: RUF071
    common = common[: common.rfind("/") + 1]
    out: dict[str, str] = {}
    owner: dict[str, str] = {}
    for url in urls:
        rel = url[len(common) :]
        if rel.lower().endswith(".zip") and len(rel) > 4:
            rel = rel[:-4]
        problem = member_path_problem(rel)
        if problem is not None or not rel:
            raise UnsafePathError(
                f"archive {_shown(url)} cannot name a directory below the destination "
                f"({rel!r}: {problem or 'empty'}); pass subdirs=False",
                name=rel,
                reason=problem or "empty",
            )
        key = rel.lower()
        if key in owner and owner[key] != url:
            raise UnsafePathError(
                f"archives {_shown(owner[key])} and {_shown(url)} would both extract to "
                f"{rel!r}; pass subdirs=False or extract them separately",
                name=rel,
                reason="collision",
            )
        owner[key] = url
        out[url] = rel
    return out


def _extract_task(
    task: Task,
    *,
    dest: str,
    options: OpenOptions,
    extract_options: dict[str, Any],
) -> list[ArchiveExtract]:
    """Extract one group's members below ``dest`` (one coalesced extraction)."""
    assert isinstance(task, MemberGroup)  # extraction never splits members
    if dest.startswith("s3://"):
        return [_extract_task_to_s3(task, dest, options, extract_options)]
    try:
        with open_archive(task.archive, **options) as archive:
            report = extract_members(archive, dest, task.names, **extract_options)
    except FastZipS3Error as exc:
        _raise_with_archive(exc, task.archive)
    return [
        ArchiveExtract(task.archive, dest, report.extracted, report.skipped, report.bytes_written)
    ]


#: The options of :func:`extract_members` that :func:`fastzips3.extract_to_s3` takes too.
_S3_EXTRACT_OPTIONS = ("overwrite", "junk_paths", "max_total_size", "max_entries", "workers")


def _extract_task_to_s3(
    task: MemberGroup, dest: str, options: OpenOptions, extract_options: dict[str, Any]
) -> ArchiveExtract:
    """One group's members to objects under ``dest`` with :func:`fastzips3.extract_to_s3`
    (small members coalesced and PUT, large stored ones copied server-side)."""
    from fastzips3.s3extract import extract_to_s3

    chosen = {k: v for k, v in extract_options.items() if k in _S3_EXTRACT_OPTIONS}
    try:
        with open_archive(task.archive, **options) as archive:
            report = extract_to_s3(archive, dest, task.names, **chosen, **options)
            skipped = set(report.skipped)
            written = sum(
                archive.getinfo(name).file_size for name in task.names if name not in skipped
            )
    except FastZipS3Error as exc:
        _raise_with_archive(exc, task.archive)
    return ArchiveExtract(task.archive, dest, list(report.written), list(skipped), written)


def extract_archives(
    archives: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    dest: str | os.PathLike[str],
    members_glob: str | None = None,
    *,
    storage_options: Mapping[str, Any] | None = None,
    subdirs: bool = True,
    overwrite: Overwrite = "error",
    allow_symlinks: bool = False,
    junk_paths: bool = False,
    max_total_size: int | None = DEFAULT_MAX_TOTAL_SIZE,
    max_entries: int | None = DEFAULT_MAX_ENTRIES,
    max_ratio: float | None = DEFAULT_MAX_RATIO,
    max_task_bytes: int = DEFAULT_TASK_BYTES,
    list_workers: int = 64,
    listing_ttl: float = DEFAULT_LISTING_TTL,
    extract_workers: int = 4,
    compute: bool = True,
) -> Any:
    """Extract the members ``members_glob`` matches (None: all, directories too) of every
    archive in ``archives`` below ``dest`` (a local directory, or an ``s3://bucket/prefix/``),
    with Dask.

    With ``subdirs`` (the default) each archive goes below its own directory: its path after
    the archives' common directory, without ``.zip`` (``s3://b/exports/2024/a.zip`` ->
    ``dest/2024/a/``); two archives that would share one raise
    :class:`~fastzips3.errors.UnsafePathError` before any task runs. With ``subdirs=False``
    every archive is extracted into ``dest`` itself (a name in two archives then collides:
    ``overwrite`` decides, and which archive wins is not defined).

    The tasks are :func:`plan_tasks`' groups (small archives one task each, big ones cut at
    ``max_task_bytes``; members are never split). Each task is one
    :func:`fastzips3.extract_members` call (coalesced GETs, ``extract_workers`` threads, every
    safety check and limit, all or nothing for that task; the limits apply per task).
    ``dest`` must be a path every worker can write (a local directory of a ``LocalCluster``,
    or a shared filesystem). An ``s3://`` destination makes each task one
    :func:`fastzips3.extract_to_s3` call instead (small members read coalesced and PUT, large
    stored ones copied server-side; directory entries and symbolic links make no object;
    ``allow_symlinks`` and ``max_ratio`` do not apply; ``storage_options`` serve the
    destination too).

    Returns a list of :class:`ArchiveExtract` (one per task, in plan order), or with
    ``compute=False`` the ``dask.bag`` of them, not yet run.
    """
    target = os.fspath(dest)
    if not target.startswith("s3://"):
        target = os.path.abspath(target)  # workers may run in another directory
    tasks = plan_tasks(
        archives,
        members_glob,
        storage_options=storage_options,
        max_task_bytes=max_task_bytes,
        include_dirs=True,
        list_workers=list_workers,
        listing_ttl=listing_ttl,
    )
    below = _subdirs(sorted({t.archive for t in tasks})) if subdirs else {}
    extract_options: dict[str, Any] = {
        "overwrite": overwrite,
        "allow_symlinks": allow_symlinks,
        "junk_paths": junk_paths,
        "max_total_size": max_total_size,
        "max_entries": max_entries,
        "max_ratio": max_ratio,
        "workers": extract_workers,
    }
    options = _task_options(storage_options, listing_ttl)
    db = _import_dask("dask.bag")
    bags = []
    for task in tasks:
        where = target
        if task.archive in below:
            sub = below[task.archive]
            where = (
                f"{target.rstrip('/')}/{sub}"
                if target.startswith("s3://")
                else (os.path.join(target, *sub.split("/")))
            )
        bags.append((task, where))
    if not bags:
        result = db.from_sequence([], npartitions=1)
    else:
        result = db.from_sequence(bags, npartitions=len(bags)).map_partitions(
            _extract_partition, options=options, extract_options=extract_options
        )
    if not compute:
        return result
    return list(result.compute())


def _extract_partition(
    partition: Sequence[tuple[Task, str]],
    *,
    options: OpenOptions,
    extract_options: dict[str, Any],
) -> list[ArchiveExtract]:
    out: list[ArchiveExtract] = []
    for task, where in partition:
        out.extend(
            _extract_task(task, dest=where, options=options, extract_options=extract_options)
        )
    return out

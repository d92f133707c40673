"""fastzips3: read ZIP archives in object storage without downloading them.

The public API is re-exported here; everything else is private. ``open_archive`` lists an
archive with one range request; ``RemoteFile`` gives ``zipfile`` a seekable file over S3, HTTP,
local files or any fsspec filesystem; ``ZipFile`` is ``zipfile.ZipFile``'s read side on
fastzips3's reader (swap the import, keep the code).
"""

from typing import TYPE_CHECKING, Any

from fastzips3 import errors as errors
from fastzips3._accel import CoreInfo as CoreInfo
from fastzips3._accel import core_info as core_info
from fastzips3._engine.engine import EngineConfig as EngineConfig
from fastzips3._engine.retry import RetryPolicy as RetryPolicy
from fastzips3._engine.stats import Stats as Stats
from fastzips3._format.entry import ZipEntry as ZipEntry
from fastzips3._zipfile import ZipFile as ZipFile
from fastzips3._zipfile import ZipInfo as ZipInfo
from fastzips3.archive import ZipArchive as ZipArchive
from fastzips3.archive import open_archive as open_archive
from fastzips3.compat import RemoteFile as RemoteFile
from fastzips3.member import MemberReader as MemberReader
from fastzips3.options import OpenOptions as OpenOptions
from fastzips3.sources.base import ObjectVersion as ObjectVersion
from fastzips3.sources.base import Source as Source
from fastzips3.sources.memory import MemorySource as MemorySource

if TYPE_CHECKING:
    from fastzips3._manifest import ManifestFailure as ManifestFailure
    from fastzips3._manifest import ManifestRow as ManifestRow
    from fastzips3._manifest import expand_archives as expand_archives
    from fastzips3._manifest import iter_manifest as iter_manifest
    from fastzips3._manifest import manifest as manifest
    from fastzips3.extract import ExtractReport as ExtractReport
    from fastzips3.extract import extract_members as extract_members
    from fastzips3.paths import PathInfo as PathInfo
    from fastzips3.paths import clear_archive_cache as clear_archive_cache
    from fastzips3.paths import listdir as listdir
    from fastzips3.paths import open as open
    from fastzips3.paths import split_archive_path as split_archive_path
    from fastzips3.paths import stat as stat
    from fastzips3.s3extract import S3ExtractReport as S3ExtractReport
    from fastzips3.s3extract import extract_to_s3 as extract_to_s3
    from fastzips3.splits import MemberSplit as MemberSplit
    from fastzips3.splits import member_splits as member_splits
    from fastzips3.splits import read_split as read_split
    from fastzips3.writer.zipwriter import WriteResult as WriteResult
    from fastzips3.writer.zipwriter import ZipWriter as ZipWriter
    from fastzips3.writer.zipwriter import append as append

#: Public names whose modules load on first use: extraction, paths into archives, splits,
#: the manifest and the write side (thread pools, the multipart sink, the compressor), which
#: listing and reading never need; ``import fastzips3`` stays within its start-up budget.
_LAZY = {
    "ExtractReport": "fastzips3.extract",
    "extract_members": "fastzips3.extract",
    "PathInfo": "fastzips3.paths",
    "clear_archive_cache": "fastzips3.paths",
    "listdir": "fastzips3.paths",
    "open": "fastzips3.paths",
    "split_archive_path": "fastzips3.paths",
    "stat": "fastzips3.paths",
    "MemberSplit": "fastzips3.splits",
    "member_splits": "fastzips3.splits",
    "read_split": "fastzips3.splits",
    "ManifestFailure": "fastzips3._manifest",
    "ManifestRow": "fastzips3._manifest",
    "expand_archives": "fastzips3._manifest",
    "iter_manifest": "fastzips3._manifest",
    "manifest": "fastzips3._manifest",
    "S3ExtractReport": "fastzips3.s3extract",
    "extract_to_s3": "fastzips3.s3extract",
    "WriteResult": "fastzips3.writer.zipwriter",
    "ZipWriter": "fastzips3.writer.zipwriter",
    "append": "fastzips3.writer.zipwriter",
}


def __getattr__(name: str) -> Any:
    """Load a lazily exported name (see ``_LAZY``) on first use."""
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'fastzips3' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"

__all__ = [
    "CoreInfo",
    "EngineConfig",
    "ExtractReport",
    "ManifestFailure",
    "ManifestRow",
    "MemberReader",
    "MemberSplit",
    "MemorySource",
    "ObjectVersion",
    "OpenOptions",
    "PathInfo",
    "RemoteFile",
    "RetryPolicy",
    "S3ExtractReport",
    "Source",
    "Stats",
    "WriteResult",
    "ZipArchive",
    "ZipEntry",
    "ZipFile",
    "ZipInfo",
    "ZipWriter",
    "__version__",
    "append",
    "clear_archive_cache",
    "core_info",
    "errors",
    "expand_archives",
    "extract_members",
    "extract_to_s3",
    "iter_manifest",
    "listdir",
    "manifest",
    "member_splits",
    "open",
    "open_archive",
    "read_split",
    "split_archive_path",
    "stat",
]

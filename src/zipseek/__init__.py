"""zipseek: read ZIP archives in object storage without downloading them.

The public API is re-exported here; everything else is private. ``open_archive`` lists an
archive with one range request; ``RemoteFile`` gives ``zipfile`` a seekable file over S3, HTTP,
local files or any fsspec filesystem.
"""

from zipseek import errors as errors
from zipseek._engine.engine import EngineConfig as EngineConfig
from zipseek._engine.retry import RetryPolicy as RetryPolicy
from zipseek._engine.stats import Stats as Stats
from zipseek._format.entry import ZipEntry as ZipEntry
from zipseek.archive import ZipArchive as ZipArchive
from zipseek.archive import open_archive as open_archive
from zipseek.compat import RemoteFile as RemoteFile
from zipseek.extract import ExtractReport as ExtractReport
from zipseek.extract import extract_members as extract_members
from zipseek.member import MemberReader as MemberReader
from zipseek.options import OpenOptions as OpenOptions
from zipseek.paths import PathInfo as PathInfo
from zipseek.paths import clear_archive_cache as clear_archive_cache
from zipseek.paths import listdir as listdir
from zipseek.paths import open as open
from zipseek.paths import split_archive_path as split_archive_path
from zipseek.paths import stat as stat
from zipseek.sources.base import ObjectVersion as ObjectVersion
from zipseek.sources.base import Source as Source
from zipseek.sources.memory import MemorySource as MemorySource
from zipseek.splits import MemberSplit as MemberSplit
from zipseek.splits import member_splits as member_splits
from zipseek.splits import read_split as read_split

__version__ = "0.1.0"

__all__ = [
    "EngineConfig",
    "ExtractReport",
    "MemberReader",
    "MemberSplit",
    "MemorySource",
    "ObjectVersion",
    "OpenOptions",
    "PathInfo",
    "RemoteFile",
    "RetryPolicy",
    "Source",
    "Stats",
    "ZipArchive",
    "ZipEntry",
    "__version__",
    "clear_archive_cache",
    "errors",
    "extract_members",
    "listdir",
    "member_splits",
    "open",
    "open_archive",
    "read_split",
    "split_archive_path",
    "stat",
]

"""fastzips3.ZipFile: the read side of :class:`zipfile.ZipFile`, on fastzips3's reader.

Swapping ``zipfile.ZipFile`` for ``fastzips3.ZipFile`` is the only change code written for
``zipfile`` needs: the same names, arguments, return types and exceptions, but the listing is
fastzips3's (one request for a remote archive, the compiled core when it is built) and members
decode through fastzips3's codecs (ISA-L inflate, CRC checked).

Where it differs from ``zipfile``, on purpose:

- only ``mode="r"``: ``"w"``, ``"x"`` and ``"a"`` raise :class:`~fastzips3.errors.UnsupportedError`;
- names without the UTF-8 flag are decoded as fastzips3 does (the Info-ZIP Unicode path field,
  then UTF-8 when the bytes are valid UTF-8, then cp437); ``metadata_encoding=`` decodes them
  exactly as ``zipfile`` does;
- :meth:`ZipFile.extract` and :meth:`ZipFile.extractall` use :func:`fastzips3.extract_members`:
  unsafe paths, symbolic links, duplicate names and bombs are refused
  (:class:`~fastzips3.errors.UnsafePathError`, :class:`~fastzips3.errors.LimitExceededError`)
  rather than rewritten or followed, and a failed extraction leaves no file or directory
  behind;
- member files opened before :meth:`close` stay readable, as in ``zipfile``; the archive's
  source is released when the last of them is garbage collected (not when it is closed).

:class:`ZipInfo` objects are built in one pass over the listed entries. Five fields that need the
raw central directory (``create_version``, ``extract_version``, ``reserved``, ``volume``,
``internal_attr``, and the private ``_raw_time``) are filled for every entry at once the first
time one of them is read, from the central directory bytes (no request when the listing's
GET held the whole directory, as it does up to about 4,000 entries; else one ranged read of
it): a listing of 100,000 entries does not pay for fields almost nobody reads. Read them before
:meth:`close` (after it they raise :class:`ValueError`). ``open``, ``write``, ``writestr`` and
``mkdir`` in a writing mode raise zipfile's read-mode :class:`ValueError`.
"""

from __future__ import annotations

import functools
import gc
import os
import struct
import sys
import weakref
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, NoReturn

from fastzips3._accel import CORE
from fastzips3._format.entry import ZipEntry
from fastzips3.archive import ZipArchive
from fastzips3.errors import (
    CentralDirectoryError,
    FormatError,
    MemberNotFoundError,
    PasswordError,
    UnsupportedError,
    UnsupportedMethodError,
    redact_url,
)
from fastzips3.member import MemberReader
from fastzips3.sources.base import BaseSource
from fastzips3.sources.fileobj import FileObjectSource

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from fastzips3._engine.stats import Stats
    from fastzips3.options import OpenOptions

__all__ = ["ZipFile", "ZipInfo"]

#: The ZipInfo fields filled from the raw central directory on first use.
_RAW_FIELDS = frozenset(
    {"create_version", "extract_version", "reserved", "volume", "internal_attr", "_raw_time"}
)
#: A central directory header's fixed part (APPNOTE 4.3.12), as zipfile reads it.
_CD_HEADER = struct.Struct("<4s4B4HL2L5H2L")
_CD_SIGNATURE = b"PK\x01\x02"
#: The slots of :data:`_RAW_FIELDS`, in the order :meth:`_RawFields.fill` reads them.
_RAW_SLOTS: tuple[Any, ...] = tuple(
    zipfile.ZipInfo.__dict__[name]
    for name in (
        "create_version", "extract_version", "reserved", "volume", "internal_attr", "_raw_time"
    )
)  # fmt: skip
#: zipfile turns ``os.sep`` into "/" in names (where it is not "/" already).
_ALT_SEP = os.sep if os.sep != "/" else None
_FLAG_ENCRYPTED = 0x1
_FLAG_UTF8 = 0x800
_READ_COMPRESSIONS = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)


class ZipInfo(zipfile.ZipInfo):
    """A :class:`zipfile.ZipInfo` listed by :class:`ZipFile`: the same fields and methods.

    ``create_version``, ``extract_version``, ``reserved``, ``volume`` and ``internal_attr``
    are read from the central directory the first time any entry's is asked for.
    """

    __slots__ = ("_fz_index", "_fz_raw")
    _fz_index: int
    _fz_raw: _RawFields | None
    _raw_time: int

    def __getattr__(self, name: str) -> Any:
        # Called only when normal lookup fails: here, a raw field not filled yet.
        if name in _RAW_FIELDS:
            try:
                raw: _RawFields | None = object.__getattribute__(self, "_fz_raw")
            except AttributeError:
                raw = None
            if raw is not None:
                raw.fill()
                return object.__getattribute__(self, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __getstate__(self) -> tuple[None, dict[str, Any]]:
        """zipfile's fields only (copies and pickles do not keep the archive alive)."""
        state: dict[str, Any] = {}
        for name in zipfile.ZipInfo.__slots__:
            with suppress(AttributeError):
                state[name] = getattr(self, name)
        return None, state


class _RawFields:
    """Fills the raw-directory fields of every ZipInfo of one listing, once.

    Every ZipInfo refers to it, so it refers to its ZipFile (and through it, to the infos)
    only weakly: a strong reference would make each listing one reference cycle of 100,000
    objects, freed only by a slow full garbage collection.
    """

    def __init__(self, owner: ZipFile) -> None:
        self.owner = weakref.ref(owner)
        self.done = False

    def fill(self) -> None:
        if self.done:
            return
        owner = self.owner()
        if owner is None or owner._infos is None or owner._archive.closed:
            raise ValueError(
                "this ZipInfo's raw directory fields (create_version, extract_version, "
                "reserved, volume, internal_attr) are read on first use, and its "
                "fastzips3.ZipFile is closed: read one of them before closing it"
            )
        archive = owner._archive
        infos = owner._infos
        directory = archive.directory
        start, end = directory.cd_start, directory.cd_end
        data = archive.read_raw_range(start, end, lo=start, hi=end)
        unpack = _CD_HEADER.unpack_from
        referents = gc.get_referents
        untouched = _untouched_referents()
        pos = 0
        for info in infos:
            if pos + _CD_HEADER.size > len(data):
                raise CentralDirectoryError(
                    "the central directory is shorter than its listing", offset=start + pos
                )
            (sig, create_version, _, extract_version, reserved, _, _, raw_time, _, _, _, _,
             nlen, elen, clen, volume, internal_attr, _, _) = unpack(data, pos)  # fmt: skip
            if sig != _CD_SIGNATURE:
                raise CentralDirectoryError(
                    "the central directory changed since it was listed", offset=start + pos
                )
            values = (create_version, extract_version, reserved, volume, internal_attr, raw_time)
            if len(referents(info)) == untouched:
                (info.create_version, info.extract_version, info.reserved, info.volume,
                 info.internal_attr, info._raw_time) = values  # fmt: skip
            else:  # the caller assigned some of them already: keep what they set
                for slot, value in zip(_RAW_SLOTS, values, strict=True):
                    try:
                        slot.__get__(info, ZipInfo)
                    except AttributeError:
                        slot.__set__(info, value)
            pos += _CD_HEADER.size + nlen + elen + clen
        self.done = True


@functools.cache
def _untouched_referents() -> int:
    """How many objects a freshly listed ZipInfo refers to (its set slots, and its type)."""
    entry = ZipEntry("n", 0, 0, 0, 0, (1980, 1, 1, 0, 0, 0), b"", 0, 0, b"", None, 0, 0)
    infos: list[ZipInfo] = []
    _fill_infos([entry], None, None, infos.append)
    return len(gc.get_referents(infos[0]))


def _build_infos(
    entries: Sequence[ZipEntry], raw: _RawFields, metadata_encoding: str | None
) -> list[ZipInfo]:
    """One ZipInfo per entry, as zipfile's ``_RealGetContents`` would fill it."""
    if CORE is not None:
        # The same loop in the compiled core: slots written where their descriptors say.
        infos: list[ZipInfo] = CORE.build_zipinfos(
            entries, ZipInfo, raw, metadata_encoding, _ALT_SEP
        )
    else:
        infos = []
        # ZipInfo objects are tracked by the garbage collector, which would otherwise scan
        # the growing list again and again (it halves the time for 100,000 entries); nothing
        # here forms a cycle.
        paused = gc.isenabled()
        if paused:
            gc.disable()
        try:
            _fill_infos(entries, raw, metadata_encoding, infos.append)
        finally:
            if paused:
                gc.enable()
    return infos


def _fill_infos(
    entries: Sequence[ZipEntry],
    raw: _RawFields | None,
    metadata_encoding: str | None,
    append: Callable[[ZipInfo], None],
) -> None:
    new = object.__new__
    cls = ZipInfo
    alt_sep = _ALT_SEP
    for position, (name, file_size, compress_size, compress_type, crc, date_time, comment,
         header_offset, flag_bits, extra, name_bytes, external_attr,
         create_system) in enumerate(entries):  # fmt: skip
        if metadata_encoding is not None and not flag_bits & _FLAG_UTF8:
            raw_name = name_bytes if name_bytes is not None else name.encode("ascii")
            name = raw_name.decode(metadata_encoding)
        info: ZipInfo = new(cls)
        info.orig_filename = name
        if "\x00" in name:  # zipfile cuts names at the first NUL (a trick of old viruses)
            name = name[: name.index("\x00")]
        if alt_sep is not None and alt_sep in name:
            name = name.replace(alt_sep, "/")
        info.filename = name
        info.date_time = date_time
        info.compress_type = compress_type
        info._compresslevel = None  # type: ignore[attr-defined]  # zipfile's private slot
        info.comment = comment
        info.extra = extra
        info.create_system = create_system
        info.flag_bits = flag_bits
        info.external_attr = external_attr
        info.header_offset = header_offset
        info.CRC = crc
        info.compress_size = compress_size
        info.file_size = file_size
        info._fz_index = position
        info._fz_raw = raw
        append(info)


class _Archive(ZipArchive):
    """The archive under a ZipFile: members opened without a password use the ZipFile's."""

    default_password: bytes | None = None

    def _member_password(self, password: str | bytes | None) -> bytes | None:
        """The password given, else :attr:`default_password`, else the archive's."""
        return super()._member_password(self.default_password if password is None else password)


def _check_pwd(pwd: object) -> None:
    if pwd and not isinstance(pwd, bytes):
        raise TypeError(f"pwd: expected bytes, got {type(pwd).__name__}")


class ZipFile:
    """Read a ZIP archive as :class:`zipfile.ZipFile` does, from wherever it lives.

    ``file`` is a local path (``str`` or :class:`os.PathLike`), an ``s3://``, ``http(s)://``,
    ``file://`` or fsspec URL, a readable, seekable binary file object (left open by
    :meth:`close`, as ``zipfile`` does), or a fastzips3 source such as
    :class:`fastzips3.MemorySource`. ``mode`` must be ``"r"``. ``compression``, ``allowZip64``,
    ``compresslevel`` and ``strict_timestamps`` are accepted for compatibility and only matter
    when writing. ``pwd`` (bytes) is the default password, as :meth:`setpassword`. Other
    keyword arguments are :class:`fastzips3.OpenOptions`: ``metadata_encoding`` (names without
    the UTF-8 flag decode with it, as in ``zipfile``), ``endpoint_url``, ``s3_client``,
    ``tail_size``...

    A missing member raises :class:`KeyError` (:class:`~fastzips3.errors.MemberNotFoundError`),
    a damaged archive :class:`zipfile.BadZipFile` (:class:`~fastzips3.errors.FormatError`), an
    encrypted member without a password :class:`RuntimeError`
    (:class:`~fastzips3.errors.PasswordError`).
    """

    def __init__(
        self,
        file: str | os.PathLike[str] | IO[bytes] | BaseSource,
        mode: str = "r",
        compression: int = zipfile.ZIP_STORED,
        allowZip64: bool = True,  # noqa: N803 - zipfile's name
        compresslevel: int | None = None,
        *,
        strict_timestamps: bool = True,
        pwd: bytes | None = None,
        **options: Unpack[OpenOptions],
    ) -> None:
        self._closed = True  # until the archive is open: close() and __repr__ work on failure
        if mode not in ("r", "w", "x", "a"):
            raise ValueError("ZipFile requires mode 'r', 'w', 'x', or 'a'")
        if mode != "r":
            raise UnsupportedError(
                f"fastzips3.ZipFile only reads archives (mode 'r'), not mode {mode!r}; "
                "write with zipfile.ZipFile for now"
            )
        if compression not in _READ_COMPRESSIONS:
            raise UnsupportedMethodError(
                "That compression method is not supported", method=compression
            )
        # An option of the archive too (OpenOptions): its listing decodes names with it.
        metadata_encoding = options.get("metadata_encoding")
        if metadata_encoding is not None:
            "".encode(metadata_encoding)  # an unknown codec raises LookupError now, as in zipfile
        _check_pwd(pwd)
        self.mode = "r"
        self.debug = 0
        self.compression = compression
        self.compresslevel = compresslevel
        self.metadata_encoding = metadata_encoding
        self.pwd: bytes | None = None
        self.filename: str | None
        if isinstance(file, (str, os.PathLike)):
            self.filename = redact_url(os.fspath(file))
            self._archive = _Archive(file, **options)
        elif isinstance(file, BaseSource):
            self.filename = file.url
            self._archive = _Archive(file, **options)
        else:
            name = getattr(file, "name", None)
            self.filename = name if isinstance(name, str) else None
            self._archive = _Archive(FileObjectSource(file), **options)
        self._closed = False
        self._entries = self._archive.directory.entries
        self._infos: list[ZipInfo] | None = None
        self._by_name: dict[str, ZipInfo] | None = None
        self._raw: _RawFields | None = None
        self._members: weakref.WeakSet[MemberReader] = weakref.WeakSet()
        self.start_dir = self._archive.directory.cd_start
        self.setpassword(pwd)

    # --- listing -----------------------------------------------------------------------------

    def infolist(self) -> list[ZipInfo]:
        """A :class:`ZipInfo` for every member, in central directory order (duplicates too)."""
        infos = self._infos
        if infos is None:
            self._raw = _RawFields(self)
            infos = self._infos = _build_infos(self._entries, self._raw, self.metadata_encoding)
        return infos

    @property
    def filelist(self) -> list[ZipInfo]:
        """The same list as :meth:`infolist` (zipfile's attribute)."""
        return self.infolist()

    @property
    def NameToInfo(self) -> dict[str, ZipInfo]:  # noqa: N802 - zipfile's name
        """Every member by name; of duplicate names, the last one wins, as in zipfile."""
        by_name = self._by_name
        if by_name is None:
            by_name = {info.filename: info for info in self.infolist()}
            self._by_name = by_name
        return by_name

    def namelist(self) -> list[str]:
        """Every member's name, in central directory order."""
        return [info.filename for info in self.infolist()]

    def getinfo(self, name: str) -> ZipInfo:
        """The :class:`ZipInfo` of member ``name``; :class:`KeyError` if there is none."""
        info = self.NameToInfo.get(name)
        if info is None:
            raise MemberNotFoundError(f"There is no item named {name!r} in the archive", name=name)
        return info

    def printdir(self, file: IO[str] | None = None) -> None:
        """Print a table of contents (name, modification time, size) to ``file`` or stdout."""
        out = sys.stdout if file is None else file
        print(f"{'File Name':<46} {'Modified    ':>19} {'Size':>12}", file=out)
        for info in self.infolist():
            y, mo, d, h, mi, s = info.date_time[:6]
            date = f"{y}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}"
            print(f"{info.filename:<46} {date} {info.file_size:12d}", file=out)

    @property
    def comment(self) -> bytes:
        """The archive comment."""
        return self._archive.comment

    @comment.setter
    def comment(self, value: bytes) -> None:
        if not isinstance(value, bytes):
            raise TypeError(f"comment: expected bytes, got {type(value).__name__}")
        raise UnsupportedError("fastzips3.ZipFile only reads archives: the comment is read-only")

    # --- fastzips3 extras --------------------------------------------------------------------

    @property
    def archive(self) -> ZipArchive:
        """The native :class:`fastzips3.ZipArchive` underneath (index, parallel reads, spans)."""
        return self._archive

    @property
    def stats(self) -> Stats:
        """Requests and bytes this archive has cost so far."""
        return self._archive.stats

    # --- reading -----------------------------------------------------------------------------

    def setpassword(self, pwd: bytes | None) -> None:
        """Set the default password (bytes) for encrypted members."""
        _check_pwd(pwd)
        self.pwd = pwd or None
        self._archive.default_password = self.pwd

    def _entry(self, info: zipfile.ZipInfo) -> ZipEntry:
        """The listed entry ``info`` describes (an info of this ZipFile, or one from zipfile)."""
        if isinstance(info, ZipInfo):
            raw = getattr(info, "_fz_raw", None)
            if raw is not None and raw.owner() is self:
                entry: ZipEntry = self._entries[info._fz_index]
                return entry
        same = self.NameToInfo.get(info.filename)
        if same is not None and same.header_offset == info.header_offset:
            return self._entry(same)
        for entry in self._entries:
            if entry.header_offset == info.header_offset:
                return entry
        raise MemberNotFoundError(
            f"There is no item named {info.filename!r} in the archive", name=info.filename
        )

    def _member(
        self, name: str | zipfile.ZipInfo, pwd: bytes | None
    ) -> tuple[ZipEntry, bytes | None]:
        self._check_open()
        info = name if isinstance(name, zipfile.ZipInfo) else self.getinfo(name)
        entry = self._entry(info)
        password = pwd or self.pwd
        if entry.flag_bits & _FLAG_ENCRYPTED and not password:
            raise PasswordError(
                f"File {info.filename!r} is encrypted, password required for extraction",
                name=info.filename,
                missing=True,
            )
        return entry, password

    def open(
        self,
        name: str | zipfile.ZipInfo,
        mode: str = "r",
        pwd: bytes | None = None,
        *,
        force_zip64: bool = False,
    ) -> MemberReader:
        """A readable, seekable binary file over member ``name`` (a name or a ZipInfo).

        The content's size and CRC-32 are checked when the end is read, as in zipfile
        (a mismatch raises :class:`zipfile.BadZipFile`). ``mode="w"`` raises
        :class:`ValueError`, as zipfile does for an archive opened in mode "r".
        """
        if mode not in ("r", "w"):
            raise ValueError('open() requires mode "r" or "w"')
        if pwd and mode == "w":
            raise ValueError("pwd is only supported for reading files")
        if mode == "w":
            self._refuse_write()
        entry, password = self._member(name, pwd)
        member = self._archive.open(entry, password=password)
        self._members.add(member)
        return member

    def _refuse_write(self) -> NoReturn:
        self._check_open()
        raise ValueError(
            "write() requires mode 'w', 'x', or 'a' (fastzips3.ZipFile only reads archives; "
            "write with zipfile.ZipFile for now)"
        )

    def write(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Raise :class:`ValueError`, as zipfile does in mode "r" (the only mode here)."""
        self._refuse_write()

    def writestr(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Raise :class:`ValueError`, as zipfile does in mode "r" (the only mode here)."""
        self._refuse_write()

    def mkdir(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Raise :class:`ValueError`, as zipfile does in mode "r" (the only mode here)."""
        self._refuse_write()

    def read(self, name: str | zipfile.ZipInfo, pwd: bytes | None = None) -> bytes:
        """The whole content of member ``name``, its size and CRC-32 checked."""
        entry, password = self._member(name, pwd)
        return self._archive.read(entry, password=password)

    def testzip(self) -> str | None:
        """Read every member and check its CRC-32; the first bad member's name, or None.

        Members that lie close together are checked from one GET (as
        :meth:`ZipArchive.test_members`). An encrypted member without a password raises, as in
        ``zipfile``.
        """
        self._check_open()
        infos = self.infolist()
        entries = [self._entry(info) for info in infos]
        names = {id(entry): info.filename for entry, info in zip(entries, infos, strict=True)}
        with self._password(None):
            checked = self._archive.test_members(entries)
            try:
                for entry, problem in checked:
                    if isinstance(problem, FormatError):  # zipfile.BadZipFile: a bad member
                        return names[id(entry)]
                    if problem is not None:
                        raise problem
            finally:
                checked.close()
        return None

    # --- extraction --------------------------------------------------------------------------

    @contextmanager
    def _password(self, pwd: bytes | None) -> Iterator[None]:
        saved = self._archive.default_password
        self._archive.default_password = pwd or self.pwd
        try:
            yield
        finally:
            self._archive.default_password = saved

    def _extract(
        self, members: Iterable[str | zipfile.ZipInfo], path: str | os.PathLike[str] | None
    ) -> list[str]:
        entries = [self._member(m, self._archive.default_password)[0] for m in members]
        dest = os.getcwd() if path is None else os.fspath(path)
        from fastzips3.extract import extract_members  # deferred: import fastzips3 stays lean

        report = extract_members(self._archive, dest, entries, overwrite="always")
        return report.extracted

    def extract(
        self,
        member: str | zipfile.ZipInfo,
        path: str | os.PathLike[str] | None = None,
        pwd: bytes | None = None,
    ) -> str:
        """Extract ``member`` below ``path`` (default: the current directory); its path.

        Existing files are replaced, as in zipfile. Unsafe names (``..``, absolute paths),
        symbolic links and bombs are refused (:func:`fastzips3.extract_members`).
        """
        with self._password(pwd):
            extracted = self._extract([member], path)
        if extracted:
            return os.path.normpath(extracted[0])
        info = member if isinstance(member, zipfile.ZipInfo) else self.getinfo(member)
        dest = os.getcwd() if path is None else os.fspath(path)
        return os.path.normpath(os.path.join(dest, *info.filename.split("/")))

    def extractall(
        self,
        path: str | os.PathLike[str] | None = None,
        members: Iterable[str | zipfile.ZipInfo] | None = None,
        pwd: bytes | None = None,
    ) -> None:
        """Extract ``members`` (default: all) below ``path`` (default: the current directory).

        Every member is checked before anything is written; duplicate names, unsafe paths,
        symbolic links and bombs are refused (:func:`fastzips3.extract_members`).

        Unlike zipfile, a failed extraction (a wrong password, a CRC error, an interruption)
        leaves nothing behind: files are renamed into place only once all of them were
        verified, and the directories the call created are removed again.
        """
        with self._password(pwd):
            self._extract(self.infolist() if members is None else members, path)

    # --- lifecycle ---------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("Attempt to use ZIP archive that was already closed")

    def close(self) -> None:
        """Close the archive (a file object given to the constructor stays open)."""
        if self._closed:
            return
        self._closed = True
        live = [m for m in self._members if not m.closed]
        if not live:
            self._archive.close()
            return
        # As in zipfile, member files opened before close() stay readable: the archive closes
        # once the last of them is gone (garbage collected, or at exit).
        remaining = [len(live)]
        archive = self._archive

        def gone() -> None:
            remaining[0] -= 1
            if remaining[0] == 0:
                archive.close()

        for member in live:
            weakref.finalize(member, gone)

    def __enter__(self) -> ZipFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._closed:
            return "<fastzips3.ZipFile [closed]>"
        return f"<fastzips3.ZipFile filename={self.filename!r} mode={self.mode!r}>"

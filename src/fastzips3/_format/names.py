"""Entry names: decoding (APPNOTE 4.4.4 bit 11, Info-ZIP 0x7075, appendix D) and path safety."""

from __future__ import annotations

import codecs
import contextlib
import functools
import re

from fastzips3._format.extra import unicode_path

__all__ = ["FLAG_UTF8", "ascii_compatible", "check_encoding", "decode_name", "unsafe_reason"]

FLAG_UTF8 = 0x800
_ASCII = bytes(range(128))

_WINDOWS_RESERVED = re.compile(r"(?i)^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$")
_DRIVE = re.compile(r"^[A-Za-z]:")


def check_encoding(encoding: str | None) -> str | None:
    """The canonical name of a ``metadata_encoding`` (as :func:`codecs.lookup` spells it).

    Raises :class:`LookupError` when Python knows no such text encoding, so a typo fails when
    the archive is opened rather than silently decoding names some other way.
    """
    if encoding is None:
        return None
    name = codecs.lookup(encoding).name
    with contextlib.suppress(UnicodeError):
        b"\0\0\0\0".decode(name)  # a LookupError for codecs that are not text encodings (rot13)
    return name


@functools.lru_cache(maxsize=16)
def ascii_compatible(encoding: str | None) -> bool:
    """True when ``encoding`` decodes every ASCII byte to the same character (UTF-8, CP437,
    Shift-JIS and GBK as Python has them; not UTF-16 or EBCDIC), so ASCII names need no codec."""
    if encoding is None:
        return True
    try:
        return _ASCII.decode(encoding) == _ASCII.decode("ascii")
    except UnicodeError:
        return False


def decode_name(raw: bytes, flags: int, *, extra: bytes = b"", encoding: str | None = None) -> str:
    """Decode a raw entry name, as the tools that wrote it meant it. The first rule that applies:

    1. flag bit 11 set: UTF-8 (APPNOTE 4.4.4);
    2. a valid Info-ZIP Unicode Path field (0x7075) in ``extra``: its name (CRC-checked);
    3. ``encoding`` given (``metadata_encoding``, e.g. "shift_jis"): that encoding;
    4. valid UTF-8 with non-ASCII bytes: UTF-8 (macOS Archive Utility and Info-ZIP's zip on
       Linux write UTF-8 without setting the flag);
    5. CP437 (APPNOTE appendix D), which decodes any bytes.

    A rule whose bytes do not decode (a name flagged UTF-8 that is not, a name that is not valid
    in ``encoding``) falls through to the next, so every name decodes.
    """
    utf8_flag = flags & FLAG_UTF8
    if utf8_flag:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if extra:
        name = unicode_path(extra, raw)
        if name is not None:
            return name
    if raw.isascii() and ascii_compatible(encoding):
        return raw.decode("ascii")  # the common case, the same text in all these encodings
    if encoding is not None and not utf8_flag:
        try:
            return raw.decode(encoding)
        except UnicodeError:
            pass
    if not utf8_flag:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return raw.decode("cp437")


def unsafe_reason(name: str) -> str | None:
    """Why ``name`` may not be written below an extraction directory, or None if it may.

    Both ``/`` and ``\\`` count as separators, so a name that is safe here is safe on Windows too.
    """
    if not name or "\x00" in name:
        return "empty name or NUL byte"
    parts = re.split(r"[\\/]", name)
    if name.startswith(("/", "\\")):
        return "absolute path"
    if _DRIVE.match(name):
        return "drive letter"
    for part in parts:
        if part == "..":
            return "parent directory reference (..)"
        if _WINDOWS_RESERVED.match(part.rstrip(" .")):
            return f"Windows reserved name {part!r}"
    return None

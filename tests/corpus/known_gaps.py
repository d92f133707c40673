"""Corpus archives whose expected outcome fastzips3 does not meet *yet*, on purpose.

Only one kind of gap is allowed here: a member that fastzips3 cannot read because it is encrypted
or uses a compression method it does not support. For an archive listed in
:data:`KNOWN_UNSUPPORTED`, a read of such a member must raise
:class:`~fastzips3.errors.EncryptedEntryError` /
:class:`~fastzips3.errors.PasswordError` (encrypted)
or :class:`~fastzips3.errors.UnsupportedMethodError` (method not in :data:`SUPPORTED_METHODS`) —
cleanly, and nothing else may go wrong in the archive.

The list is checked both ways: an unlisted archive that hits one of those errors fails, and so
does a listed archive that no longer hits any (remove it from here when support lands).

The second list, :data:`DIVERGENCES`, holds the few archives where the origin's expectation
does not apply to a random-access reader, or where the corpus note itself says either outcome
is defensible. Each names the outcome fastzips3 must produce instead, and the test asserts it, so
these are pinned behaviours, not skips. Nothing else may be added here: a real failure stays a
failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = ["DIVERGENCES", "KNOWN_UNSUPPORTED", "SUPPORTED_METHODS", "Divergence"]

#: Compression methods fastzips3 reads: stored, deflate, Deflate64 (extra ``deflate64``), bzip2,
#: LZMA, zstd (20 and 93, extra ``zstd``) and xz. A method outside this set (PPMd 98, the legacy
#: methods 1-6, ...) is a known gap. A method inside it whose extra is not installed raises
#: CodecNotInstalledError: the test then skips (fails under FASTZIPS3_REQUIRE_ALL=1).
SUPPORTED_METHODS: Final[frozenset[int]] = frozenset({0, 8, 9, 12, 14, 20, 93, 95})

_PPMD = "PPMd (method 98) is not supported yet"
_ZIPCRYPTO = (
    "ZipCrypto-encrypted: the corpus suite reads without a password, so PasswordError "
    "(tests/unit/test_encrypted_members.py reads it with its password)"
)
_LEGACY = (
    "legacy method {} is not supported (not planned either); the corpus note says an "
    "unsupported-method error is acceptable"
)

#: Archive path (relative to the corpus ``files/``) -> why fastzips3 cannot read some member yet.
KNOWN_UNSUPPORTED: Final[Mapping[str, str]] = {
    # --- outcome ok -------------------------------------------------------------------------
    "libarchive/test_read_format_zip_ppmd8.zipx": _PPMD,
    "libarchive/test_read_format_zip_ppmd8_multi.zipx": _PPMD,
    "zip2/ppmd.zip": _PPMD,
    "zip2/legacy/implode.zip": _LEGACY.format("Implode (6)"),
    "zip2/legacy/reduce.zip": _LEGACY.format("Reduce (2-5)"),
    "zip2/legacy/shrink.zip": _LEGACY.format("Shrink (1)"),
    # --- outcome ok_implied -----------------------------------------------------------------
    "libzip/empty-pkware.zip": _ZIPCRYPTO,
    # --- outcome member_error: the expected failure is behind the unsupported feature --------
    # libzip decrypts with password 1234 and then fails inflating; fastzips3 cannot decrypt.
    "libzip/encrypt-1234.zip": _ZIPCRYPTO,
}


@dataclass(frozen=True)
class Divergence:
    """What fastzips3 does instead of the origin's expectation, and why that is right for it.

    ``outcome`` is "not_a_zip" (open raises EOCDNotFoundError) or "reads_ok" (opens, and every
    member reads with its declared size and CRC-32).
    """

    outcome: str
    reason: str


_STREAMING_ONLY = (
    "the file has local headers but no central directory or end record; the origin is a "
    "streaming reader that meets the bad member before the missing directory. A random-access "
    "reader must call it not a ZIP archive (as the corpus README says of extra_padding.zip)"
)

DIVERGENCES: Final[Mapping[str, Divergence]] = {
    "libarchive/test_read_format_zip_bz2_hang.zip": Divergence("not_a_zip", _STREAMING_ONLY),
    "libarchive/test_read_format_zip_lzma_alone_leak.zipx": Divergence(
        "not_a_zip", _STREAMING_ONLY
    ),
    "libarchive/test_read_format_zip_ppmd8_crash_1.zipx": Divergence("not_a_zip", _STREAMING_ONLY),
    "libarchive/test_read_format_zip_ppmd8_crash_2.zipx": Divergence("not_a_zip", _STREAMING_ONLY),
    "libarchive/test_read_format_zip_zipx_lzma_oom.zipx": Divergence("not_a_zip", _STREAMING_ONLY),
    "libzip/incons-trailing-garbage.zip": Divergence(
        "reads_ok",
        "only libzip's strict consistency mode rejects it; the content reads with a valid "
        "CRC-32, the corpus note allows lenient readers to return it, and CPython agrees",
    ),
    "zip2/extended_timestamp_bad.zip": Divergence(
        "reads_ok",
        "an empty extended-timestamp field; the corpus note says rejecting or ignoring it are "
        "both defensible. fastzips3 ignores a malformed timestamp (mtime is None) rather than "
        "refuse the archive's data",
    ),
}

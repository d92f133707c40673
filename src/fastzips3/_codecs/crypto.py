"""Decryption layers: traditional PKWARE ZipCrypto and WinZip AES, as pulls over pulls.

:func:`decryption_pull` wraps the pull of a member's raw data (what the local header is
followed by) and returns a pull of the decrypted *compressed* stream, which then goes to the
decompressor as if the member had never been encrypted. The encryption header (ZipCrypto's 12
bytes; AES's salt and password verifier) and AES's trailing authentication code are hidden, so
the wrapped stream is :func:`encrypted_overhead` bytes shorter than ``compress_size``.

The header is read, and the password checked, when :func:`decryption_pull` is called, so a
wrong password raises :class:`~fastzips3.errors.PasswordError` at open time, as ``zipfile`` does.

Traditional encryption (APPNOTE 6.1) is a byte-serial stream cipher whose state depends on each
decrypted byte, so it cannot be vectorised; here it runs as one tight loop per pulled chunk
over tables built on first use (CRC-32, and the key byte for each value of key 2's low 16
bits), about twice as fast as CPython's ``zipfile`` decrypter. It is weak cryptography, read
only for compatibility.

WinZip AES (AE-1/AE-2, https://www.winzip.com/en/support/aes-encryption/) derives keys with
PBKDF2-HMAC-SHA1 (1000 iterations) and encrypts with AES in CTR mode, with WinZip's
*little-endian* 128-bit counter starting at 1, which standard CTR implementations (big-endian)
do not do: the counter blocks are built in bulk and encrypted with AES-ECB, then XORed over the
whole chunk as one integer. HMAC-SHA1 over the ciphertext (first 10 bytes) authenticates the
data; it is checked as soon as the last ciphertext byte is pulled, before that last chunk is
handed on. ``cryptography`` (the ``fastzips3[crypto]`` extra) is imported only when an AES member
is opened.

This module is pure: no I/O, no threads. It imports nothing from fastzips3 but the pull type and
the error classes; entries are typed structurally (:class:`CryptoEntry`, which
:class:`fastzips3.ZipEntry` satisfies).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import sys
from array import array
from functools import cache
from typing import TYPE_CHECKING, Protocol

from fastzips3._codecs.base import Pull
from fastzips3.errors import (
    CodecNotInstalledError,
    DecompressionError,
    EncryptedEntryError,
    IntegrityError,
    PasswordError,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "AES_METHOD",
    "ZIPCRYPTO_HEADER_SIZE",
    "CryptoEntry",
    "crc_is_checked",
    "decryption_pull",
    "encrypted_overhead",
    "to_password",
]

AES_METHOD = 99
ZIPCRYPTO_HEADER_SIZE = 12
_AES_HEADER_ID = 0x9901
_AES_VERIFIER_SIZE = 2
_AES_MAC_SIZE = 10
_AES_KEY_SIZES = {1: 16, 2: 24, 3: 32}  # strength -> key bytes; the salt is half of it
_PBKDF2_ITERATIONS = 1000

_FLAG_ENCRYPTED = 0x1
_FLAG_STRONG_ENCRYPTION = 0x40
_FLAG_MASKED_HEADER = 0x2000  # the central directory is encrypted (APPNOTE 7.x)


class CryptoEntry(Protocol):
    """What decryption reads of an entry; :class:`fastzips3.ZipEntry` has all of it."""

    @property
    def name(self) -> str: ...

    @property
    def flag_bits(self) -> int: ...

    @property
    def compress_type(self) -> int: ...

    @property
    def compress_size(self) -> int: ...

    @property
    def crc(self) -> int: ...

    @property
    def date_time(self) -> tuple[int, int, int, int, int, int]: ...

    @property
    def extra(self) -> bytes: ...


# --- public helpers -------------------------------------------------------------------------


def to_password(value: str | bytes | None) -> bytes | None:
    """A password as bytes: ``str`` is encoded as UTF-8, ``bytes`` pass, ``None`` stays None.

    WinZip AES passwords are UTF-8. Traditional (ZipCrypto) archives made on Windows may have
    used the OEM code page instead; pass such a password as bytes (``"...".encode("cp437")``).
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"a password must be str or bytes, not {type(value).__name__}")


def encrypted_overhead(entry: CryptoEntry) -> int:
    """How many of ``compress_size``'s bytes are encryption framing rather than data.

    12 for ZipCrypto, salt + 2 + 10 for WinZip AES (20, 24 or 28), 0 when the entry is not
    encrypted or uses an encryption this module does not read.
    """
    if not entry.flag_bits & _FLAG_ENCRYPTED or _is_strong(entry):
        return 0
    if entry.compress_type == AES_METHOD:
        params = _aes_params(entry)
        if params is None or params[0] not in (1, 2) or params[1] not in _AES_KEY_SIZES:
            return 0
        return _AES_KEY_SIZES[params[1]] // 2 + _AES_VERIFIER_SIZE + _AES_MAC_SIZE
    return ZIPCRYPTO_HEADER_SIZE


def crc_is_checked(entry: CryptoEntry) -> bool:
    """False for WinZip AE-2 entries, whose CRC-32 field is not used (it is 0)."""
    if entry.compress_type != AES_METHOD or not entry.flag_bits & _FLAG_ENCRYPTED:
        return True
    params = _aes_params(entry)
    return params is None or params[0] != 2


def decryption_pull(entry: CryptoEntry, pull: Pull, password: bytes | None) -> Pull:
    """A pull of ``entry``'s decrypted compressed data, reading its raw data through ``pull``.

    Returns ``pull`` itself when the entry is not encrypted. Otherwise reads the encryption
    header now and checks the password, raising :class:`~fastzips3.errors.PasswordError` when it
    is missing or wrong, :class:`~fastzips3.errors.EncryptedEntryError` for encryption that is
    not supported (PKWARE strong encryption), and
    :class:`~fastzips3.errors.CodecNotInstalledError` for AES without ``cryptography``. The
    returned pull yields ``compress_size - encrypted_overhead(entry)`` bytes, then ``b""``.
    """
    if not entry.flag_bits & _FLAG_ENCRYPTED:
        return pull
    name = entry.name
    if _is_strong(entry):
        raise EncryptedEntryError(
            f"member {name!r}: PKWARE strong encryption is not supported", name=name
        )
    if entry.compress_type == AES_METHOD:
        params = _aes_params(entry)
        if params is None:
            raise EncryptedEntryError(
                f"member {name!r} uses method 99 (WinZip AES) but has no valid AES extra field "
                "(0x9901)",
                name=name,
            )
        version, strength = params
        if version not in (1, 2) or strength not in _AES_KEY_SIZES:
            raise EncryptedEntryError(
                f"member {name!r} uses an unknown WinZip AES variant (AE-{version}, "
                f"strength {strength})",
                name=name,
            )
        key_size = _AES_KEY_SIZES[strength]
        return _open_aes(entry, pull, _require_password(name, password), key_size)
    return _open_zipcrypto(entry, pull, _require_password(name, password))


# --- shared ----------------------------------------------------------------------------------


def _is_strong(entry: CryptoEntry) -> bool:
    return bool(entry.flag_bits & (_FLAG_STRONG_ENCRYPTION | _FLAG_MASKED_HEADER))


def _require_password(name: str, password: bytes | None) -> bytes:
    if password is None:
        raise PasswordError(
            f"member {name!r} is encrypted and no password was given", name=name, missing=True
        )
    return password


def _aes_params(entry: CryptoEntry) -> tuple[int, int] | None:
    """(vendor version, strength) from the WinZip AES extra field, or None if absent."""
    extra = entry.extra
    pos = 0
    while pos + 4 <= len(extra):
        header_id, size = struct.unpack_from("<HH", extra, pos)
        pos += 4
        if pos + size > len(extra):
            return None
        if header_id == _AES_HEADER_ID:
            if size < 7:
                return None
            version, _vendor, strength, _method = struct.unpack_from("<H2sBH", extra, pos)
            return int(version), int(strength)
        pos += size
    return None


def _read_exactly(pull: Pull, size: int, name: str, what: str) -> bytes:
    """Exactly ``size`` bytes from ``pull``, or DecompressionError naming ``what``."""
    data = b""
    while len(data) < size:
        more = pull(size - len(data))
        if not more:
            raise DecompressionError(f"member {name!r}: the data ends inside its {what}", name=name)
        data += more
    return data


# --- traditional PKWARE encryption (APPNOTE 6.1) --------------------------------------------


@cache
def _tables() -> tuple[list[int], list[int], list[int]]:
    """The CRC-32 table, the key-byte table and the key-1 addend table (built on first use)."""
    crc = []
    for byte in range(256):
        value = byte
        for _ in range(8):
            value = (value >> 1) ^ 0xEDB88320 if value & 1 else value >> 1
        crc.append(value)
    # The key byte for every value of key2's low 16 bits: t = key2 | 2; (t * (t ^ 1)) >> 8.
    key_byte = [((t | 2) * ((t | 2) ^ 1) >> 8) & 0xFF for t in range(1 << 16)]
    # (k1 + b) * M + 1 == k1 * M + (b * M + 1): one look-up instead of an add and a multiply.
    k1_add = [b * 134775813 + 1 for b in range(256)]
    return crc, key_byte, k1_add


class _ZipCryptoPull:
    """Decrypts a ZipCrypto stream chunk by chunk (the header already consumed)."""

    __slots__ = ("_k0", "_k1", "_k2", "_pull")

    def __init__(self, pull: Pull, password: bytes) -> None:
        self._pull = pull
        self._k0 = 0x12345678
        self._k1 = 0x23456789
        self._k2 = 0x34567890
        crc, _key_byte, k1_add = _tables()
        k0, k1, k2 = self._k0, self._k1, self._k2
        for byte in password:
            k0 = (k0 >> 8) ^ crc[(k0 ^ byte) & 0xFF]
            k1 = (k1 * 134775813 + k1_add[k0 & 0xFF]) & 0xFFFFFFFF
            k2 = (k2 >> 8) ^ crc[(k2 ^ (k1 >> 24)) & 0xFF]
        self._k0, self._k1, self._k2 = k0, k1, k2

    def decrypt(self, data: bytes) -> bytes:
        """Decrypt ``data``, advancing the keys."""
        crc, key_byte, k1_add = _tables()
        k0, k1, k2 = self._k0, self._k1, self._k2
        out: list[int] = []
        append = out.append
        for c in data:
            append(p := c ^ key_byte[k2 & 0xFFFF])
            k0 = (k0 >> 8) ^ crc[(k0 ^ p) & 0xFF]
            k1 = (k1 * 134775813 + k1_add[k0 & 0xFF]) & 0xFFFFFFFF
            k2 = (k2 >> 8) ^ crc[(k2 ^ (k1 >> 24)) & 0xFF]
        self._k0, self._k1, self._k2 = k0, k1, k2
        return bytes(out)

    def __call__(self, size: int) -> bytes:
        if size <= 0:
            return b""
        data = self._pull(size)
        return self.decrypt(data) if data else b""


def _dos_time(entry: CryptoEntry) -> int:
    _y, _mo, _d, hour, minute, second = entry.date_time
    return (hour << 11) | (minute << 5) | (second // 2)


def _open_zipcrypto(entry: CryptoEntry, pull: Pull, password: bytes) -> Pull:
    name = entry.name
    if entry.compress_size < ZIPCRYPTO_HEADER_SIZE:
        raise DecompressionError(
            f"member {name!r} is encrypted but its {entry.compress_size} bytes of data cannot "
            f"hold the {ZIPCRYPTO_HEADER_SIZE}-byte encryption header",
            name=name,
        )
    stream = _ZipCryptoPull(pull, password)
    header = stream.decrypt(_read_exactly(pull, ZIPCRYPTO_HEADER_SIZE, name, "encryption header"))
    # The last header byte is the high byte of the CRC-32 or, when the CRC was not known
    # before the data was written (flag bit 3), the high byte of the DOS time. Writers do not
    # keep to that rule (libzip's encrypt_plus_extra_modified_*.zip use the time without bit
    # 3), so either is accepted: a wrong password then passes this check with probability
    # 2/256 instead of 1/256, and fails the CRC-32 check of the content instead.
    check = header[-1]
    if check != (entry.crc >> 24) & 0xFF and check != (_dos_time(entry) >> 8) & 0xFF:
        raise PasswordError(f"wrong password for member {name!r}", name=name)
    return stream


# --- WinZip AES -------------------------------------------------------------------------------

_BIG_ENDIAN = sys.byteorder == "big"


def _counter_blocks(first: int, count: int) -> bytes:
    """``count`` 16-byte little-endian counter blocks, the first holding ``first``."""
    blocks = array("Q", bytes(16 * count))
    blocks[0::2] = array("Q", range(first, first + count))
    if _BIG_ENDIAN:  # pragma: no cover - little-endian hosts only in CI
        blocks.byteswap()
    return blocks.tobytes()


class _AesPull:
    """Decrypts WinZip AES-CTR data and checks its HMAC-SHA1 at the end."""

    __slots__ = (
        "_counter",
        "_encrypt",
        "_failed",
        "_mac",
        "_name",
        "_pull",
        "_remaining",
        "_spare",
    )

    def __init__(
        self,
        pull: Pull,
        *,
        name: str,
        encrypt: Callable[[bytes], bytes],
        mac: hmac.HMAC,
        length: int,
    ) -> None:
        self._pull = pull
        self._name = name
        self._encrypt = encrypt
        self._mac = mac
        self._remaining = length  # ciphertext bytes not yet pulled
        self._counter = 1  # the next counter value (WinZip's counter starts at 1)
        self._spare = b""  # keystream generated but not used yet
        self._failed: IntegrityError | None = None  # raised again on every later pull
        if length == 0:
            self._authenticate()

    def _keystream(self, size: int) -> bytes:
        spare = self._spare
        if size <= len(spare):
            self._spare = spare[size:]
            return spare[:size]
        need = size - len(spare)
        count = (need + 15) >> 4
        fresh = self._encrypt(_counter_blocks(self._counter, count))
        self._counter += count
        self._spare = fresh[need:]
        return spare + fresh[:need] if spare else fresh[:need]

    def _authenticate(self) -> None:
        code = _read_exactly(self._pull, _AES_MAC_SIZE, self._name, "authentication code")
        if not hmac.compare_digest(self._mac.digest()[:_AES_MAC_SIZE], code):
            self._failed = IntegrityError(
                f"member {self._name!r}: authentication code mismatch: the data or password is "
                "wrong",
                name=self._name,
                expected=0,
                actual=0,
            )
            raise self._failed

    def __call__(self, size: int) -> bytes:
        if self._failed is not None:
            raise self._failed
        want = min(size, self._remaining)
        if want <= 0:
            return b""
        data = self._pull(want)
        if not data:
            raise DecompressionError(
                f"member {self._name!r}: the data ends {self._remaining} bytes before its "
                "authentication code",
                name=self._name,
            )
        self._remaining -= len(data)
        self._mac.update(data)
        if self._remaining == 0:
            self._authenticate()  # before the last chunk is handed on
        n = len(data)
        plain = int.from_bytes(data, "little") ^ int.from_bytes(self._keystream(n), "little")
        return plain.to_bytes(n, "little")


def _open_aes(entry: CryptoEntry, pull: Pull, password: bytes, key_size: int) -> Pull:
    name = entry.name
    salt_size = key_size // 2
    overhead = salt_size + _AES_VERIFIER_SIZE + _AES_MAC_SIZE
    if entry.compress_size < overhead:
        raise DecompressionError(
            f"member {name!r} is AES-encrypted but its {entry.compress_size} bytes of data "
            f"cannot hold the {overhead} bytes of salt, verifier and authentication code",
            name=name,
        )
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    except ImportError:
        raise CodecNotInstalledError(
            f"member {name!r} is WinZip AES-encrypted; decrypting it needs the 'cryptography' "
            "package: pip install 'fastzips3[crypto]'",
            method=AES_METHOD,
            extra="crypto",
            name=name,
        ) from None
    head = _read_exactly(pull, salt_size + _AES_VERIFIER_SIZE, name, "AES salt and verifier")
    salt, verifier = head[:salt_size], head[salt_size:]
    keys = hashlib.pbkdf2_hmac(
        "sha1", password, salt, _PBKDF2_ITERATIONS, dklen=2 * key_size + _AES_VERIFIER_SIZE
    )
    if not hmac.compare_digest(keys[2 * key_size :], verifier):
        raise PasswordError(f"wrong password for member {name!r}", name=name)
    # ECB over counter blocks we build is CTR with WinZip's little-endian counter.
    encryptor = Cipher(algorithms.AES(keys[:key_size]), modes.ECB()).encryptor()
    return _AesPull(
        pull,
        name=name,
        encrypt=encryptor.update,
        mac=hmac.new(keys[key_size : 2 * key_size], digestmod=hashlib.sha1),
        length=entry.compress_size - overhead,
    )

"""ZipCrypto and WinZip AES decryption pulls: real archives from the corpus, and round trips.

The corpus cases take each encrypted member's raw data (after its local header), wrap it in
:func:`decryption_pull`, decompress the result with fastzips3's own decoders and check it against
the CRC-32 and the sizes/digests ``expected.json`` lists. The generated cases encrypt seeded data
with small test encryptors written here (independently of the module: the AES one builds its
counter blocks one by one with ``struct``) and read it back through pulls of every shape.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import struct
import sys
import zlib
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import fastzips3
from fastzips3 import ZipEntry
from fastzips3._codecs.base import Pull
from fastzips3._codecs.crypto import (
    crc_is_checked,
    decryption_pull,
    encrypted_overhead,
    to_password,
)
from fastzips3._codecs.registry import make_decoder
from fastzips3.errors import (
    CodecNotInstalledError,
    DecompressionError,
    EncryptedEntryError,
    IntegrityError,
    PasswordError,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS_ENV_VAR = "FASTZIPS3_CORPUS"
REQUIRE_ALL_ENV_VAR = "FASTZIPS3_REQUIRE_ALL"


def _skip_or_fail(reason: str) -> None:
    if os.environ.get(REQUIRE_ALL_ENV_VAR) == "1":
        pytest.fail(f"{reason}; required because {REQUIRE_ALL_ENV_VAR}=1")
    pytest.skip(reason)


def _require_cryptography() -> None:
    try:
        import cryptography  # noqa: F401
    except ImportError:
        _skip_or_fail("WinZip AES needs 'cryptography' (pip install 'fastzips3[crypto]')")


# --- pulls ------------------------------------------------------------------------------------


class BytesPull:
    """A pull over ``data`` that records every request, never serving more than asked."""

    def __init__(self, data: bytes, *, limit: int | None = None) -> None:
        self.data = data
        self.pos = 0
        self.limit = limit  # serve at most this much per call (short reads)
        self.requests: list[int] = []

    def __call__(self, size: int) -> bytes:
        self.requests.append(size)
        if self.limit is not None:
            size = min(size, self.limit)
        chunk = self.data[self.pos : self.pos + size]
        self.pos += len(chunk)
        return chunk


def _drain(pull: Pull, size: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = pull(size)
        assert len(chunk) <= size
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _decode(method: int, pull: Pull, name: str) -> bytes:
    try:
        decoder = make_decoder(method, pull, name=name)
    except CodecNotInstalledError as exc:
        _skip_or_fail(f"method {method} needs fastzips3[{exc.extra}]")
        raise
    out: list[bytes] = []
    while True:
        chunk = decoder.read(1 << 20)
        if not chunk:
            return b"".join(out)
        out.append(chunk)


# --- entries and test encryptors -------------------------------------------------------------

DATE_TIME = (2024, 5, 17, 13, 37, 42)
DOS_TIME = (13 << 11) | (37 << 5) | (42 // 2)


def _entry(
    *,
    name: str = "member.bin",
    flag_bits: int = 0x1,
    compress_type: int = 0,
    compress_size: int = 0,
    file_size: int = 0,
    crc: int = 0,
    extra: bytes = b"",
) -> ZipEntry:
    return ZipEntry(
        name=name,
        file_size=file_size,
        compress_size=compress_size,
        compress_type=compress_type,
        crc=crc,
        date_time=DATE_TIME,
        comment=b"",
        header_offset=0,
        flag_bits=flag_bits,
        extra=extra,
        name_bytes=None if name.isascii() else name.encode(),
        external_attr=0,
        create_system=3,
    )


def _crc_update(crc: int, byte: int) -> int:
    crc ^= byte
    for _ in range(8):
        crc = (crc >> 1) ^ 0xEDB88320 if crc & 1 else crc >> 1
    return crc


def zipcrypto_encrypt(plain: bytes, password: bytes, check: int, rng: random.Random) -> bytes:
    """APPNOTE 6.1 encryption: 11 random bytes and the check byte, then the data."""
    k0, k1, k2 = 0x12345678, 0x23456789, 0x34567890

    def update(byte: int) -> None:
        nonlocal k0, k1, k2
        k0 = _crc_update(k0, byte)
        k1 = ((k1 + (k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        k2 = _crc_update(k2, k1 >> 24)

    for byte in password:
        update(byte)
    out = bytearray()
    for byte in rng.randbytes(11) + bytes([check]) + plain:
        temp = (k2 | 2) & 0xFFFF
        out.append(byte ^ ((temp * (temp ^ 1)) >> 8) & 0xFF)
        update(byte)
    return bytes(out)


def zipcrypto_member(
    plain: bytes, password: bytes, *, seed: int = 0, descriptor: bool = False
) -> tuple[ZipEntry, bytes]:
    """A stored ZipCrypto member: its entry and its raw (encrypted) data."""
    crc = zlib.crc32(plain)
    check = (DOS_TIME >> 8) & 0xFF if descriptor else crc >> 24
    raw = zipcrypto_encrypt(plain, password, check, random.Random(seed))
    flags = 0x1 | (0x8 if descriptor else 0)
    entry = _entry(flag_bits=flags, compress_size=len(raw), file_size=len(plain), crc=crc)
    return entry, raw


def aes_extra(version: int, strength: int, method: int = 0) -> bytes:
    return struct.pack("<HHH2sBH", 0x9901, 7, version, b"AE", strength, method)


def aes_encrypt(plain: bytes, password: bytes, strength: int, salt: bytes) -> bytes:
    """WinZip AES: salt, verifier, AES-CTR (little-endian counter from 1), 10-byte HMAC."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key_size = {1: 16, 2: 24, 3: 32}[strength]
    assert len(salt) == key_size // 2
    keys = hashlib.pbkdf2_hmac("sha1", password, salt, 1000, 2 * key_size + 2)
    ecb = Cipher(algorithms.AES(keys[:key_size]), modes.ECB()).encryptor()
    out = bytearray()
    for index in range(0, len(plain), 16):
        block = ecb.update(struct.pack("<QQ", index // 16 + 1, 0))
        out += bytes(p ^ k for p, k in zip(plain[index : index + 16], block, strict=False))
    mac = hmac.new(keys[key_size : 2 * key_size], bytes(out), "sha1").digest()[:10]
    return salt + keys[2 * key_size :] + bytes(out) + mac


def aes_member(
    plain: bytes,
    password: bytes,
    *,
    strength: int = 3,
    version: int = 2,
    seed: int = 0,
) -> tuple[ZipEntry, bytes]:
    """A stored WinZip AES member: its entry and its raw data."""
    rng = random.Random(seed)
    salt = rng.randbytes({1: 8, 2: 12, 3: 16}[strength])
    raw = aes_encrypt(plain, password, strength, salt)
    entry = _entry(
        compress_type=99,
        compress_size=len(raw),
        file_size=len(plain),
        crc=zlib.crc32(plain) if version == 1 else 0,
        extra=aes_extra(version, strength),
    )
    return entry, raw


# --- the corpus --------------------------------------------------------------------------------


@cache
def _corpus_root() -> Path:
    return Path(os.environ.get(CORPUS_ENV_VAR) or REPO_ROOT.parent / "shared" / "corpus")


@cache
def _expected() -> dict[str, dict[str, Any]]:
    records = json.loads((_corpus_root() / "expected.json").read_text(encoding="utf-8"))
    return {record["path"]: record for record in records["archives"]}


@pytest.fixture
def corpus() -> Path:
    """The corpus ``files/`` folder; skips (or fails under FASTZIPS3_REQUIRE_ALL=1) without it."""
    root = _corpus_root()
    if not (root / "expected.json").is_file():
        _skip_or_fail(f"conformance corpus not found at {root} (set {CORPUS_ENV_VAR})")
    return root / "files"


def _raw_member(path: Path, name: str) -> tuple[ZipEntry, bytes]:
    """The member's central directory entry and its raw data (after the local header)."""
    with fastzips3.open_archive(path) as archive:
        entry = archive.getinfo(name)
    with path.open("rb") as f:
        f.seek(entry.header_offset)
        header = f.read(30)
        assert header[:4] == b"PK\x03\x04"
        name_len, extra_len = struct.unpack_from("<HH", header, 26)
        f.seek(entry.header_offset + 30 + name_len + extra_len)
        raw = f.read(entry.compress_size)
    assert len(raw) == entry.compress_size
    return entry, raw


def _check_expected(path: str, name: str, content: bytes) -> None:
    """Compare with the sizes and digests ``expected.json`` lists for the member, if any."""
    for member in _expected()[path]["expect"].get("members", []):
        if member["name"] != name:
            continue
        if "size" in member:
            assert len(content) == member["size"]
        if "crc32" in member:
            assert f"{zlib.crc32(content):08x}" == member["crc32"]
        if "sha256" in member:
            assert hashlib.sha256(content).hexdigest() == member["sha256"]


LIBARCHIVE = "libarchive/test_read_format_zip_"

# (archive, password): every encrypted member of these must decrypt, decompress and verify.
# Passwords: libarchive's from expected.json notes ("12345678", "password"); libzip's from its
# regress/*.test ziptool arguments ("1234", "foo", "foofoofoo", "1"), the no-entropy fixtures'
# "no-entropy" and broken.zip's "crypt" confirmed here by CRC-32/HMAC; zip2's from its note.
DECRYPTS: list[tuple[str, str]] = [
    (LIBARCHIVE + "traditional_encryption_data.zip", "12345678"),
    (LIBARCHIVE + "winzip_aes128.zip", "password"),
    (LIBARCHIVE + "winzip_aes256.zip", "password"),
    (LIBARCHIVE + "winzip_aes256_stored.zip", "password"),
    (LIBARCHIVE + "winzip_aes256_large.zip", "password"),
    (LIBARCHIVE + "winzip_aes256_large_bzip2.zip", "password"),
    (LIBARCHIVE + "winzip_aes256_large_lzma.zip", "password"),
    (LIBARCHIVE + "winzip_aes256_large_xz.zip", "password"),
    (LIBARCHIVE + "winzip_aes256_large_zstd.zip", "password"),
    (LIBARCHIVE + "winzip_aes256_large_ppmd.zip", "password"),
    ("libzip/encrypt-1234.zip", "1234"),
    ("libzip/encrypt.zip", "foo"),
    ("libzip/encrypt_plus_extra.zip", "foo"),
    ("libzip/encrypt_plus_extra_modified_c.zip", "foo"),
    ("libzip/encrypt_plus_extra_modified_l.zip", "foo"),
    ("libzip/encrypt-pkware-noentropy.zip", "no-entropy"),
    ("libzip/encrypt-pkware-noentropy-2.zip", "no-entropy"),
    ("libzip/empty-pkware.zip", "1"),
    ("libzip/encrypt-aes128.zip", "foofoofoo"),
    ("libzip/encrypt-aes192.zip", "foofoofoo"),
    ("libzip/encrypt-aes256.zip", "foofoofoo"),
    ("libzip/encrypt-aes128-noentropy.zip", "no-entropy"),
    ("libzip/encrypt-aes192-noentropy.zip", "no-entropy"),
    ("libzip/encrypt-aes256-noentropy.zip", "no-entropy"),
    ("libzip/broken.zip", "crypt"),
    ("zip2/aes_archive.zip", "helloworld"),
]

# Contents the origins state outright.
KNOWN_CONTENT: dict[tuple[str, str], bytes] = {
    ("libzip/encrypt.zip", "encrypted"): b"foo\n",
    ("libzip/encrypt-aes128.zip", "encrypted"): b"encrypted\n",
    ("libzip/encrypt-aes192.zip", "encrypted"): b"encrypted\n",
    ("libzip/encrypt-aes256.zip", "encrypted"): b"encrypted\n",
    ("libzip/empty-pkware.zip", "0"): b"",
    ("zip2/aes_archive.zip", "secret_data_128"): b"Lorem ipsum dolor sit amet",
}

_PPMD = 98  # fastzips3 has no PPMd decoder: those members are decrypted and authenticated only


def _encrypted_members(path: Path) -> list[str]:
    with fastzips3.open_archive(path) as archive:
        return [entry.name for entry in archive.entries() if entry.is_encrypted]


@pytest.mark.parametrize(("archive", "password"), DECRYPTS, ids=[c[0] for c in DECRYPTS])
def test_corpus_members_decrypt(corpus: Path, archive: str, password: str) -> None:
    names = _encrypted_members(corpus / archive)
    assert names
    for name in names:
        entry, raw = _raw_member(corpus / archive, name)
        if entry.compress_type == 99:
            _require_cryptography()
        source = BytesPull(raw)
        pull = decryption_pull(entry, source, to_password(password))
        compressed = _drain(pull, 1 << 16)
        assert len(compressed) == entry.compress_size - encrypted_overhead(entry)
        assert source.pos == entry.compress_size  # salt, verifier and MAC consumed
        if entry.real_method == _PPMD:
            continue
        content = _decode(entry.real_method, BytesPull(compressed), name)
        assert len(content) == entry.file_size
        if crc_is_checked(entry):
            assert zlib.crc32(content) == entry.crc
        else:
            assert entry.crc == 0
        _check_expected(archive, name, content)
        if (archive, name) in KNOWN_CONTENT:
            assert content == KNOWN_CONTENT[archive, name]


def test_corpus_aes_readmes_agree_across_strengths_and_methods(corpus: Path) -> None:
    """The same README under AES-128/256 and six inner methods decrypts to the same bytes."""
    _require_cryptography()
    contents = set()
    for suffix in ["aes128", "aes256", "aes256_stored", "aes256_large", "aes256_large_bzip2"]:
        entry, raw = _raw_member(corpus / f"{LIBARCHIVE}winzip_{suffix}.zip", "README")
        pull = decryption_pull(entry, BytesPull(raw), b"password")
        contents.add(_decode(entry.real_method, pull, "README"))
    assert len(contents) == 1
    assert next(iter(contents)).startswith(b"README for libarchive bundle.")


def test_corpus_ae1_zstd_members_keep_their_crc(corpus: Path) -> None:
    entry, _raw = _raw_member(corpus / f"{LIBARCHIVE}winzip_aes256_large_zstd.zip", "README")
    assert crc_is_checked(entry)
    assert entry.crc != 0
    entry, _raw = _raw_member(corpus / f"{LIBARCHIVE}winzip_aes256_large.zip", "README")
    assert not crc_is_checked(entry)


def test_corpus_hmac_error_is_an_integrity_error(corpus: Path) -> None:
    """libzip's hmac-error.zip: right password, corrupted data; libzip's cat exits 1."""
    _require_cryptography()
    entry, raw = _raw_member(corpus / "libzip/hmac-error.zip", "test.txt")
    pull = decryption_pull(entry, BytesPull(raw), b"1234")
    with pytest.raises(IntegrityError, match="authentication code mismatch") as info:
        _drain(pull, 1 << 16)
    assert info.value.name == "test.txt"


@pytest.mark.parametrize(
    ("archive", "name", "password"),
    [
        ("libzip/encrypt-aes256.zip", "encrypted", "notfoonotfoo"),
        ("libzip/encrypt-aes128.zip", "encrypted", "notfoonotfoo"),
        ("libzip/encrypt.zip", "encrypted", "notfoo"),
        (LIBARCHIVE + "winzip_aes256.zip", "README", "Password"),
        (LIBARCHIVE + "traditional_encryption_data.zip", "bar.txt", "1234567"),
    ],
)
def test_corpus_wrong_password(corpus: Path, archive: str, name: str, password: str) -> None:
    entry, raw = _raw_member(corpus / archive, name)
    if entry.compress_type == 99:
        _require_cryptography()
    with pytest.raises(PasswordError, match="wrong password"):
        decryption_pull(entry, BytesPull(raw), password.encode())


def test_corpus_wrong_password_past_the_check_byte(corpus: Path) -> None:
    """libzip decrypt-wrong-password-pkware-2.test: "sample" passes the one-byte check of
    encrypt-1234.zip (it matches the CRC's high byte) and fails at inflate: "Zlib error"."""
    entry, raw = _raw_member(corpus / "libzip/encrypt-1234.zip", "sample.txt")
    pull = decryption_pull(entry, BytesPull(raw), b"sample")
    with pytest.raises(DecompressionError):
        _decode(entry.real_method, pull, entry.name)


@pytest.mark.parametrize(
    ("archive", "name"),
    [
        ("libzip/encrypt-aes256.zip", "encrypted"),
        ("libzip/encrypt.zip", "encrypted"),
        ("zip2/ignore_encryption_flag.zip", "plaintext.txt"),
    ],
)
def test_corpus_missing_password(corpus: Path, archive: str, name: str) -> None:
    entry, raw = _raw_member(corpus / archive, name)
    with pytest.raises(PasswordError, match="is encrypted and no password was given") as caught:
        decryption_pull(entry, BytesPull(raw), None)
    assert caught.value.missing and caught.value.name == entry.name


@pytest.mark.parametrize(
    ("archive", "name"),
    [
        (LIBARCHIVE + "encryption_data.zip", "foo.txt"),
        (LIBARCHIVE + "encryption_partially.zip", "foo.txt"),
    ],
)
def test_corpus_strong_encryption_is_unsupported(corpus: Path, archive: str, name: str) -> None:
    entry, raw = _raw_member(corpus / archive, name)
    for password in (None, b"12345678"):
        with pytest.raises(EncryptedEntryError, match="strong encryption is not supported"):
            decryption_pull(entry, BytesPull(raw), password)


def test_corpus_unencrypted_member_passes_through(corpus: Path) -> None:
    entry, raw = _raw_member(corpus / (LIBARCHIVE + "encryption_partially.zip"), "bar.txt")
    source = BytesPull(raw)
    assert decryption_pull(entry, source, b"whatever") is source
    assert encrypted_overhead(entry) == 0


# --- generated: ZipCrypto ---------------------------------------------------------------------

SIZES = [0, 1, 2, 11, 12, 13, 1000, 70_000]
PULL_SIZES = [1, 7, 4096, 1 << 20]


def _seeded(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("descriptor", [False, True], ids=["crc-check", "time-check"])
def test_zipcrypto_round_trip(size: int, descriptor: bool) -> None:
    plain = _seeded(size, size)
    entry, raw = zipcrypto_member(plain, b"s3cr3t", seed=size, descriptor=descriptor)
    assert encrypted_overhead(entry) == 12
    assert crc_is_checked(entry)
    for pull_size in PULL_SIZES:
        if pull_size == 1 and size > 5000:
            continue
        source = BytesPull(raw)
        pull = decryption_pull(entry, source, b"s3cr3t")
        assert source.pos == 12  # the header is read, and the password checked, at once
        assert _drain(pull, pull_size) == plain
        assert pull(pull_size) == b""


def test_zipcrypto_short_reads_and_deflate() -> None:
    plain = b"fastzips3 " * 5000
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = compressor.compress(plain) + compressor.flush()
    entry, raw = zipcrypto_member(deflated, b"pw", seed=3)
    pull = decryption_pull(entry, BytesPull(raw, limit=5), b"pw")
    assert _decode(8, pull, entry.name) == plain


def test_zipcrypto_password_bytes_are_used_verbatim() -> None:
    plain = b"caf\xc3\xa9"
    entry, raw = zipcrypto_member(plain, "pässwörd".encode("cp437"), seed=4)
    with pytest.raises(PasswordError):
        decryption_pull(entry, BytesPull(raw), to_password("pässwörd"))
    pull = decryption_pull(entry, BytesPull(raw), "pässwörd".encode("cp437"))
    assert _drain(pull, 100) == plain


def test_zipcrypto_wrong_password() -> None:
    entry, raw = zipcrypto_member(b"secret data", b"right", seed=5)
    with pytest.raises(PasswordError, match=r"wrong password for member 'member\.bin'"):
        decryption_pull(entry, BytesPull(raw), b"wrong")


def test_zipcrypto_wrong_passwords_are_almost_always_caught() -> None:
    """The one-byte check lets about 2/256 wrong passwords through; those yield garbage."""
    plain = _seeded(6, 300)
    entry, raw = zipcrypto_member(plain, b"right", seed=6)
    passed = 0
    for index in range(512):
        try:
            pull = decryption_pull(entry, BytesPull(raw), b"wrong%d" % index)
        except PasswordError:
            continue
        passed += 1
        assert _drain(pull, 1000) != plain
    assert passed < 20


@pytest.mark.parametrize("descriptor", [False, True])
def test_zipcrypto_accepts_either_check_byte(descriptor: bool) -> None:
    """Writers disagree about which check byte goes with flag bit 3; both are accepted."""
    plain = b"check byte"
    crc = zlib.crc32(plain)
    for check in (crc >> 24, (DOS_TIME >> 8) & 0xFF):
        raw = zipcrypto_encrypt(plain, b"pw", check, random.Random(7))
        entry = _entry(
            flag_bits=0x9 if descriptor else 0x1,
            compress_size=len(raw),
            file_size=len(plain),
            crc=crc,
        )
        assert _drain(decryption_pull(entry, BytesPull(raw), b"pw"), 64) == plain


def test_zipcrypto_truncated_header() -> None:
    entry, raw = zipcrypto_member(b"abc", b"pw")
    with pytest.raises(DecompressionError, match="encryption header"):
        decryption_pull(entry, BytesPull(raw[:7]), b"pw")
    short = _entry(compress_size=11)
    with pytest.raises(DecompressionError, match="cannot hold"):
        decryption_pull(short, BytesPull(raw[:11]), b"pw")


# --- generated: WinZip AES --------------------------------------------------------------------

AES_SIZES = [0, 1, 15, 16, 17, 4111, 70_001]


@pytest.mark.parametrize("strength", [1, 2, 3], ids=["aes128", "aes192", "aes256"])
@pytest.mark.parametrize("version", [1, 2], ids=["AE-1", "AE-2"])
@pytest.mark.parametrize("size", AES_SIZES)
def test_aes_round_trip(strength: int, version: int, size: int) -> None:
    _require_cryptography()
    plain = _seeded(size + strength, size)
    entry, raw = aes_member(plain, b"hunter2", strength=strength, version=version, seed=size)
    overhead = {1: 8, 2: 12, 3: 16}[strength] + 2 + 10
    assert encrypted_overhead(entry) == overhead
    assert crc_is_checked(entry) is (version == 1)
    for pull_size in PULL_SIZES:
        if pull_size == 1 and size > 5000:
            continue
        source = BytesPull(raw)
        pull = decryption_pull(entry, source, b"hunter2")
        assert _drain(pull, pull_size) == plain
        assert source.pos == len(raw)
        assert pull(pull_size) == b""  # stays at its end


def test_aes_never_pulls_past_the_member() -> None:
    """The source may hold more (the next local header): the MAC bounds every request."""
    _require_cryptography()
    plain = _seeded(8, 10_000)
    entry, raw = aes_member(plain, b"pw", seed=8)
    source = BytesPull(raw + b"PK\x03\x04 next member")
    pull = decryption_pull(entry, source, b"pw")
    assert _drain(pull, 3000) == plain
    assert source.pos == len(raw)


@pytest.mark.parametrize("limit", [1, 5, 333])
def test_aes_short_reads(limit: int) -> None:
    _require_cryptography()
    plain = _seeded(9, 5000)
    entry, raw = aes_member(plain, b"pw", strength=1, seed=9)
    assert _drain(decryption_pull(entry, BytesPull(raw, limit=limit), b"pw"), 1000) == plain


def test_aes_deflate_through_the_decoder() -> None:
    _require_cryptography()
    plain = b"fastzips3 reads encrypted members. " * 3000
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = compressor.compress(plain) + compressor.flush()
    entry, raw = aes_member(deflated, b"pw", seed=10)
    assert _decode(8, decryption_pull(entry, BytesPull(raw), b"pw"), entry.name) == plain


def test_aes_wrong_password() -> None:
    _require_cryptography()
    entry, raw = aes_member(b"secret", b"right", seed=11)
    with pytest.raises(PasswordError, match=r"wrong password for member 'member\.bin'"):
        decryption_pull(entry, BytesPull(raw), b"wrong")


def test_aes_missing_password() -> None:
    entry, raw = aes_member(b"secret", b"right", seed=12) if _has_crypto() else _fake_aes()
    with pytest.raises(
        PasswordError, match=r"'member\.bin' is encrypted and no password was given"
    ):
        decryption_pull(entry, BytesPull(raw), None)


def _has_crypto() -> bool:
    try:
        import cryptography  # noqa: F401
    except ImportError:
        return False
    return True


def _fake_aes() -> tuple[ZipEntry, bytes]:
    raw = bytes(16 + 2 + 10)
    return _entry(compress_type=99, compress_size=len(raw), extra=aes_extra(2, 3)), raw


@pytest.mark.parametrize("where", ["first", "middle", "last", "mac"])
def test_aes_tampering_is_an_integrity_error(where: str) -> None:
    _require_cryptography()
    plain = _seeded(13, 1000)
    entry, raw = aes_member(plain, b"pw", seed=13)
    offset = {"first": 18, "middle": 18 + 500, "last": len(raw) - 11, "mac": len(raw) - 1}
    tampered = bytearray(raw)
    tampered[offset[where]] ^= 0x01
    pull = decryption_pull(entry, BytesPull(bytes(tampered)), b"pw")
    with pytest.raises(IntegrityError, match="authentication code mismatch") as info:
        _drain(pull, 300)
    assert info.value.name == "member.bin"
    with pytest.raises(IntegrityError):  # a later pull does not pass for a clean end
        pull(300)


def test_aes_last_chunk_is_withheld_until_authenticated() -> None:
    """One pull that reaches the end raises instead of returning unauthenticated data."""
    _require_cryptography()
    entry, raw = aes_member(b"x" * 100, b"pw", seed=14)
    tampered = raw[:-1] + bytes([raw[-1] ^ 0xFF])
    pull = decryption_pull(entry, BytesPull(tampered), b"pw")
    assert pull(60) == b"x" * 60
    with pytest.raises(IntegrityError):
        pull(1000)


def test_aes_empty_member_is_authenticated_at_once() -> None:
    _require_cryptography()
    entry, raw = aes_member(b"", b"pw", seed=15)
    assert decryption_pull(entry, BytesPull(raw), b"pw")(100) == b""
    tampered = raw[:-1] + bytes([raw[-1] ^ 0xFF])
    with pytest.raises(IntegrityError):
        decryption_pull(entry, BytesPull(tampered), b"pw")


def test_aes_truncated() -> None:
    _require_cryptography()
    entry, raw = aes_member(_seeded(16, 200), b"pw", seed=16)
    with pytest.raises(DecompressionError, match="salt and verifier"):
        decryption_pull(entry, BytesPull(raw[:10]), b"pw")
    pull = decryption_pull(entry, BytesPull(raw[:100]), b"pw")
    with pytest.raises(DecompressionError, match="before its authentication code"):
        _drain(pull, 64)
    pull = decryption_pull(entry, BytesPull(raw[:-4]), b"pw")
    with pytest.raises(DecompressionError, match="inside its authentication code"):
        _drain(pull, 64)
    short = _entry(compress_type=99, compress_size=27, extra=aes_extra(2, 3))
    with pytest.raises(DecompressionError, match="cannot hold"):
        decryption_pull(short, BytesPull(raw[:27]), b"pw")


def test_aes_without_cryptography(monkeypatch: pytest.MonkeyPatch) -> None:
    entry, raw = _fake_aes()
    monkeypatch.setitem(sys.modules, "cryptography.hazmat.primitives.ciphers", None)
    with pytest.raises(CodecNotInstalledError, match=r"pip install 'fastzips3\[crypto\]'") as info:
        decryption_pull(entry, BytesPull(raw), b"pw")
    assert info.value.extra == "crypto"
    assert info.value.method == 99
    assert info.value.name == "member.bin"


@pytest.mark.parametrize(
    "extra",
    [b"", aes_extra(3, 3), aes_extra(2, 4), aes_extra(2, 0), b"\x01\x99\x03\x00AE\x03"],
    ids=["missing", "AE-3", "strength-4", "strength-0", "short-field"],
)
def test_aes_unusable_extra_field(extra: bytes) -> None:
    entry = _entry(compress_type=99, compress_size=100, extra=extra)
    with pytest.raises(EncryptedEntryError, match="WinZip AES"):
        decryption_pull(entry, BytesPull(bytes(100)), b"pw")
    assert encrypted_overhead(entry) == 0


# --- the rest of the API ------------------------------------------------------------------------


def test_unencrypted_pull_is_returned_unchanged() -> None:
    source = BytesPull(b"plain")
    entry = _entry(flag_bits=0, compress_type=99, extra=aes_extra(2, 3))
    assert decryption_pull(entry, source, None) is source
    assert decryption_pull(entry, source, b"pw") is source
    assert source.requests == []
    assert encrypted_overhead(entry) == 0
    assert crc_is_checked(entry)


@pytest.mark.parametrize("flags", [0x41, 0x2001, 0x2041], ids=["strong", "masked-cd", "both"])
def test_strong_encryption_is_unsupported(flags: int) -> None:
    entry = _entry(flag_bits=flags, compress_size=100)
    for password in (None, b"pw"):
        with pytest.raises(EncryptedEntryError, match="PKWARE strong encryption") as info:
            decryption_pull(entry, BytesPull(bytes(100)), password)
        assert info.value.name == "member.bin"
    assert encrypted_overhead(entry) == 0


def test_zero_sized_pulls_read_nothing() -> None:
    entry, raw = zipcrypto_member(b"data", b"pw")
    source = BytesPull(raw)
    pull = decryption_pull(entry, source, b"pw")
    assert pull(0) == b""
    assert source.pos == 12
    assert pull(100) == b"data"


def test_encrypted_overhead_and_crc_rule() -> None:
    assert encrypted_overhead(_entry(flag_bits=0x1)) == 12
    assert encrypted_overhead(_entry(flag_bits=0x9, compress_type=8)) == 12
    for strength, overhead in ((1, 20), (2, 24), (3, 28)):
        for version in (1, 2):
            entry = _entry(compress_type=99, extra=aes_extra(version, strength))
            assert encrypted_overhead(entry) == overhead
            assert crc_is_checked(entry) is (version == 1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", b""), ("pässwörd", "pässwörd".encode()), (b"\xff\x00", b"\xff\x00")],
)
def test_to_password(value: str | bytes | None, expected: bytes | None) -> None:
    assert to_password(value) == expected


def test_to_password_rejects_other_types() -> None:
    bad: Any = 1234
    with pytest.raises(TypeError, match="password"):
        to_password(bad)


def _all_pull_shapes() -> Iterator[Callable[[bytes], BytesPull]]:
    yield BytesPull
    yield lambda data: BytesPull(data, limit=3)


def test_zipcrypto_and_aes_agree_with_any_pull_shape() -> None:
    _require_cryptography()
    plain = _seeded(17, 3333)
    members = [zipcrypto_member(plain, b"pw", seed=17), aes_member(plain, b"pw", seed=17)]
    for entry, raw in members:
        for make in _all_pull_shapes():
            for size in (2, 16, 999):
                assert _drain(decryption_pull(entry, make(raw), b"pw"), size) == plain

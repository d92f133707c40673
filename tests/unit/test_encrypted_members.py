"""Encrypted members through the archive API: right, wrong and missing passwords."""

from __future__ import annotations

import hashlib
import zlib

import pytest

import fastzips3
from fastzips3 import errors
from tests.corpus.conftest import require_corpus

CASES = [
    # archive, password, kind
    ("libarchive/test_read_format_zip_traditional_encryption_data.zip", "12345678", "ZipCrypto"),
    ("libarchive/test_read_format_zip_winzip_aes128.zip", "password", "AES-128"),
    ("libarchive/test_read_format_zip_winzip_aes256.zip", "password", "AES-256"),
    ("libarchive/test_read_format_zip_winzip_aes256_stored.zip", "password", "AES-256 stored"),
    ("libzip/encrypt-aes192.zip", "foofoofoo", "AES-192"),
    ("libzip/encrypt.zip", "foo", "ZipCrypto"),
]


@pytest.mark.parametrize(("path", "password", "kind"), CASES, ids=[c[0] for c in CASES])
def test_right_password_reads_and_verifies(path: str, password: str, kind: str) -> None:
    corpus = require_corpus()
    file = corpus.root / "files" / path
    with fastzips3.open_archive(file, password=password) as archive:
        encrypted = [e for e in archive.entries() if e.is_encrypted and not e.is_dir()]
        assert encrypted, kind
        for entry in encrypted:
            data = archive.read(entry)
            assert len(data) == entry.file_size
            if entry.crc:
                assert zlib.crc32(data) == entry.crc
    # a per-member password works too, as bytes
    with fastzips3.open_archive(file) as archive:
        entry = next(e for e in archive.entries() if e.is_encrypted and not e.is_dir())
        digest = hashlib.sha256(archive.read(entry, password=password.encode())).hexdigest()
        assert len(digest) == 64


@pytest.mark.parametrize(("path", "password", "kind"), CASES, ids=[c[0] for c in CASES])
def test_wrong_and_missing_password(path: str, password: str, kind: str) -> None:
    corpus = require_corpus()
    file = corpus.root / "files" / path
    with fastzips3.open_archive(file) as archive:
        entry = next(e for e in archive.entries() if e.is_encrypted and not e.is_dir())
        requests = archive.stats.requests
        with pytest.raises(errors.PasswordError, match="password"):
            archive.open(entry)
        assert archive.stats.requests == requests  # refused before any request
        with pytest.raises((errors.PasswordError, errors.IntegrityError, errors.FormatError)):
            archive.read(entry, password="not the password")


def test_seek_in_an_encrypted_stored_member() -> None:
    corpus = require_corpus()
    file = corpus.root / "files" / "libarchive/test_read_format_zip_winzip_aes256_stored.zip"
    with fastzips3.open_archive(file, password="password") as archive:
        entry = next(e for e in archive.entries() if e.is_encrypted and e.file_size > 100)
        whole = archive.read(entry)
        with archive.open(entry) as f:
            f.seek(50)
            assert f.read(20) == whole[50:70]
            f.seek(3)
            assert f.read(5) == whole[3:8]

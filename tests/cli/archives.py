"""Small archives the CLI tests build: plain, encrypted (ZipCrypto, deterministic), nested,
truncated, and not an archive at all; plus ways to run the CLI in-process and on a terminal."""

from __future__ import annotations

import fcntl
import os
import random
import select
import socket
import struct
import subprocess
import sys
import termios
import time
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.rawzip import RawMember, build_zip

PASSWORD = "secret"
#: A wrong password that fails ZipCrypto's check byte on the archives below (checked by
#: :func:`build_archives`, so a test never sees it slip through as a CRC error instead).
WRONG_PASSWORD = "not-the-password"
TIMEOUT = 60

PLAIN_MEMBERS = {
    "src/": b"",
    "src/docs/": b"",
    "src/docs/readme.txt": b"read me\n" * 50,
    "src/docs/sub/a.txt": b"a\n",
}


def _crc_update(crc: int, byte: int) -> int:
    crc ^= byte
    for _ in range(8):
        crc = (crc >> 1) ^ 0xEDB88320 if crc & 1 else crc >> 1
    return crc


def zipcrypto(plain: bytes, password: bytes, check: int, seed: int) -> bytes:
    """APPNOTE 6.1 traditional encryption: 11 seeded header bytes, the check byte, the data."""
    k0, k1, k2 = 0x12345678, 0x23456789, 0x34567890

    def update(byte: int) -> None:
        nonlocal k0, k1, k2
        k0 = _crc_update(k0, byte)
        k1 = ((k1 + (k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        k2 = _crc_update(k2, k1 >> 24)

    for byte in password:
        update(byte)
    out = bytearray()
    for byte in random.Random(seed).randbytes(11) + bytes([check]) + plain:
        temp = (k2 | 2) & 0xFFFF
        out.append(byte ^ ((temp * (temp ^ 1)) >> 8) & 0xFF)
        update(byte)
    return bytes(out)


def encrypted_zip(members: Mapping[str, bytes], password: str = PASSWORD) -> bytes:
    """Stored members, the files encrypted with ZipCrypto (directories are not)."""
    raw = []
    for n, (name, data) in enumerate(members.items()):
        if name.endswith("/"):
            raw.append(RawMember(name, data))
            continue
        secret = zipcrypto(data, password.encode(), zlib.crc32(data) >> 24, seed=n)
        raw.append(RawMember(name, data, compressed=secret, flags=0x1))
    return build_zip(raw)


def plain_zip(path: Path, members: Mapping[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 5, 6, 7, 8, 10))
            info.external_attr = (0o40755 if name.endswith("/") else 0o100644) << 16
            info.create_system = 3
            info.compress_type = zipfile.ZIP_STORED if name.endswith("/") else method
            zf.writestr(info, data)


@dataclass(frozen=True)
class Archives:
    """Paths of the archives the tests share."""

    root: Path
    plain: Path  # seven.zip: PLAIN_MEMBERS, deflated
    encrypted: Path  # enc.zip: PLAIN_MEMBERS, the files ZipCrypto-encrypted with PASSWORD
    outer_stored: Path  # outer.zip: seven.zip stored inside
    outer_deflated: Path  # outerd.zip: seven.zip deflated inside
    not_archive: Path
    truncated: Path
    missing: Path


def build_archives(root: Path) -> Archives:
    """Write every archive of :class:`Archives` below ``root``."""
    plain = root / "seven.zip"
    plain_zip(plain, PLAIN_MEMBERS)
    encrypted = root / "enc.zip"
    encrypted.write_bytes(encrypted_zip(PLAIN_MEMBERS))
    outer = root / "outer.zip"
    plain_zip(outer, {"seven.zip": plain.read_bytes()}, zipfile.ZIP_STORED)
    outerd = root / "outerd.zip"
    plain_zip(outerd, {"notes.txt": b"n\n", "seven.zip": plain.read_bytes()})
    not_archive = root / "not.zip"
    not_archive.write_bytes(b"this is a text file, not a ZIP archive\n" * 20)
    truncated = root / "truncated.zip"
    truncated.write_bytes(plain.read_bytes()[:-40])  # cut inside the end records

    import fastzips3
    from fastzips3 import errors

    with fastzips3.open_archive(encrypted, password=WRONG_PASSWORD) as archive:
        for entry in archive.entries():
            if entry.is_encrypted:
                with pytest.raises(errors.PasswordError):
                    archive.read(entry)
    return Archives(
        root, plain, encrypted, outer, outerd, not_archive, truncated, root / "missing.zip"
    )


def refused_url() -> str:
    """An http:// URL on 127.0.0.1 whose port refuses connections (nothing listens)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/a.zip"


def env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a CLI subprocess: no AWS settings, no password from outside."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    out["AWS_EC2_METADATA_DISABLED"] = "true"
    out.pop("FASTZIPS3_PASSWORD", None)
    out.update(extra or {})
    return out


def run(
    *args: str | os.PathLike[str], extra_env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """``python -m fastzips3 ARGS`` in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "fastzips3", *(os.fspath(a) for a in args)],
        capture_output=True,
        env=env(extra_env),
        timeout=TIMEOUT,
        check=False,
    )


def one_error_line(stderr: str) -> str:
    """The only line of a failed command's stderr: ``fastzips3: error: ...``, no traceback."""
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("fastzips3: error: "), stderr
    return lines[0]


def run_on_terminal(args: Sequence[str | os.PathLike[str]]) -> tuple[int, bytes]:
    """Run with stdout and stderr on one pseudo-terminal; the exit status and what it showed,
    in the order it showed it."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    extra = env({"TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"})
    for var in ("NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "FORCE_COLOR"):
        extra.pop(var, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "fastzips3", *(os.fspath(a) for a in args)],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env=extra,
    )
    os.close(slave)
    shown = bytearray()
    deadline = time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            shown += data
        code = proc.wait(timeout=TIMEOUT)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return code, bytes(shown)

"""The ``fastzips3`` command, end to end, in subprocesses: local archives and a real S3 server."""

from __future__ import annotations

import fcntl
import io
import json
import os
import select
import signal
import stat
import struct
import subprocess
import sys
import termios
import threading
import time
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import fastzips3

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from fastzips3.testing import LocalS3Server

BIG_SIZE = 20 << 20  # more than one 16 MiB part: cp to S3 must use a multipart upload
TIMEOUT = 60


@dataclass(frozen=True)
class Sample:
    """A local archive and what is in it."""

    path: Path
    members: dict[str, bytes]


def _build(path: Path, members: Sequence[tuple[str, bytes, int]]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, method in members:
            zi = zipfile.ZipInfo(name, date_time=(2024, 5, 6, 7, 8, 10))
            zi.create_system = 3
            zi.external_attr = ((stat.S_IFDIR | 0o755) if name.endswith("/") else 0o644) << 16
            zi.compress_type = method
            zf.writestr(zi, data)
        zf.comment = b"made for the CLI tests"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    root = tmp_path_factory.mktemp("cli")
    binary = bytes(range(256)) * 400 + b"\r\n\x00\x1a\xff" * 100
    members = [
        ("docs/", b"", zipfile.ZIP_STORED),
        ("docs/readme.txt", b"read me\n" * 500, zipfile.ZIP_DEFLATED),
        ("docs/notes.md", b"# notes\n", zipfile.ZIP_DEFLATED),
        ("data/binary.bin", binary, zipfile.ZIP_STORED),
        ("data/big.bin", os.urandom(BIG_SIZE), zipfile.ZIP_STORED),
    ]
    path = root / "sample.zip"
    _build(path, members)
    return Sample(path, {name: data for name, data, _ in members})


@pytest.fixture(scope="module")
def corrupt_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corrupt") / "corrupt.zip"
    _build(
        path,
        [
            ("good.txt", b"good\n", zipfile.ZIP_STORED),
            ("bad.txt", b"CORRUPT-ME " * 100, zipfile.ZIP_STORED),
            ("also-good.txt", b"fine\n", zipfile.ZIP_DEFLATED),
        ],
    )
    data = bytearray(path.read_bytes())
    data[data.index(b"CORRUPT-ME")] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


@pytest.fixture(scope="module")
def slip_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("slip") / "slip.zip"
    _build(
        path,
        [("good.txt", b"good\n", zipfile.ZIP_STORED), ("../evil.txt", b"evil", zipfile.ZIP_STORED)],
    )
    return path


def _env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env.pop("FASTZIPS3_PASSWORD", None)
    env.update(extra or {})
    return env


def fastzips3_cmd(*args: str | os.PathLike[str]) -> list[str]:
    return [sys.executable, "-m", "fastzips3", *(os.fspath(a) for a in args)]


def run(
    *args: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        fastzips3_cmd(*args),
        capture_output=True,
        env=_env(env),
        cwd=cwd,
        timeout=TIMEOUT,
        check=False,
    )


def one_error_line(result: subprocess.CompletedProcess[bytes]) -> str:
    """The stderr of a failed command: exactly one ``fastzips3: error:`` line, no traceback."""
    text = result.stderr.decode()
    assert b"Traceback" not in result.stderr, text
    lines = text.splitlines()
    assert len(lines) == 1, text
    assert lines[0].startswith("fastzips3: error: "), text
    return lines[0]


# --- basics -----------------------------------------------------------------------------------


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    text = result.stdout.decode().strip()
    assert text.startswith(f"fastzips3 {fastzips3.__version__} (")
    core = fastzips3.core_info()
    if core.compiled:
        assert f"compiled core on ISA-L {core.isal_version}" in text
    else:
        assert "pure-Python implementation" in text


def test_help_documents_the_exit_codes() -> None:
    result = run("--help")
    assert result.returncode == 0
    text = result.stdout.decode()
    for command in ("ls", "cat", "extract", "test", "info", "cp"):
        assert command in text
    assert "exit status" in text
    for code in ("130", "  3  ", "  4  "):
        assert code in text
    assert "--password" in text
    assert "the options below" not in text
    assert "global options above" in text


def test_usage_error_exits_2() -> None:
    result = run("frobnicate")
    assert result.returncode == 2
    assert b"invalid choice" in result.stderr


def test_main_in_process_returns_codes(sample: Sample, capsys: pytest.CaptureFixture[str]) -> None:
    from fastzips3.cli import main

    assert main(["--version"]) == 0
    assert main(["ls"]) == 2
    assert main(["info", "/nonexistent/x.zip"]) == 1
    err = capsys.readouterr().err
    assert "fastzips3: error: no such file" in err


# --- ls ---------------------------------------------------------------------------------------


def test_ls_plain(sample: Sample) -> None:
    result = run("ls", sample.path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines[0] == f"Archive:  {sample.path}"
    assert lines[1].split() == ["Length", "Date", "Time", "Name"]
    rows = lines[3:-2]
    assert [r.split()[-1] for r in rows] == list(sample.members)
    assert rows[1].split()[:3] == ["4000", "2024-05-06", "07:08"]
    total = sum(len(d) for d in sample.members.values())
    assert lines[-1].split() == [str(total), "5", "files"]


def test_ls_patterns(sample: Sample) -> None:
    result = run("ls", sample.path, "docs/*.md", "data")
    names = [r.split()[-1] for r in result.stdout.decode().splitlines()[3:-2]]
    assert names == ["docs/notes.md", "data/binary.bin", "data/big.bin"]


def test_ls_verbose(sample: Sample) -> None:
    result = run("ls", "-v", sample.path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines[1].split() == [
        "Length",
        "Method",
        "Size",
        "Cmpr",
        "Date",
        "Time",
        "CRC-32",
        "Name",
    ]
    by_name = {line.split()[-1]: line.split() for line in lines[3:-2]}
    readme = by_name["docs/readme.txt"]
    assert readme[1] == "Defl:N"
    assert readme[6] == f"{zlib.crc32(sample.members['docs/readme.txt']):08x}"
    assert by_name["data/big.bin"][1:4] == ["Stored", str(BIG_SIZE), "0%"]
    assert "encrypted" not in lines[-1]


def test_ls_json(sample: Sample) -> None:
    result = run("ls", "--json", sample.path)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["size"] == sample.path.stat().st_size
    assert document["entry_count"] == 5
    assert document["comment"] == "made for the CLI tests"
    assert document["zip64"] is False
    entries = {e["name"]: e for e in document["entries"]}
    assert list(entries) == list(sample.members)
    readme = entries["docs/readme.txt"]
    assert readme["size"] == 4000
    assert readme["compressed_size"] < 4000
    assert readme["method"] == "deflate"
    assert readme["crc"] == f"{zlib.crc32(sample.members['docs/readme.txt']):08x}"
    assert readme["date_time"] == "2024-05-06T07:08:10"
    assert readme["is_dir"] is False
    assert entries["docs/"]["is_dir"] is True


# --- cat --------------------------------------------------------------------------------------


def test_cat_is_binary_safe(sample: Sample) -> None:
    result = run("cat", sample.path, "data/binary.bin")
    assert result.returncode == 0, result.stderr
    assert result.stdout == sample.members["data/binary.bin"]
    assert result.stderr == b""


def test_cat_several_members_and_globs(sample: Sample) -> None:
    result = run("cat", sample.path, "docs/*", "data/binary.bin")
    assert result.returncode == 0, result.stderr
    m = sample.members
    assert result.stdout == m["docs/readme.txt"] + m["docs/notes.md"] + m["data/binary.bin"]


def test_cat_into_a_closed_pipe_is_quiet(sample: Sample) -> None:
    with subprocess.Popen(
        fastzips3_cmd("cat", sample.path, "data/big.bin"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    ) as cat:
        assert cat.stdout is not None and cat.stderr is not None
        head = subprocess.run(
            ["head", "-c", "100"],
            stdin=cat.stdout,
            capture_output=True,
            timeout=TIMEOUT,
            check=True,
        )
        cat.stdout.close()  # head exited: nobody reads the pipe any more
        err = cat.stderr.read()
        assert cat.wait(timeout=TIMEOUT) == 0
    assert head.stdout == sample.members["data/big.bin"][:100]
    assert err == b""


def test_ctrl_c_exits_130_quietly(sample: Sample) -> None:
    with subprocess.Popen(
        fastzips3_cmd("cat", sample.path, "data/big.bin"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    ) as cat:
        assert cat.stdout is not None and cat.stderr is not None
        # Once output arrives, the command is blocked writing into the full pipe.
        ready, _, _ = select.select([cat.stdout], [], [], TIMEOUT)
        assert ready
        cat.send_signal(signal.SIGINT)
        err = cat.stderr.read()
        assert cat.wait(timeout=TIMEOUT) == 130
    assert err == b""


def test_cat_missing_member_suggests_a_close_name(sample: Sample) -> None:
    result = run("cat", sample.path, "docs/readme.tx")
    assert result.returncode == 1
    line = one_error_line(result)
    assert "no member named 'docs/readme.tx'" in line
    assert "did you mean 'docs/readme.txt'?" in line


# --- extract ----------------------------------------------------------------------------------


def test_extract_to_a_directory(sample: Sample, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("extract", sample.path, "-d", out, "--workers", "3")
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    for name, data in sample.members.items():
        if not name.endswith("/"):
            assert (out / name).read_bytes() == data
    assert f"extracted: {out / 'data' / 'big.bin'}" in result.stdout.decode()
    assert not [p for p in out.rglob("*") if "fastzips3-tmp" in p.name]


def test_extract_patterns_and_junk_paths(sample: Sample, tmp_path: Path) -> None:
    result = run("extract", "-q", sample.path, "docs/*.txt", "data/binary.bin", "-d", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b""
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == [
        "data",
        "data/binary.bin",
        "docs",
        "docs/readme.txt",
    ]
    junk = tmp_path / "junk"
    result = run("extract", "-j", sample.path, "docs", "-d", junk)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in junk.iterdir()) == ["notes.md", "readme.txt"]


def test_extract_overwrite_policies(sample: Sample, tmp_path: Path) -> None:
    assert run("extract", "-q", sample.path, "docs", "-d", tmp_path).returncode == 0
    readme = tmp_path / "docs" / "readme.txt"
    readme.write_bytes(b"mine")

    result = run("extract", sample.path, "docs", "-d", tmp_path)  # default: refuse
    assert result.returncode == 1
    assert str(readme) in one_error_line(result)
    assert "(-o overwrites existing files, -n keeps them)" in one_error_line(result)
    assert readme.read_bytes() == b"mine"

    result = run("extract", "-n", sample.path, "docs", "-d", tmp_path)
    assert result.returncode == 0, result.stderr
    assert readme.read_bytes() == b"mine"
    assert f"skipped: {readme} (exists)" in result.stdout.decode()

    result = run("extract", "-o", sample.path, "docs", "-d", tmp_path)
    assert result.returncode == 0, result.stderr
    assert readme.read_bytes() == sample.members["docs/readme.txt"]

    result = run("extract", "-o", "-n", sample.path, "-d", tmp_path)
    assert result.returncode == 2  # mutually exclusive


def test_extract_refuses_an_unsafe_archive(slip_zip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("extract", slip_zip, "-d", out)
    assert result.returncode == 1
    line = one_error_line(result)
    assert "refusing to extract '../evil.txt'" in line
    assert "parent directory" in line
    assert not out.exists()
    assert not (tmp_path / "evil.txt").exists()


def test_extract_refuses_a_bomb(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    _build(path, [("zeros", bytes(8 << 20), zipfile.ZIP_DEFLATED)])
    result = run("extract", path, "-d", tmp_path / "out")
    assert result.returncode == 1
    assert "ratio" in one_error_line(result)
    result = run("extract", "-q", path, "-d", tmp_path / "out", "--max-ratio", "none")
    assert result.returncode == 0, result.stderr
    result = run("extract", path, "-d", tmp_path / "o2", "--max-ratio", "none", "--max-size", "1M")
    assert "limit of 1048576" in one_error_line(result)


# --- test -------------------------------------------------------------------------------------


def test_test_ok(sample: Sample) -> None:
    result = run("test", sample.path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 6
    for line, name in zip(lines, sample.members, strict=False):
        assert line.split() == ["testing:", name, "OK"]
    assert lines[-1] == f"No errors detected in compressed data of {sample.path}."


def test_test_reports_a_crc_error(corrupt_zip: Path) -> None:
    result = run("test", corrupt_zip)
    assert result.returncode == 3  # damaged data: not the usage error's 2
    lines = result.stdout.decode().splitlines()
    assert lines[0].split() == ["testing:", "good.txt", "OK"]
    assert lines[1].startswith("    testing: bad.txt")
    assert "CRC-32" in lines[1]
    assert lines[2].split() == ["testing:", "also-good.txt", "OK"]
    assert len(lines) == 3
    line = one_error_line(result)
    assert line == f"fastzips3: error: 1 error detected in compressed data of {corrupt_zip}"
    quiet = run("test", "-q", corrupt_zip)
    assert quiet.returncode == 3
    assert len(quiet.stdout.decode().splitlines()) == 1
    one_error_line(quiet)


# --- info -------------------------------------------------------------------------------------


def test_info(sample: Sample) -> None:
    result = run("info", sample.path)
    assert result.returncode == 0, result.stderr
    fields = dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition(":") for line in result.stdout.decode().splitlines())
    )
    size = sample.path.stat().st_size
    assert fields["Size"].startswith(f"{size:,} bytes")
    assert fields["Size"].count("bytes") == 1  # no "557 bytes (557 bytes)"
    assert fields["Entries"].startswith("5 (4 files, 1 dirs")
    assert fields["Methods"] == "deflate 2, stored 2"
    assert fields["ZIP64"] == "no"
    assert fields["Encrypted"] == "0 entries"
    assert fields["Comment"] == "made for the CLI tests"
    assert fields["Cost"].startswith("1 request, ")
    document = json.loads(run("info", "--json", sample.path).stdout)
    assert document["requests"] == 1
    assert document["methods"] == {"stored": 2, "deflate": 2}


# --- cp ---------------------------------------------------------------------------------------


def test_cp_to_a_local_file_and_directory(sample: Sample, tmp_path: Path) -> None:
    result = run("cp", sample.path, "data/binary.bin", tmp_path / "copy.bin")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "copy.bin").read_bytes() == sample.members["data/binary.bin"]
    result = run("cp", sample.path, "docs/readme.*", tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "readme.txt").read_bytes() == sample.members["docs/readme.txt"]
    assert not [p for p in tmp_path.iterdir() if "fastzips3-tmp" in p.name]


def test_cp_corrupt_member_leaves_nothing(corrupt_zip: Path, tmp_path: Path) -> None:
    result = run("cp", corrupt_zip, "bad.txt", tmp_path / "bad.txt")
    assert result.returncode == 3
    assert "CRC-32" in one_error_line(result)
    assert list(tmp_path.iterdir()) == []


# --- errors -----------------------------------------------------------------------------------


def test_missing_archive_is_one_line(tmp_path: Path) -> None:
    result = run("ls", tmp_path / "missing.zip")
    assert result.returncode == 1
    assert "no such file" in one_error_line(result)


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = run("--debug", "ls", tmp_path / "missing.zip")
    assert result.returncode == 1
    assert b"Traceback (most recent call last)" in result.stderr
    assert b"SourceNotFoundError" in result.stderr
    assert result.stderr.decode().splitlines()[-1].startswith("fastzips3: error: ")


def test_not_a_zip_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "not.zip"
    path.write_bytes(b"hello, this is not a zip archive" * 10)
    result = run("info", path)
    assert result.returncode == 3
    one_error_line(result)


def test_no_member_matches(sample: Sample) -> None:
    result = run("extract", sample.path, "nothing/*", "-d", "/nonexistent")
    assert result.returncode == 1
    assert "no member matches 'nothing/*'" in one_error_line(result)


# --- progress on a terminal -------------------------------------------------------------------


def run_with_tty_stderr(*args: str | os.PathLike[str]) -> tuple[int, bytes, bytes]:
    """Run with stderr on a pseudo-terminal (stdout a pipe); returns (code, stdout, terminal)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = _env({"TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"})
    for var in ("NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "FORCE_COLOR"):
        env.pop(var, None)
    proc = subprocess.Popen(
        fastzips3_cmd(*args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    out = io.BytesIO()
    assert proc.stdout is not None
    stdout = proc.stdout
    reader = threading.Thread(target=lambda: out.write(stdout.read()))
    reader.start()
    terminal = bytearray()
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
            terminal += data
        code = proc.wait(timeout=TIMEOUT)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
        reader.join(TIMEOUT)
        stdout.close()
    return code, out.getvalue(), bytes(terminal)


def test_extract_shows_a_progress_bar_on_a_terminal(sample: Sample, tmp_path: Path) -> None:
    code, stdout, terminal = run_with_tty_stderr("extract", sample.path, "-d", tmp_path / "tty")
    assert code == 0, terminal
    assert b"extracting" in terminal
    assert b"100%" in terminal
    assert b"\xe2\x94\x81" in terminal  # the bar: U+2501 BOX DRAWINGS HEAVY HORIZONTAL
    assert b"MB" in terminal
    assert b"extracted:" in stdout
    assert b"\x1b[" not in stdout  # the bar never goes to stdout


def test_no_progress_bar_when_stderr_is_not_a_terminal(sample: Sample, tmp_path: Path) -> None:
    result = run("extract", sample.path, "-d", tmp_path / "pipe")
    assert result.returncode == 0
    assert result.stderr == b""
    assert b"\x1b[" not in result.stdout
    assert result.stdout.decode().splitlines()[-1].startswith("4 files extracted")


def test_quiet_and_cat_to_a_terminal_progress(sample: Sample, tmp_path: Path) -> None:
    code, stdout, terminal = run_with_tty_stderr("-q", "extract", sample.path, "-d", tmp_path)
    assert code == 0
    assert terminal == b""
    assert stdout == b""
    code, stdout, terminal = run_with_tty_stderr("cat", sample.path, "data/big.bin")
    assert code == 0, terminal
    assert stdout == sample.members["data/big.bin"]
    assert b"reading" in terminal
    assert b"100%" in terminal


# --- S3 ---------------------------------------------------------------------------------------

ARCHIVE_KEY = "cli/sample.zip"


@pytest.fixture(scope="module")
def s3_sample(s3_server: LocalS3Server, sample: Sample) -> str:
    client = s3_server.client()
    try:
        client.put_object(Bucket="test", Key=ARCHIVE_KEY, Body=sample.path.read_bytes())
    finally:
        client.close()
    return f"s3://test/{ARCHIVE_KEY}"


def test_s3_ls_cat_test_info_extract(
    s3_server: LocalS3Server, s3_sample: str, sample: Sample, tmp_path: Path
) -> None:
    env = s3_server.env()
    endpoint = ["--endpoint-url", s3_server.endpoint_url]

    result = run(*endpoint, "ls", "--json", s3_sample, env=env)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["archive"] == s3_sample
    assert document["etag"].startswith('"')
    assert [e["name"] for e in document["entries"]] == list(sample.members)

    result = run("cat", s3_sample, "data/binary.bin", *endpoint, env=env)  # options after
    assert result.returncode == 0, result.stderr
    assert result.stdout == sample.members["data/binary.bin"]

    result = run("test", s3_sample, *endpoint, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines()[-1].startswith("No errors detected")

    result = run("info", s3_sample, *endpoint, env=env)
    assert result.returncode == 0, result.stderr
    text = result.stdout.decode()
    assert f"ETag:         {document['etag']}" in text
    assert "Cost:         1 request, " in text

    out = tmp_path / "s3out"
    result = run("extract", "-q", s3_sample, "-d", out, *endpoint, env=env)
    assert result.returncode == 0, result.stderr
    assert (out / "data" / "big.bin").read_bytes() == sample.members["data/big.bin"]


def test_s3_missing_object_is_one_line(s3_server: LocalS3Server) -> None:
    result = run(
        "ls", "s3://test/cli/missing.zip", "--endpoint-url", s3_server.endpoint_url,
        env=s3_server.env(),
    )  # fmt: skip
    assert result.returncode == 1
    one_error_line(result)


def test_s3_cp_uploads_with_multipart(
    s3_server: LocalS3Server, s3_sample: str, sample: Sample, s3_client: S3Client
) -> None:
    env = s3_server.env()
    endpoint = ["--endpoint-url", s3_server.endpoint_url]
    result = run("cp", s3_sample, "data/big.bin", "s3://test/cli/out/", *endpoint, env=env)
    assert result.returncode == 0, result.stderr
    head = s3_client.head_object(Bucket="test", Key="cli/out/big.bin")
    assert head["ContentLength"] == BIG_SIZE
    assert head["ETag"].strip('"').endswith("-2")  # two 16 MiB parts: a multipart upload
    body = s3_client.get_object(Bucket="test", Key="cli/out/big.bin")["Body"].read()
    assert body == sample.members["data/big.bin"]

    # A small member, an explicit key, and the endpoint from the environment only.
    result = run("cp", sample.path, "docs/readme.txt", "s3://test/cli/readme-copy.txt", env=env)
    assert result.returncode == 0, result.stderr
    head = s3_client.head_object(Bucket="test", Key="cli/readme-copy.txt")
    assert "-" not in head["ETag"]
    body = s3_client.get_object(Bucket="test", Key="cli/readme-copy.txt")["Body"].read()
    assert body == sample.members["docs/readme.txt"]


def test_s3_cp_of_a_corrupt_member_uploads_nothing(
    s3_server: LocalS3Server, corrupt_zip: Path, s3_client: S3Client
) -> None:
    result = run("cp", corrupt_zip, "bad.txt", "s3://test/cli/bad.txt", env=s3_server.env())
    assert result.returncode == 3
    assert "CRC-32" in one_error_line(result)
    listed = s3_client.list_objects_v2(Bucket="test", Prefix="cli/bad.txt")
    assert listed.get("KeyCount", 0) == 0


def test_s3_cp_upload_failure_is_one_line(s3_server: LocalS3Server, sample: Sample) -> None:
    result = run(
        "cp", sample.path, "docs/notes.md", "s3://test/cli/denied.md", "--no-sign-request",
        env=s3_server.env(),
    )  # fmt: skip
    assert result.returncode == 1
    assert "upload to s3://test/cli/denied.md failed" in one_error_line(result)


def test_index_builds_and_keeps_checkpoints(tmp_path: Path) -> None:
    path = tmp_path / "text.zip"
    text = b"".join(b"%08d,alpha,beta,%d\n" % (i, i * 7) for i in range(400_000))
    _build(path, [("t.csv", text, zipfile.ZIP_DEFLATED), ("s.bin", b"x", zipfile.ZIP_STORED)])
    cache = tmp_path / "cache"
    result = run("index", path, "--spacing", "1", env={"FASTZIPS3_CACHE_DIR": str(cache)})
    if not fastzips3.core_info().compiled:
        # Block boundaries come from zlib's C API through the compiled core only: the pure
        # implementation refuses, and says why, rather than fail later.
        assert result.returncode != 0
        assert b"needs fastzips3's compiled core" in result.stderr
        return
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "indexed: t.csv" in out
    assert "checkpoints" in out
    assert "s.bin" not in out
    assert list((cache / "indexes").glob("*.zsdc"))
    sidecar = tmp_path / "text.zip.zsx"
    result = run("index", path, "--sidecar", sidecar, "-q", env={"FASTZIPS3_CACHE_DIR": str(cache)})
    assert result.returncode == 0, result.stderr
    assert sidecar.stat().st_size > 0
    result = run("index", path, "s.bin", env={"FASTZIPS3_CACHE_DIR": str(cache)})
    assert result.returncode == 0
    assert "no unencrypted deflate members" in result.stdout.decode()

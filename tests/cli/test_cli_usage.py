"""The CLI as a new user meets it (issue 14): options anywhere, nested archive paths, and the
cosmetics of ``test``, ``ls -v``, ``info``, ``extract`` and ``--help``."""

from __future__ import annotations

import os
import re
import unicodedata
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fastzips3.cli import EXIT_OK, EXIT_PASSWORD, EXIT_USAGE, main
from tests.cli.archives import (
    PASSWORD,
    PLAIN_MEMBERS,
    Archives,
    build_archives,
    encrypted_zip,
    one_error_line,
    plain_zip,
    run_on_terminal,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from fastzips3.testing import LocalS3Server


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> Archives:
    return build_archives(tmp_path_factory.mktemp("usage"))


@pytest.fixture(autouse=True)
def _no_password_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FASTZIPS3_PASSWORD", raising=False)


def names_listed(out: str) -> list[str]:
    """Member names of an ``ls`` listing (between the dashed lines)."""
    lines = out.splitlines()
    dashes = [n for n, line in enumerate(lines) if line.startswith("----")]
    return [line.split()[-1] for line in lines[dashes[0] + 1 : dashes[1]]]


# --- options anywhere ---------------------------------------------------------------------------


def test_extract_options_after_the_archive_and_between_patterns(
    archives: Archives, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out3"
    code = main(["extract", str(archives.plain), "-d", str(out), "src/docs/r*", "-q"])
    assert code == EXIT_OK, capsys.readouterr().err
    assert (out / "src/docs/readme.txt").read_bytes() == PLAIN_MEMBERS["src/docs/readme.txt"]
    assert not (out / "src/docs/sub/a.txt").exists()
    assert capsys.readouterr().out == ""  # -q after everything still counts


@pytest.mark.parametrize(
    "args",
    [
        ["ls", "{plain}", "-v", "src/docs/*"],
        ["ls", "-v", "{plain}", "src/docs/*"],
        ["ls", "{plain}", "src/docs/*", "-v"],
        ["-q", "ls", "{plain}", "-v", "src/docs/*"],
        ["ls", "{plain}", "--endpoint-url", "http://127.0.0.1:1", "-v", "src/docs/*"],
        ["ls", "{plain}", "-O", "cp437", "src/docs/*", "--retries", "2", "-v"],
    ],
)
def test_ls_options_anywhere(
    args: list[str], archives: Archives, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([a.format(plain=archives.plain) for a in args])
    out, err = capsys.readouterr()
    assert code == EXIT_OK, err
    assert "Method" in out  # -v wherever it was
    assert names_listed(out) == ["src/docs/", "src/docs/readme.txt", "src/docs/sub/a.txt"]


def test_global_options_after_the_command(
    archives: Archives, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["cat", str(archives.encrypted), "--password", PASSWORD, "src/docs/readme.txt"])
    assert code == EXIT_OK
    assert capsys.readouterr().out == PLAIN_MEMBERS["src/docs/readme.txt"].decode()

    code = main(["cp", str(archives.plain), "--retries", "3", "src/docs/sub/a.txt", str(tmp_path)])
    assert code == EXIT_OK
    assert (tmp_path / "a.txt").read_bytes() == b"a\n"

    assert main(["ls", str(tmp_path / "missing.zip"), "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.splitlines()[-1].startswith("fastzips3: error: ")


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["extract", "{plain}", "--bogus", "-d", "x"], "extract"),
        (["ls", "{plain}", "--frobnicate"], "ls"),
        (["cat", "{plain}"], "cat"),
        (["test", "{plain}", "--workers", "0"], "test"),
        (["cp", "{plain}", "a", "b", "c"], "cp"),
        (["info", "{plain}", "extra"], "info"),
    ],
)
def test_a_usage_error_prints_the_commands_usage(
    args: list[str], command: str, archives: Archives, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([a.format(plain=archives.plain) for a in args])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert err.startswith(f"usage: fastzips3 {command} ")
    assert f"fastzips3 {command}: error: " in err
    assert "usage: fastzips3 [-h]" not in err


def test_an_unknown_command_prints_the_main_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == EXIT_USAGE
    assert capsys.readouterr().err.startswith("usage: fastzips3 [-h]")


def test_main_help_says_where_the_options_are(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == EXIT_OK
    text = capsys.readouterr().out
    assert "the options below" not in text
    assert text.index("global options:") < text.index("the global options above")


# --- nested archives ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["{outer}/seven.zip", "{outer}!/seven.zip", "{outerd}/seven.zip", "{outerd}!/seven.zip/"],
)
def test_cat_and_ls_of_a_nested_archive(
    path: str, archives: Archives, capsys: pytest.CaptureFixture[str]
) -> None:
    target = path.format(outer=archives.outer_stored, outerd=archives.outer_deflated)
    assert main(["cat", target, "src/docs/readme.txt"]) == EXIT_OK
    assert capsys.readouterr().out == PLAIN_MEMBERS["src/docs/readme.txt"].decode()
    assert main(["ls", target]) == EXIT_OK
    assert names_listed(capsys.readouterr().out) == list(PLAIN_MEMBERS)
    assert main(["test", "-q", target]) == EXIT_OK
    assert "No errors detected" in capsys.readouterr().out


def test_extract_and_info_of_a_nested_archive(
    archives: Archives, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = f"{archives.outer_deflated}/seven.zip"
    assert main(["extract", "-q", target, "-d", str(tmp_path)]) == EXIT_OK
    assert (tmp_path / "src/docs/sub/a.txt").read_bytes() == b"a\n"
    assert main(["info", target]) == EXIT_OK
    out = capsys.readouterr().out
    assert f"Archive:      {archives.outer_deflated}!/seven.zip" in out
    assert "Entries:      4 (2 files, 2 dirs" in out


def test_two_levels_and_an_encrypted_inner_archive(
    archives: Archives, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = tmp_path / "deep.zip"
    plain_zip(deep, {"mid/outer.zip": archives.outer_deflated.read_bytes()})
    assert main(["cat", f"{deep}/mid/outer.zip/seven.zip", "src/docs/sub/a.txt"]) == EXIT_OK
    assert capsys.readouterr().out == "a\n"
    assert main(["ls", f"{deep}!/mid/outer.zip!/seven.zip", "-q"]) == EXIT_OK
    assert names_listed(capsys.readouterr().out) == list(PLAIN_MEMBERS)

    locked = tmp_path / "locked.zip"
    locked.write_bytes(encrypted_zip({"inner.zip": archives.plain.read_bytes()}))
    target = f"{locked}/inner.zip"
    assert main(["cat", target, "src/docs/sub/a.txt", "--password", PASSWORD]) == EXIT_OK
    assert capsys.readouterr().out == "a\n"
    assert main(["cat", target, "src/docs/sub/a.txt"]) == EXIT_PASSWORD
    line = one_error_line(capsys.readouterr().err)
    assert "encrypted" in line
    assert "--password" in line


def test_a_missing_nested_archive_is_one_line(
    archives: Archives, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ls", f"{archives.outer_stored}/seven.zap/x.zip"]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert "seven.zap/x.zip" in line
    assert "did you mean 'seven.zip'?" in line


def test_an_s3_key_with_zip_inside_it(
    s3_server: LocalS3Server, s3_client: S3Client, archives: Archives
) -> None:
    """``s3://b/dir.zip/inner.zip`` when no object ``dir.zip`` exists: the object itself."""
    from tests.cli.archives import run

    s3_client.put_object(
        Bucket="test", Key="cli-usage/dir.zip/inner.zip", Body=archives.plain.read_bytes()
    )
    s3_client.put_object(
        Bucket="test", Key="cli-usage/outer.zip", Body=archives.outer_deflated.read_bytes()
    )
    env = s3_server.env()
    result = run(
        "cat", "s3://test/cli-usage/dir.zip/inner.zip", "src/docs/sub/a.txt", extra_env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"a\n"
    result = run(
        "cat", "s3://test/cli-usage/outer.zip/seven.zip", "src/docs/sub/a.txt", extra_env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"a\n"
    result = run("ls", "s3://test/cli-usage/none.zip/inner.zip", extra_env=env)
    assert result.returncode == 1
    assert "none.zip" in one_error_line(result.stderr.decode())


# --- cosmetics ----------------------------------------------------------------------------------


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def test_test_columns_line_up_with_cjk_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cjk.zip"
    plain_zip(
        path,
        {
            "漢字のファイル名.txt": b"x" * 100,
            "ascii.txt": b"y",
            "\uff46\uff55\uff4c\uff4c.txt": b"z",
        },
    )
    assert main(["test", str(path)]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()[:-1]
    assert len(lines) == 3
    columns = {display_width(line[: line.rindex("OK")]) for line in lines}
    assert len(columns) == 1, lines


def test_ls_verbose_ratio_of_a_member_that_grew(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "grow.zip"
    deflate = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("one.bin", (2024, 1, 1, 0, 0, 0)), b"\x9b", deflate)
        zf.writestr(zipfile.ZipInfo("text.txt", (2024, 1, 1, 0, 0, 0)), b"abc" * 1000, deflate)
    assert main(["ls", "-v", str(path)]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    header, rows, total = lines[1], lines[3:5], lines[-1]
    assert rows[0].split()[2:4] == ["3", "-200%"]  # 1 byte became 3
    # The column is as wide as its widest ratio: each row's ratio ends under "Cmpr", and the
    # dates and names start at one place in every row.
    cmpr_end = header.index("Cmpr") + len("Cmpr")
    for line in [*rows, total]:
        assert line[cmpr_end - 1] == "%", line
        assert line[cmpr_end] == " ", line
    assert len({line.index("2024-01-01") for line in rows}) == 1
    assert len({line.index(line.split()[-1]) for line in rows}) == 1
    assert header.index("Name") == rows[0].index("one.bin")


def test_ls_verbose_marks_encrypted_members(
    archives: Archives, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ls", "-v", str(archives.encrypted)]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[-1]: line.split() for line in lines[3:-2]}
    assert rows["src/docs/readme.txt"][-2] == "*"
    assert rows["src/docs/sub/a.txt"][-2] == "*"
    assert rows["src/docs/"][-2] != "*"
    assert rows["src/docs/readme.txt"][3] == "0%"  # stored: the 12-byte header is not growth
    assert lines[-1].endswith("4 files, 2 encrypted (*)")


def test_info_prints_each_size_once(
    archives: Archives, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["info", str(archives.plain)]) == EXIT_OK
    fields = dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition(":") for line in capsys.readouterr().out.splitlines())
    )
    size = archives.plain.stat().st_size
    assert size < 1000
    assert fields["Size"] == f"{size} bytes"
    big = tmp_path / "big.zip"
    plain_zip(big, {"r.bin": os.urandom(5000)}, zipfile.ZIP_STORED)
    assert main(["info", str(big)]) == EXIT_OK
    out = capsys.readouterr().out
    assert re.search(r"Size: +5,\d{3} bytes \(5\.\d kB\)\n", out)
    assert "Compressed:   5,000 bytes (5.0 kB, 0% saved)" in out


def test_extract_n_counts_files_not_directories(
    archives: Archives, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["extract", str(archives.plain), "-d", str(tmp_path)]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "2 files extracted (402 bytes), 0 skipped"
    assert "extracted: " + str(tmp_path / "src") + "\n" not in out
    assert main(["extract", "-n", str(archives.plain), "-d", str(tmp_path)]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "0 files extracted (0 bytes), 2 skipped"


def test_extract_on_a_terminal_prints_its_header_before_the_progress_bar(
    archives: Archives, tmp_path: Path
) -> None:
    code, shown = run_on_terminal(["extract", archives.plain, "-d", tmp_path / "tty"])
    assert code == 0, shown
    assert b"extracting" in shown
    assert shown.index(b"Archive:") < shown.index(b"extracting")
    assert shown.index(b"extracting") < shown.index(b"files extracted")

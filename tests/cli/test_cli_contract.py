"""The CLI's error contract: every command, driven into every kind of failure, exits with the
status of its kind (see ``fastzips3 --help``) and says why in ONE line on stderr, never a
traceback.

| failure | status |
|---|---|
| missing member, missing archive, unreachable server | 1 |
| not an archive, truncated archive (damaged data) | 3 |
| encrypted members without a password, a wrong password | 4 |

``ls``, ``info`` and ``index`` never decrypt: with encrypted members and any password they
succeed (``index`` skips encrypted members, as it says).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fastzips3.cli import EXIT_DAMAGED, EXIT_ERROR, EXIT_OK, EXIT_PASSWORD, main
from tests.cli.archives import (
    PASSWORD,
    WRONG_PASSWORD,
    Archives,
    build_archives,
    one_error_line,
    refused_url,
    run,
)

COMMANDS = ["ls", "cat", "extract", "test", "info", "cp", "index"]
MEMBER = "src/docs/readme.txt"


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> Archives:
    return build_archives(tmp_path_factory.mktemp("contract"))


@pytest.fixture(autouse=True)
def _no_password_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FASTZIPS3_PASSWORD", raising=False)


def argv(command: str, archive: str, member: str, tmp: Path) -> list[str]:
    """The command line of ``command`` on ``member`` of ``archive``.

    ``info`` takes no member: it is pointed at ``member`` as a nested archive inside
    ``archive`` instead, which fails the same ways.
    """
    if command == "info":
        return ["info", f"{archive}/{member}"] if member != MEMBER else ["info", archive]
    if command == "extract":
        return ["extract", archive, member, "-d", str(tmp / "out")]
    if command == "cp":
        return ["cp", archive, member, str(tmp / "copy.txt")]
    return [command, archive, member]


# Each failure: how to make it (archives, tmp) -> (archive, member, extra options), and the
# exit status of every command.
Failure = Callable[[Archives], tuple[str, str, list[str]]]
FAILURES: dict[str, tuple[Failure, dict[str, int]]] = {
    "missing-member": (
        lambda a: (str(a.plain), "src/docs/nope.txt", []),
        dict.fromkeys(COMMANDS, EXIT_ERROR),
    ),
    "missing-archive": (
        lambda a: (str(a.missing), MEMBER, []),
        dict.fromkeys(COMMANDS, EXIT_ERROR),
    ),
    "not-an-archive": (
        lambda a: (str(a.not_archive), MEMBER, []),
        dict.fromkeys(COMMANDS, EXIT_DAMAGED),
    ),
    "truncated-archive": (
        lambda a: (str(a.truncated), MEMBER, []),
        dict.fromkeys(COMMANDS, EXIT_DAMAGED),
    ),
    "no-password": (
        lambda a: (str(a.encrypted), MEMBER, []),
        {**dict.fromkeys(COMMANDS, EXIT_PASSWORD), "ls": 0, "info": 0, "index": 0},
    ),
    "wrong-password": (
        lambda a: (str(a.encrypted), MEMBER, ["--password", WRONG_PASSWORD]),
        {**dict.fromkeys(COMMANDS, EXIT_PASSWORD), "ls": 0, "info": 0, "index": 0},
    ),
    "unreachable-server": (
        lambda a: (refused_url(), MEMBER, ["--retries", "1"]),
        dict.fromkeys(COMMANDS, EXIT_ERROR),
    ),
}


@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_fails_in_one_line(
    command: str,
    failure: str,
    archives: Archives,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make, expected = FAILURES[failure]
    archive, member, options = make(archives)
    started = time.monotonic()
    code = main([*argv(command, archive, member, tmp_path), *options])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == expected[command], err
    if code == EXIT_OK:
        assert err == ""
        return
    line = one_error_line(err)
    if failure == "missing-member":
        assert "nope.txt" in line
    elif failure == "missing-archive":
        assert "missing.zip" in line
    elif failure == "no-password":
        assert "encrypted" in line
        assert "--password" in line
        assert "password=" not in line  # not the Python argument
    elif failure == "wrong-password":
        assert "wrong password" in line
        assert "--password" in line
    elif failure == "unreachable-server":
        assert elapsed < 10
    if command in ("extract", "cp"):
        assert not (tmp_path / "copy.txt").exists()
        assert not (tmp_path / "out").exists()  # a failed extraction leaves nothing


@pytest.mark.parametrize("command", ["cat", "extract", "test", "cp"])
def test_the_right_password_succeeds(
    command: str, archives: Archives, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*argv(command, str(archives.encrypted), MEMBER, tmp_path), "--password", PASSWORD])
    out, err = capsys.readouterr()
    assert code == EXIT_OK, err
    assert err == ""
    if command == "cat":
        assert out == (b"read me\n" * 50).decode()


def test_the_password_from_the_environment(
    archives: Archives, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FASTZIPS3_PASSWORD", PASSWORD)
    assert main(["cat", str(archives.encrypted), MEMBER]) == EXIT_OK
    monkeypatch.setenv("FASTZIPS3_PASSWORD", WRONG_PASSWORD)
    assert main(["cat", str(archives.encrypted), MEMBER]) == EXIT_PASSWORD
    assert "wrong password" in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["test", "{encrypted}"], EXIT_PASSWORD),
        (["extract", "{encrypted}", "-d", "{tmp}/out"], EXIT_PASSWORD),
        (["test", "{encrypted}", "--password", WRONG_PASSWORD], EXIT_PASSWORD),
        (["cat", "{not_archive}", "x"], EXIT_DAMAGED),
        (["ls", "{missing}"], EXIT_ERROR),
    ],
)
def test_in_a_real_process(args: list[str], code: int, archives: Archives, tmp_path: Path) -> None:
    """The same contract through ``python -m fastzips3``: status, one line, no traceback."""
    names = {
        "encrypted": archives.encrypted,
        "not_archive": archives.not_archive,
        "missing": archives.missing,
        "tmp": tmp_path,
    }
    result = run(*(a.format(**names) for a in args))
    assert result.returncode == code, result.stderr
    one_error_line(result.stderr.decode())


def test_test_without_a_password_says_encrypted_not_damaged(
    archives: Archives, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["test", str(archives.encrypted)])
    out, err = capsys.readouterr()
    assert code == EXIT_PASSWORD
    lines = out.splitlines()
    assert len(lines) == 4
    locked = [line for line in lines if "src/docs/readme.txt" in line or "a.txt" in line]
    for line in locked:
        assert line.endswith("skipped: encrypted, no password")
    assert "damaged" not in out + err
    assert "detected in compressed data" not in out + err
    line = one_error_line(err)
    assert line == (
        "fastzips3: error: 2 encrypted members were not tested: give the password with "
        "--password (or set FASTZIPS3_PASSWORD)"
    )


def test_test_with_a_wrong_password(archives: Archives, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["test", str(archives.encrypted), "--password", WRONG_PASSWORD])
    out, err = capsys.readouterr()
    assert code == EXIT_PASSWORD
    assert out.count("ERROR: wrong password for member") == 2
    assert one_error_line(err) == "fastzips3: error: wrong password for 2 members (--password)"


def test_extract_without_a_password_writes_nothing(
    archives: Archives, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "out"
    assert main(["extract", str(archives.encrypted), "-d", str(out_dir)]) == EXIT_PASSWORD
    line = one_error_line(capsys.readouterr().err)
    assert "2 members are encrypted" in line
    assert "--password" in line
    assert not out_dir.exists()  # refused before anything was written


def test_help_documents_every_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["--help"], ["test", "--help"], ["extract", "--help"]):
        assert main(args) == EXIT_OK
        text = capsys.readouterr().out
        assert "exit status:" in text
        for code in (0, 1, 2, 3, 4, 130):
            assert f"\n  {code} " in text, (args, code)


def test_a_wrong_password_past_the_check_byte_is_damage_with_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ZipCrypto checks one byte: 1 wrong password in 256 passes it and fails the CRC-32."""
    import fastzips3
    from fastzips3 import errors
    from tests.cli.archives import encrypted_zip

    path = tmp_path / "slip.zip"
    path.write_bytes(encrypted_zip({"t.txt": b"some text\n" * 20}))
    with fastzips3.open_archive(path) as archive:
        for n in range(5000):
            try:
                archive.read("t.txt", password=f"wrong{n}")
            except errors.PasswordError:
                continue
            except errors.FormatError:
                slipping = f"wrong{n}"
                break
        else:
            pytest.fail("no wrong password passed the check byte")
    assert main(["test", str(path), "--password", slipping]) == EXIT_DAMAGED
    out, err = capsys.readouterr()
    assert "(a wrong password can do this too)" in out
    one_error_line(err)


def test_test_help_names_its_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", "--help"]) == EXIT_OK
    text = " ".join(capsys.readouterr().out.split())
    assert "Exit status 3 when any member is damaged, 4 when encrypted members" in text
    assert "status 2" not in text

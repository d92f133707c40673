"""The README's examples for names, encodings and the fsspec URL of a local archive, run as
written there (sections "Member names and encodings" and "pandas, Dask and fsspec")."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

import fastzips3
from fastzips3.cli import EXIT_OK, main
from tests.cli.archives import PASSWORD, encrypted_zip
from tests.helpers.rawzip import RawMember, build_zip

TABLE = b"a,b\n1,2\n3,4\n"


@pytest.fixture
def tables(tmp_path: Path) -> Path:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data/table.csv", TABLE)
        zf.writestr("data/other.csv", b"a,b\n5,6\n")
    return path


def test_fsspec_urls_of_a_local_archive(
    tables: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fsspec = pytest.importorskip("fsspec")
    for archive in (str(tables), f"file://{tables}"):
        with fsspec.open(f"fastzips3://data/table.csv::{archive}", "rb") as f:
            assert f.read() == TABLE
    fs = fsspec.filesystem("fastzips3", fo=str(tables))
    assert fs.ls("data", detail=False) == ["data/other.csv", "data/table.csv"]
    monkeypatch.chdir(tmp_path)  # a relative path works too
    with fsspec.open("fastzips3://data/table.csv::a.zip", "rt") as f:
        assert f.readline() == "a,b\n"


def test_pandas_reads_a_member_of_a_local_archive(tables: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("fsspec")
    df = pd.read_csv(f"fastzips3://data/table.csv::{tables}")
    assert df.to_dict("list") == {"a": [1, 3], "b": [2, 4]}


def test_fastzips3_options_at_the_fastzips3_level(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    fsspec = pytest.importorskip("fsspec")
    path = tmp_path / "enc.zip"
    path.write_bytes(encrypted_zip({"t.csv": TABLE}))
    url = f"fastzips3://t.csv::{path}"
    with fsspec.open(url, "rb", fastzips3={"password": PASSWORD}) as f:
        assert f.read() == TABLE
    df = pd.read_csv(url, storage_options={"fastzips3": {"password": PASSWORD}})
    assert list(df["a"]) == [1, 3]


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    """A name in Shift-JIS, without the UTF-8 flag or a Unicode Path field (old Windows zip)."""
    path = tmp_path / "legacy.zip"
    data = build_zip([RawMember("ABCD.txt", b"hi\n")])
    path.write_bytes(data.replace(b"ABCD.txt", "漢字.txt".encode("shift_jis")))
    return path


def test_choosing_the_encoding_of_names(legacy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with fastzips3.open_archive(legacy) as archive:
        assert archive.namelist() == ["\u00e8\u2510\u00c4\u00dc.txt"]  # not UTF-8: CP437
    with fastzips3.open_archive(legacy, metadata_encoding="shift_jis") as archive:
        assert archive.namelist() == ["漢字.txt"]
        assert archive.getinfo("漢字.txt").raw_name == "漢字.txt".encode("shift_jis")
    assert main(["ls", str(legacy), "-O", "shift_jis"]) == EXIT_OK
    assert "漢字.txt" in capsys.readouterr().out
    assert main(["cat", str(legacy), "漢字.txt", "--metadata-encoding", "shift_jis"]) == EXIT_OK
    assert capsys.readouterr().out == "hi\n"
    assert main(["ls", str(legacy), "-O", "no-such-encoding"]) == 2
    assert "unknown encoding 'no-such-encoding'" in capsys.readouterr().err

"""Read an archive back with every tool: stdlib zipfile, Info-ZIP ``unzip -t``, 7-Zip ``7z t``,
``bsdtar`` (extracting to stdout, which checks CRCs) and fastzips3; all must agree."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import fastzips3


def check_archive(blob: bytes, expected: dict[str, bytes], *, tools: bool = True) -> None:
    """Assert every reader sees exactly ``expected`` (name -> content) in ``blob``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "check.zip"
        path.write_bytes(blob)
        with zipfile.ZipFile(path) as zf:
            assert zf.testzip() is None
            assert sorted(zf.namelist()) == sorted(expected)
            for name, data in expected.items():
                assert zf.read(name) == data, name
        with fastzips3.open_archive(str(path), directory_cache=False) as archive:
            assert sorted(archive.namelist()) == sorted(expected)
            for name, data in expected.items():
                assert archive.read(name) == data, name
        if not tools:
            return
        for tool, args in (
            ("unzip", ["unzip", "-tq", str(path)]),
            ("7z", ["7z", "t", str(path)]),
            ("bsdtar", ["bsdtar", "-xOf", str(path)]),
        ):
            if shutil.which(tool) is None:
                raise AssertionError(f"{tool} is not installed (scripts/build_deps.sh)")
            done = subprocess.run(args, capture_output=True, timeout=600, check=False)
            assert done.returncode == 0, (tool, done.stdout[-2000:], done.stderr[-2000:])
        listed = subprocess.run(
            ["bsdtar", "-tf", str(path)], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        assert sorted(listed) == sorted(expected)

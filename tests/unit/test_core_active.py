"""Which implementation runs, and that CI can never fall back to the pure one silently.

Under ``FASTZIPS3_REQUIRE_ALL=1`` (``.ci/run``) the compiled core must be active unless
``FASTZIPS3_NO_EXTENSIONS=1`` asks for the pure-Python implementation; with that switch set the
core must be off. The subprocess tests check the switches at import time, where they act.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import fastzips3
import fastzips3._accel

SETUP_PY = Path(__file__).resolve().parents[2] / "setup.py"
NO_EXTENSIONS = os.environ.get("FASTZIPS3_NO_EXTENSIONS", "") not in ("", "0")
REQUIRE_ALL = os.environ.get("FASTZIPS3_REQUIRE_ALL") == "1"

#: Run in a child: hides ``fastzips3._core`` from the import system, as if it were not built.
HIDE_CORE = textwrap.dedent(
    """
    import sys

    class HideCore:
        def find_spec(self, name, path=None, target=None):
            if name == "fastzips3._core":
                raise ImportError("hidden by the test", name=name)
            return None

    sys.meta_path.insert(0, HideCore())
    import fastzips3
    info = fastzips3.core_info()
    print(info.compiled, fastzips3._accel.CORE is None, repr(info.reason))
    """
)


def _child_env(**changes: str | None) -> dict[str, str]:
    env = dict(os.environ)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _run(code: str, **env: str | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=_child_env(**env),
    )


@pytest.mark.skipif(
    not REQUIRE_ALL or NO_EXTENSIONS,
    reason="only under FASTZIPS3_REQUIRE_ALL=1 without FASTZIPS3_NO_EXTENSIONS (CI)",
)
def test_compiled_core_is_active_in_ci() -> None:
    info = fastzips3.core_info()
    assert info.compiled, f"the compiled core is not active in CI: {info.reason}"
    assert fastzips3._accel.CORE is not None
    assert info.reason == ""
    assert info.isal_version is not None
    assert re.fullmatch(r"\d+\.\d+\.\d+", info.isal_version)
    assert info.zlib_version


@pytest.mark.skipif(not NO_EXTENSIONS, reason="only under FASTZIPS3_NO_EXTENSIONS=1")
def test_no_extensions_switch_turns_the_core_off() -> None:
    info = fastzips3.core_info()
    assert not info.compiled
    assert fastzips3._accel.CORE is None
    assert info.isal_version is None
    assert info.zlib_version is None
    assert "FASTZIPS3_NO_EXTENSIONS" in info.reason


@pytest.mark.skipif(
    not os.environ.get("FASTZIPS3_EXPECT_INSTALLED_IN"),
    reason="only in ci/wheel_check.sh, which sets FASTZIPS3_EXPECT_INSTALLED_IN",
)
def test_the_installed_wheel_is_what_runs() -> None:
    prefix = os.path.realpath(os.environ["FASTZIPS3_EXPECT_INSTALLED_IN"])
    package = os.path.realpath(fastzips3.__file__)
    assert package.startswith(prefix + os.sep), f"fastzips3 imported from {package}"
    if fastzips3._accel.CORE is not None:
        core = os.path.realpath(fastzips3._accel.CORE.__file__ or "")
        assert core.startswith(prefix + os.sep), f"the core imported from {core}"


def test_no_extensions_switch_acts_at_run_time() -> None:
    result = _run(
        "import fastzips3, fastzips3._accel as a; i = fastzips3.core_info();"
        "print(i.compiled, a.CORE is None, i.reason)",
        FASTZIPS3_NO_EXTENSIONS="1",
        FASTZIPS3_REQUIRE_EXTENSIONS="1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(maxsplit=2) == ["False", "True", "FASTZIPS3_NO_EXTENSIONS is set\n"]


def test_version_names_the_implementation() -> None:
    info = fastzips3.core_info()
    result = _run("from fastzips3.cli import main; main(['--version'])")
    assert result.returncode == 0, result.stderr
    text = result.stdout.strip()
    assert text.startswith(f"fastzips3 {fastzips3.__version__} ")
    if info.compiled:
        assert f"ISA-L {info.isal_version}" in text
        assert f"zlib {info.zlib_version}" in text
    else:
        assert "pure-Python" in text
        assert info.reason in text


@pytest.mark.skipif(NO_EXTENSIONS, reason="the compiled core is switched off")
def test_version_names_the_isal_version_in_ci() -> None:
    if not fastzips3.core_info().compiled:
        if REQUIRE_ALL:
            pytest.fail("the compiled core is not active under FASTZIPS3_REQUIRE_ALL=1")
        pytest.skip("the compiled core is not built")
    result = _run("from fastzips3.cli import main; main(['--version'])")
    assert re.search(r"ISA-L \d+\.\d+\.\d+", result.stdout), result.stdout


def test_required_core_missing_raises_a_clear_import_error() -> None:
    result = _run(HIDE_CORE, FASTZIPS3_REQUIRE_EXTENSIONS="1", FASTZIPS3_NO_EXTENSIONS=None)
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert "FASTZIPS3_REQUIRE_EXTENSIONS=1" in result.stderr
    assert "compiled core is required" in result.stderr
    assert "hidden by the test" in result.stderr


def test_missing_core_falls_back_when_not_required() -> None:
    result = _run(HIDE_CORE, FASTZIPS3_REQUIRE_EXTENSIONS=None, FASTZIPS3_NO_EXTENSIONS=None)
    assert result.returncode == 0, result.stderr
    compiled, core_is_none, reason = result.stdout.split(maxsplit=2)
    assert (compiled, core_is_none) == ("False", "True")
    assert "not built" in reason


def _setuptools_major() -> int:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return int(version("setuptools").split(".")[0])
    except (PackageNotFoundError, ValueError):
        return 0


#: setup.py runs here with this environment's setuptools; pyproject.toml needs 77+ (PEP 639).
needs_setup_py = pytest.mark.skipif(
    not SETUP_PY.is_file() or _setuptools_major() < 77,
    reason="needs setup.py (absent in a run against an installed wheel) and setuptools>=77",
)


def _setup_py(*args: str, **env: str | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SETUP_PY), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=SETUP_PY.parent,
        env=_child_env(**env),
    )


@needs_setup_py
def test_build_without_isal_stops_and_says_what_to_do(tmp_path: Path) -> None:
    result = _setup_py("--name", FASTZIPS3_ISAL_PREFIX=str(tmp_path), FASTZIPS3_NO_EXTENSIONS="")
    assert result.returncode == 1
    assert f"FASTZIPS3_ISAL_PREFIX={tmp_path} holds no include/isa-l.h" in result.stderr
    assert "ci/build_isal.sh" in result.stderr


@needs_setup_py
def test_build_with_no_extensions_needs_no_isal(tmp_path: Path) -> None:
    result = _setup_py("--name", FASTZIPS3_ISAL_PREFIX=str(tmp_path), FASTZIPS3_NO_EXTENSIONS="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "fastzips3"

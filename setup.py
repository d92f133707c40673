"""Build fastzips3's compiled core, ``fastzips3._core`` (Cython, linked against ISA-L and zlib).

Everything else about the package (name, dependencies, entry points) is in ``pyproject.toml``;
this file only describes the extension and finds the C libraries it needs.

Where ISA-L comes from, first match wins:

1. ``FASTZIPS3_ISAL_PREFIX=/some/prefix``: ``include/isa-l.h`` and ``lib/libisal.a`` (linked
   statically, what the wheel builds in ``ci/`` do) or ``lib/libisal.so``/``.dylib``/``isal.lib``.
2. ``pkg-config libisal`` (Debian's ``libisal-dev``, Homebrew's ``isa-l``, conda's ``isa-l``).
3. The usual prefixes: ``$CONDA_PREFIX``, ``/opt/homebrew``, ``/usr/local``, ``/usr``.

Without ISA-L the build stops and says what to install, unless ``FASTZIPS3_NO_EXTENSIONS=1`` is
set: then the package installs without its compiled core and runs on its pure-Python reference
implementation (as on PyPy, where the extension is never built).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent
NO_EXTENSIONS = os.environ.get("FASTZIPS3_NO_EXTENSIONS", "") not in ("", "0")
WINDOWS = sys.platform == "win32"

MISSING_ISAL = """
fastzips3: ISA-L (the Intel Storage Acceleration Library) was not found, so the compiled core
cannot be built. Install its development files, then build again:

    Debian/Ubuntu:  apt-get install libisal-dev
    Fedora/RHEL:    dnf install isa-l-devel
    macOS:          brew install isa-l
    conda:          conda install -c conda-forge isa-l

or point FASTZIPS3_ISAL_PREFIX at a prefix holding include/isa-l.h and lib/libisal.*, or set
FASTZIPS3_NO_EXTENSIONS=1 to install the (slower) pure-Python implementation instead.
"""


class IsalNotFoundError(RuntimeError):
    """ISA-L's headers or library could not be found."""


def _from_prefix(prefix: Path) -> dict[str, list[str]] | None:
    include = prefix / "include"
    if not (include / "isa-l.h").is_file():
        return None
    for libdir in (prefix / "lib", prefix / "lib64", prefix / "lib" / "x86_64-linux-gnu"):
        static = libdir / ("isa-l_static.lib" if WINDOWS else "libisal.a")
        if static.is_file() and os.environ.get("FASTZIPS3_ISAL_SHARED") != "1":
            return {"include_dirs": [str(include)], "extra_objects": [str(static)]}
        for name in ("isa-l.lib", "libisal.so", "libisal.dylib"):
            if (libdir / name).is_file():
                return {
                    "include_dirs": [str(include)],
                    "library_dirs": [str(libdir)],
                    "libraries": ["isa-l" if WINDOWS else "isal"],
                }
    return None


def _from_pkg_config() -> dict[str, list[str]] | None:
    if shutil.which("pkg-config") is None:
        return None
    try:
        cflags = subprocess.run(
            ["pkg-config", "--cflags", "libisal"], capture_output=True, text=True, check=True
        ).stdout.split()
        libs = subprocess.run(
            ["pkg-config", "--libs", "libisal"], capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return None
    found: dict[str, list[str]] = {"include_dirs": [], "library_dirs": [], "libraries": []}
    for flag in cflags:
        if flag.startswith("-I"):
            found["include_dirs"].append(flag[2:])
    for flag in libs:
        if flag.startswith("-L"):
            found["library_dirs"].append(flag[2:])
        elif flag.startswith("-l"):
            found["libraries"].append(flag[2:])
    include_dirs = found["include_dirs"] or ["/usr/include", "/usr/local/include"]
    if not any((Path(d) / "isa-l.h").is_file() for d in include_dirs):
        return None
    return found


def find_isal() -> dict[str, list[str]]:
    """Compiler and linker settings for ISA-L, or :class:`IsalNotFoundError`."""
    explicit = os.environ.get("FASTZIPS3_ISAL_PREFIX")
    if explicit:
        found = _from_prefix(Path(explicit))
        if found is None:
            raise IsalNotFoundError(
                f"fastzips3: FASTZIPS3_ISAL_PREFIX={explicit} holds no include/isa-l.h and "
                "lib/libisal.*; build ISA-L there with `ci/build_isal.sh PREFIX`, or unset the "
                "variable to search pkg-config and the usual prefixes"
            )
        return found
    found = _from_pkg_config()
    if found is not None:
        return found
    prefixes = [os.environ.get("CONDA_PREFIX", ""), "/opt/homebrew", "/usr/local", "/usr"]
    if WINDOWS and os.environ.get("CONDA_PREFIX"):
        prefixes.insert(0, str(Path(os.environ["CONDA_PREFIX"]) / "Library"))
    for prefix in filter(None, prefixes):
        found = _from_prefix(Path(prefix))
        if found is not None:
            return found
    raise IsalNotFoundError(MISSING_ISAL)


def zlib_settings() -> dict[str, list[str]]:
    """zlib for checkpoint building: the system one, or a prefix named by FASTZIPS3_ZLIB_PREFIX."""
    prefix = os.environ.get("FASTZIPS3_ZLIB_PREFIX")
    if prefix:
        root = Path(prefix)
        static = root / "lib" / ("zlibstatic.lib" if WINDOWS else "libz.a")
        if static.is_file():
            return {"include_dirs": [str(root / "include")], "extra_objects": [str(static)]}
        return {
            "include_dirs": [str(root / "include")],
            "library_dirs": [str(root / "lib")],
            "libraries": ["zlib" if WINDOWS else "z"],
        }
    return {"libraries": ["zlib" if WINDOWS else "z"]}


def _merge(*settings: dict[str, list[str]]) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for one in settings:
        for key, values in one.items():
            merged.setdefault(key, []).extend(values)
    return merged


def extensions() -> list[object]:
    """The compiled core, or nothing (FASTZIPS3_NO_EXTENSIONS=1, or PyPy)."""
    if NO_EXTENSIONS or platform.python_implementation() != "CPython":
        return []
    try:
        isal = find_isal()
    except IsalNotFoundError as exc:
        sys.stderr.write(f"{exc}\n")
        raise SystemExit(1) from None
    from Cython.Build import cythonize
    from setuptools import Extension

    compile_args = [] if WINDOWS else ["-O3", "-fno-strict-aliasing"]
    # The core's page-populating helper thread (Linux): old glibc keeps pthreads apart.
    link_args = ["-pthread"] if sys.platform.startswith("linux") else []
    settings = _merge(isal, zlib_settings())
    core = Extension(
        "fastzips3._core",
        sources=["src/fastzips3/_core.pyx"],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        **settings,  # type: ignore[arg-type]
    )
    return list(
        cythonize(
            [core],
            compiler_directives={
                "language_level": "3",
                "boundscheck": False,
                "wraparound": False,
                "cdivision": True,
                "initializedcheck": False,
                "embedsignature": True,
            },
            include_path=["src"],
        )
    )


setup(ext_modules=extensions())

"""``import fastzips3`` stays cheap: pinned by what it imports, never by a clock.

The CLI starts with ``import fastzips3``, so every module imported with the package is paid by
every command. ``benchmarks/import_time.py`` measures the time; these tests pin the causes.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "fastzips3"

#: Not imported by ``import fastzips3`` (in a fresh interpreter): transports and extras load
#: with their first use, and typing helpers only under TYPE_CHECKING.
NOT_IMPORTED = (
    "boto3",
    "botocore",
    "urllib3",
    "fsspec",
    "s3fs",
    "cryptography",
    "platformdirs",
    "typing_extensions",
    "http.client",
    "ssl",
    "asyncio",
    "email",
    "argparse",
    "multiprocessing",
    "urllib.request",
)

#: Modules that the engine, the sources and the path/extract layers import only where they
#: are used: together about 12 ms of ``import fastzips3`` (logging alone 4 ms, through
#: concurrent.futures).
DEFERRED = frozenset(
    {
        "concurrent",
        "concurrent.futures",
        "logging",
        "json",
        "hashlib",
        "tempfile",
        "random",
        "shutil",
        "weakref",
        "unicodedata",
        "ctypes",
        "subprocess",
        "typing_extensions",
        "boto3",
        "botocore",
        "urllib3",
        "fsspec",
    }
)

#: Module files held to :data:`DEFERRED`. ``sources/http.py`` and ``sources/fsspec.py`` are
#: transports imported on first use, and ``fsspec.py`` is the fsspec filesystem itself.
LEAN_MODULES = (
    "errors.py",
    "_engine/cache.py",
    "_engine/diskcache.py",
    "_engine/engine.py",
    "_engine/pipeline.py",
    "_engine/prefetch.py",
    "_engine/retry.py",
    "_engine/stats.py",
    "sources/base.py",
    "sources/local.py",
    "sources/memory.py",
    "sources/resolve.py",
    "sources/s3.py",
    "sources/write.py",
    "extract.py",
    "paths.py",
    "nested.py",
    "compat.py",
    "_listing.py",
    "_io.py",
)


def _module_level_imports(tree: ast.Module) -> set[str]:
    """Names imported when the module runs: top level and under ``if``/``try``, not under
    ``if TYPE_CHECKING`` and not inside functions."""
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
            elif isinstance(node, ast.If):
                if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)

    visit(tree.body)
    return found


@pytest.mark.parametrize("relpath", LEAN_MODULES)
def test_module_imports_heavy_modules_only_where_used(relpath: str) -> None:
    tree = ast.parse((SRC / relpath).read_text(encoding="utf-8"))
    eager = {name for name in _module_level_imports(tree) if name in DEFERRED}
    assert not eager, f"{relpath} imports {sorted(eager)} with the module; import them where used"


def test_import_fastzips3_leaves_heavy_modules_unimported() -> None:
    code = (
        f"import sys, fastzips3\nprint(' '.join(m for m in {NOT_IMPORTED!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == []

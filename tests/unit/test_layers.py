"""Imports flow one way: _format <- sources <- _engine <- archive <- facades."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "fastzips3"

# What each layer may import from fastzips3 (besides itself and errors).
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "_accel": {"_core"},
    "_format": {"_accel"},
    "_codecs": {"_accel"},
    "sources": set(),
    "_engine": {"sources"},
    "_decode": {"_codecs", "_engine"},
    "_io": set(),
    "member": {"_format", "_codecs", "_engine", "sources", "_decode", "_io"},
    "options": {"_engine", "sources"},
    "_listing": {"_engine", "_format", "sources"},
    "_indexing": {"_codecs", "_decode", "_engine", "_format", "member", "sources"},
    "archive": {
        "_format",
        "_codecs",
        "_engine",
        "sources",
        "member",
        "options",
        "_decode",
        "_listing",
        "_indexing",
    },
    "compat": {"_engine", "_format", "sources", "options", "_io"},
    "nested": {"_format", "archive", "sources"},
    "paths": {"_format", "archive", "compat", "nested", "options", "sources"},
    "fsspec": {"archive", "options"},
    "extract": {"_format", "archive"},
    "splits": {"_codecs", "_format", "archive", "options", "paths"},
    "_zipfile": {
        "_accel",
        "_engine",
        "_format",
        "archive",
        "extract",
        "member",
        "options",
        "sources",
    },
    "sinks": {"_accel", "_codecs", "_engine", "sources"},
    "writer": {"_accel", "_engine", "_format", "archive", "sinks", "sources"},
    "s3extract": {"_engine", "_format", "archive", "extract", "sinks", "sources"},
    "cli": {"extract"},
    # Dask over many archives: plans from the manifest, reads through archive/splits/extract;
    # _engine only to wait for the directory cache's background writes before tasks run.
    "_manifest": {"_engine", "_format", "archive", "options", "sources"},
    "dask": {"_engine", "_manifest", "archive", "extract", "options", "s3extract", "splits"},
    "__main__": {"cli"},
}


def _layer(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] == "fastzips3" and len(parts) > 1:
                out.add(parts[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "fastzips3" and len(parts) > 1:
                    out.add(parts[1])
    return out


FILES = sorted(p for p in SRC.rglob("*.py") if _layer(p) in ALLOWED)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_flow_one_way(path: Path) -> None:
    layer = _layer(path)
    imported = {m.removesuffix(".py") for m in _imports(path)} - {layer, "errors"}
    forbidden = imported - ALLOWED[layer]
    assert not forbidden, f"{path.relative_to(SRC)} ({layer}) imports {sorted(forbidden)}"


def test_format_layer_does_no_io() -> None:
    banned = {"socket", "urllib3", "boto3", "botocore", "threading", "time", "logging", "os"}
    for path in (SRC / "_format").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split(".")[0]]
            assert not banned.intersection(names), f"{path.name} imports {names}"

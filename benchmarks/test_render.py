"""render.py on a small hand-made pytest-benchmark document (no timing involved)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import render


def _bench(group: str, name: str, role: str, median: float, low: float) -> dict[str, Any]:
    return {
        "group": group,
        "name": name,
        "extra_info": {"label": name.removeprefix("test_"), "role": role},
        "stats": {"median": median, "min": low, "max": median * 2, "rounds": 3},
    }


DOC: dict[str, Any] = {
    "datetime": "2026-12-07T01:00:00.000000+00:00",
    "machine_info": {"python_version": "3.11.7", "cpu": {"count": 2, "brand_raw": "cpu"}},
    "commit_info": {"id": "0123456789abcdef", "dirty": False},
    "fastzips3": {"scale": "small", "core": "active"},
    "benchmarks": [
        _bench("deflate", "test_deflate_zipfile", "zipfile", 3.0, 2.0),
        _bench("deflate", "test_deflate_isal_baseline", "isal", 1.5, 1.0),
        _bench("deflate", "test_deflate_fastzips3", "fastzips3", 1.0, 1.0),
        _bench("s3", "test_peer_a", "zipfile", 0.4, 0.4),
        _bench("s3", "test_peer_b", "zipfile", 0.2, 0.2),
        _bench("s3", "test_ours", "fastzips3", 0.1, 0.1),
    ],
}


def test_ratios_and_floors(tmp_path: Path) -> None:
    """Ratios are reference / case; the fastest zipfile peer is the reference; floors checked."""
    path = tmp_path / "b.json"
    path.write_text(json.dumps(DOC))
    doc, cases = render.load(path)
    text = render.render(doc, cases)
    assert "| deflate member, read() vs zipfile read() | 3.00x (1.00 s vs 3.00 s) | 2.00x" in text
    assert "| deflate member, read() vs python-isal + zlib.crc32 | 1.50x" in text
    assert "listing, native API | not measured" in text
    assert "vs zipfile (fastest)" in text
    assert "| ours | **100 ms** | 100 ms-200 ms | 3 | 2.00x |" in text
    assert "| peer_a | 400 ms | 400 ms-800 ms | 3 | 0.50x |" in text


def test_readme_markers() -> None:
    """Only the text between the markers changes; missing markers are an error."""
    text = f"a\n{render.START}\nold\n{render.END}\nb\n"
    assert render.replace_between_markers(text, "new\n") == (
        f"a\n{render.START}\nnew\n{render.END}\nb\n"
    )
    with pytest.raises(ValueError, match="markers"):
        render.replace_between_markers("no markers", "x")

"""The compiled directory parser against the pure-Python reference, over the whole corpus.

Every file of the shared corpus (fuzz seeds and auxiliary files included) is listed by both
implementations in one process, fed whole and as a short tail (so the plan asks for more), and
with a ``metadata_encoding``: the directories must be identical, field by field, or both must
raise the same error with the same message and offset.
"""

from __future__ import annotations

import os

import pytest

from fastzips3._accel import CORE
from tests.helpers.directory import list_with

from .conftest import require_corpus, skip_unless_required

pytestmark = pytest.mark.corpus

NO_EXTENSIONS = os.environ.get("FASTZIPS3_NO_EXTENSIONS", "") not in ("", "0")


def test_both_implementations_list_every_corpus_file_alike() -> None:
    corpus = require_corpus()
    if CORE is None:
        if NO_EXTENSIONS:
            pytest.skip("FASTZIPS3_NO_EXTENSIONS=1: the compiled core is off, nothing to compare")
        skip_unless_required(
            "the compiled core is not built: nothing to compare the pure one with."
        )
    files = sorted(p for p in (corpus.root / "files").rglob("*") if p.is_file())
    assert len(files) >= 1300, f"the corpus holds only {len(files)} files"
    differences: list[str] = []
    outcomes = {"listed": 0, "error": 0}
    for path in files:
        data = path.read_bytes()
        for tail, encoding in ((None, None), (64, None), (None, "shift_jis")):
            pure = list_with(data, None, tail=tail, metadata_encoding=encoding)
            compiled = list_with(data, CORE, tail=tail, metadata_encoding=encoding)
            if pure != compiled:
                differences.append(
                    f"{path.relative_to(corpus.root)} (tail {tail}, {encoding}): pure "
                    f"{_short(pure)}, compiled {_short(compiled)}"
                )
            if tail is None and encoding is None:
                outcomes["listed" if hasattr(pure, "directory") else "error"] += 1
    assert not differences, "\n".join(differences[:20])
    # Both kinds of result were compared, not one of them only.
    assert outcomes["listed"] > 300 and outcomes["error"] > 100, outcomes


def _short(result: object) -> str:
    text = repr(result)
    return text if len(text) < 300 else text[:300] + "..."

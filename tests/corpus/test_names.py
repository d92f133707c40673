"""Names from the corpus that an APPNOTE-strict reader gets wrong, decoded as their tools meant.

macOS Archive Utility writes UTF-8 names without flag bit 11 (``utf8-osx.zip``, in the Go and
rc-zip copies); ``shift-jis.zip`` holds Shift-JIS names, readable with ``metadata_encoding``.
"""

from __future__ import annotations

import pytest

import fastzips3
from fastzips3._accel import CORE
from tests.helpers.directory import Listing, list_with

from .conftest import Corpus

pytestmark = pytest.mark.corpus

IMPLEMENTATIONS = [pytest.param(None, id="pure")]
if CORE is not None:
    IMPLEMENTATIONS.append(pytest.param(CORE, id="compiled"))

SHIFT_JIS = [
    "should-be-jis/ot_運命のワルツﾈぞなぞ小さな楽しみ遊びま.longboi",
    "should-be-jis/",
]


@pytest.mark.parametrize("path", ["go-via-klauspost/utf8-osx.zip", "rc-zip/utf8-osx.zip"])
@pytest.mark.parametrize("core", IMPLEMENTATIONS)
def test_unflagged_utf8_names_of_macos(corpus: Corpus, path: str, core: object) -> None:
    data = (corpus.root / "files" / path).read_bytes()
    listing = list_with(data, core)  # type: ignore[arg-type]
    assert isinstance(listing, Listing)
    assert [e.name for e in listing.directory.entries] == ["世界"]
    assert not listing.directory.entries[0].flag_bits & 0x800


@pytest.mark.parametrize("core", IMPLEMENTATIONS)
def test_shift_jis_names_with_metadata_encoding(corpus: Corpus, core: object) -> None:
    data = (corpus.root / "files" / "rc-zip" / "shift-jis.zip").read_bytes()
    listing = list_with(data, core, metadata_encoding="shift_jis")  # type: ignore[arg-type]
    assert isinstance(listing, Listing)
    assert [e.name for e in listing.directory.entries] == SHIFT_JIS
    unasked = list_with(data, core)  # type: ignore[arg-type]
    assert isinstance(unasked, Listing)
    assert [e.name for e in unasked.directory.entries] != SHIFT_JIS  # CP437 without the option


def test_shift_jis_through_open_archive(corpus: Corpus) -> None:
    path = corpus.root / "files" / "rc-zip" / "shift-jis.zip"
    with fastzips3.open_archive(path, metadata_encoding="shift-jis") as archive:
        assert archive.namelist() == SHIFT_JIS
        assert archive.read(SHIFT_JIS[0]) == b""

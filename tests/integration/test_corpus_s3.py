"""A sample of the conformance corpus read through S3: the same results as the local source.

Every ``ok`` archive whose origin states its members, and every ``error`` archive, is uploaded
to the SeaweedFS server; reading it through ``s3://`` must give the same entries, the same
content and the same error class as reading the local file, and list in one request.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import fastzips3
from fastzips3.errors import FastZipS3Error
from tests.corpus.conftest import CorpusCase, require_corpus

if TYPE_CHECKING:
    from fastzips3.testing import CountingProxy, LocalS3Server

_BUDGET = 16 << 20


def _summary(target: object, **options: object) -> tuple[object, ...]:
    """What a reader makes of an archive: entries and content CRCs, or the error class."""
    try:
        with fastzips3.open_archive(target, **options) as archive:  # type: ignore[arg-type]
            rows: list[tuple[object, ...]] = []
            for entry in archive.entries():
                row: tuple[object, ...] = (entry.name, entry.file_size, entry.crc)
                if entry.file_size <= _BUDGET:
                    try:
                        row += (zlib.crc32(archive.read(entry)),)
                    except FastZipS3Error as exc:
                        row += (type(exc).__name__,)
                rows.append(row)
            return ("ok", *rows)
    except FastZipS3Error as exc:
        return ("error", type(exc).__name__)


def _sample(cases: tuple[CorpusCase, ...]) -> list[CorpusCase]:
    ok = [c for c in cases if c.outcome == "ok" and c.expect.members]
    errors = [c for c in cases if c.outcome == "error"]
    return ok + errors


def test_corpus_sample_reads_the_same_through_s3(
    s3_server: LocalS3Server, s3_proxy: CountingProxy
) -> None:
    corpus = require_corpus()
    sample = _sample(corpus.cases)
    assert len(sample) >= 40
    direct = s3_server.client()
    client = s3_server.client(endpoint_url=s3_proxy.url)
    mismatches = []
    try:
        for case in sample:
            key = f"corpus/{case.path}"
            direct.put_object(Bucket="test", Key=key, Body=case.file.read_bytes())
            local = _summary(case.file)
            s3_proxy.reset()
            remote = _summary(f"s3://test/{key}", s3_client=client)
            if remote != local:
                mismatches.append(f"{case.path}: local {local!r} != s3 {remote!r}")
            if local[0] == "ok" and s3_proxy.records:
                first = s3_proxy.records[0]
                if first.range_header is None or not first.range_header.startswith("bytes=-"):
                    mismatches.append(f"{case.path}: first request was {first}")
    finally:
        direct.close()
        client.close()
    assert not mismatches, "\n".join(mismatches)

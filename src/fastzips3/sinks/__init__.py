"""Sinks: where written bytes go (the mirror of :mod:`fastzips3.sources`).

A sink writes and never serializes ZIP records: the writer hands it bytes, asks it to keep a
range patchable until the values that belong there are known, and to place a byte range of an
existing S3 object server-side. ``s3.py`` streams a multipart upload; ``local.py`` writes a
temporary file and renames it at the end. Nothing becomes visible before :meth:`commit`, and
any failure aborts (no half-written object, no open multipart upload).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastzips3._engine.retry import RetryPolicy
    from fastzips3.sinks.local import LocalSink
    from fastzips3.sinks.s3 import MultipartSink

__all__ = ["open_sink"]


def open_sink(
    target: str | os.PathLike[str],
    *,
    options: dict[str, Any] | None = None,
    overwrite: bool = True,
    if_match: str | None = None,
    workers: int = 4,
    part_size: int | None = None,
    retries: RetryPolicy | None = None,
    size_hint: int | None = None,
) -> MultipartSink | LocalSink:
    """The sink for ``target``: ``s3://`` (a multipart upload, on the shared client that the
    source options describe) or a local path / ``file://`` URL."""
    from fastzips3.sources.resolve import is_url

    text = os.fspath(target)
    opts: dict[str, Any] = dict(options or {})
    if text.startswith("s3://"):
        from fastzips3.sinks.s3 import DEFAULT_PART, MultipartSink
        from fastzips3.sources.resolve import s3_config
        from fastzips3.sources.s3 import s3_client

        config = s3_config(opts, max_pool_connections=max(32, 2 * workers + 4))  # type: ignore[arg-type]
        client = opts.get("s3_client") or s3_client(config)
        secrets = tuple(
            s for s in (config.aws_secret_access_key, config.aws_session_token) if s and len(s) >= 4
        )
        return MultipartSink(
            text,
            client=client,
            part_size=part_size or DEFAULT_PART,
            workers=workers,
            retries=retries,
            if_match=if_match,
            if_none_match=not overwrite and if_match is None,
            secrets=secrets,
            size_hint=size_hint,
        )
    if is_url(text) and not text.startswith("file://"):
        from fastzips3.errors import UnsupportedError

        raise UnsupportedError(f"fastzips3 writes to s3:// and local paths, not {text!r}")
    from urllib.parse import unquote, urlparse

    from fastzips3.sinks.local import LocalSink

    path = unquote(urlparse(text).path) if text.startswith("file://") else text
    return LocalSink(path, overwrite=overwrite)

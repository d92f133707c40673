"""Writing one small object (an index sidecar): a local file, atomically, or an S3 object."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from fastzips3.errors import SourceError
from fastzips3.sources.resolve import SourceOptions, is_url

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["write_object"]


def write_object(target: str, data: bytes, **options: Unpack[SourceOptions]) -> None:
    """Write ``data`` to a local path, ``file://`` URL or ``s3://`` URL (one PUT)."""
    if target.startswith("s3://"):
        from fastzips3.sources.s3 import S3Config, parse_s3_url, s3_client

        bucket, key = parse_s3_url(target)
        client = options.get("s3_client") or s3_client(
            S3Config(
                endpoint_url=options.get("endpoint_url"),
                profile=options.get("profile"),
                region=options.get("region"),
                anonymous=options.get("anonymous", False),
                aws_access_key_id=options.get("aws_access_key_id"),
                aws_secret_access_key=options.get("aws_secret_access_key"),
                aws_session_token=options.get("aws_session_token"),
            )
        )
        try:
            client.put_object(Bucket=bucket, Key=key, Body=data)
        except Exception as exc:  # botocore's errors, at the boundary
            raise SourceError(f"could not write the object: {exc}", url=target) from exc
        return
    if is_url(target) and not target.startswith("file://"):
        raise SourceError("fastzips3 writes sidecars to local paths and s3:// only", url=target)
    import tempfile

    path = Path(target[7:] if target.startswith("file://") else target)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

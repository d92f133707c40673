"""Choosing the source for a URL or path, and the options each kind of source takes."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import unquote, urlparse

from fastzips3.sources.base import Source
from fastzips3.sources.s3 import S3Config, S3Source  # up front: it does not import boto3

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["SourceOptions", "is_url", "open_source", "s3_config", "source_option_names"]

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")


class SourceOptions(TypedDict, total=False):
    """Options that choose and configure the byte source. All are optional.

    S3 options use the AWS CLI's names: ``endpoint_url``, ``profile``, ``region``, ``anonymous``
    (``--no-sign-request``), ``requester_pays``, ``version_id``; explicit credentials
    (``aws_access_key_id``, ``aws_secret_access_key``, ``aws_session_token``) override the AWS
    configuration; ``s3_client`` passes a ready botocore client. ``headers`` go with every
    HTTP request. ``storage_options`` go to fsspec. ``connect_timeout`` and ``read_timeout``
    (seconds, default 10 and 60) bound each connection attempt and each wait for data.
    ``max_unranged_size`` (bytes, default 64 MiB): an HTTP server that ignores ``Range`` sends
    the whole archive in answer to the first request; up to this size it is kept and the
    archive is read from memory with no further request, past it the open fails at once with
    :class:`~fastzips3.errors.RangeNotSupportedError` (0: never keep a whole body).
    """

    endpoint_url: str
    profile: str
    region: str
    anonymous: bool
    aws_access_key_id: str
    aws_secret_access_key: str
    aws_session_token: str
    requester_pays: bool
    version_id: str
    s3_client: Any
    headers: Mapping[str, str]
    storage_options: dict[str, Any]
    connect_timeout: float
    read_timeout: float
    max_unranged_size: int


def source_option_names() -> frozenset[str]:
    """The keys of :class:`SourceOptions`."""
    return frozenset(SourceOptions.__annotations__)


def s3_config(options: SourceOptions, *, max_pool_connections: int | None = None) -> S3Config:
    """The :class:`S3Config` that ``options`` describe (``s3_client`` aside).

    ``max_pool_connections`` sizes the shared client's connection pool (default 32): a caller
    that keeps more requests in flight at once (the manifest of many archives) asks for more.
    """
    config = S3Config(
        endpoint_url=options.get("endpoint_url"),
        profile=options.get("profile"),
        region=options.get("region"),
        anonymous=options.get("anonymous", False),
        aws_access_key_id=options.get("aws_access_key_id"),
        aws_secret_access_key=options.get("aws_secret_access_key"),
        aws_session_token=options.get("aws_session_token"),
        connect_timeout=options.get("connect_timeout", 10.0),
        read_timeout=options.get("read_timeout", 60.0),
    )
    if max_pool_connections is not None and max_pool_connections > config.max_pool_connections:
        config = dataclasses.replace(config, max_pool_connections=max_pool_connections)
    return config


def is_url(text: str) -> bool:
    """True when ``text`` starts with a ``scheme://``."""
    return bool(_SCHEME.match(text))


def open_source(
    target: str | os.PathLike[str] | Source, **options: Unpack[SourceOptions]
) -> Source:
    """The source for ``target``: an s3://, http(s)://, file:// or fsspec URL, or a local path.

    A ready :class:`Source` is returned as is.
    """
    if not isinstance(target, (str, os.PathLike)):
        return target
    text = os.fspath(target)
    m = _SCHEME.match(text)
    scheme = m.group(1).lower() if m else ""
    if scheme == "s3":
        return S3Source(
            text,
            config=s3_config(options),
            client=options.get("s3_client"),
            version_id=options.get("version_id"),
            requester_pays=options.get("requester_pays", False),
        )
    if scheme in ("http", "https"):
        from fastzips3.sources.http import DEFAULT_MAX_UNRANGED_SIZE, HTTPSource

        return HTTPSource(
            text,
            headers=options.get("headers"),
            connect_timeout=options.get("connect_timeout", 10.0),
            read_timeout=options.get("read_timeout", 60.0),
            max_unranged_size=options.get("max_unranged_size", DEFAULT_MAX_UNRANGED_SIZE),
        )
    if scheme == "file":
        from fastzips3.sources.local import LocalSource

        return LocalSource(unquote(urlparse(text).path))
    if scheme:
        from fastzips3.sources.fsspec import FsspecSource

        return FsspecSource(text, storage_options=options.get("storage_options"))
    from fastzips3.sources.local import LocalSource

    return LocalSource(text)

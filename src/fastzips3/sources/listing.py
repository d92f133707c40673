"""Expanding a glob of archives into their URLs: S3 prefix listings, local paths, fsspec.

This module lists; it never opens or parses an archive. One rule matches everywhere (S3 keys,
local paths, fsspec paths), and it is anchored: the whole key or path must match.

- ``*`` matches any run of characters except ``/``, so ``s3://b/exports/*.zip`` finds
  ``exports/a.zip`` and not ``exports/2024/a.zip``;
- ``**`` matches any run of characters, ``/`` included; ``**/`` matches zero or more whole
  directories, so ``s3://b/exports/**/*.zip`` finds ``exports/a.zip`` and
  ``exports/2024/01/a.zip``;
- ``?`` matches one character except ``/``; ``[abc]``, ``[a-z]`` and ``[!abc]`` match one
  character (not ``/``) of, or not of, a set, as :mod:`fnmatch` does;
- matching is case-sensitive, and a leading dot is an ordinary character (``*`` matches
  ``.hidden.zip``, unlike a shell).

This is the shell's rule (and ``pathlib``'s, and fsspec's), not the AWS CLI's
``--include``/``--exclude`` rule, where ``*`` also crosses ``/``: write ``**`` for that.

S3: one ListObjectsV2 request per 1,000 keys, from the longest literal prefix of the key
pattern (everything before the first wildcard). When no wildcard can cross a ``/`` (no ``**``,
no ``/`` after the first wildcard), the listing also passes ``Delimiter="/"``, so keys deeper
than the pattern are never listed, as ``aws s3 ls s3://b/exports/`` does. Keys come back in
S3's order (UTF-8 binary), and keys ending in ``/`` (folder markers) are left out.

Local paths: a walk from the literal prefix's directory, no deeper than the pattern needs
(any depth with ``**``), not following symbolic links to directories. Paths are sorted.
``file://`` patterns give ``file://`` URLs. Other schemes (``gs://``, ``az://``, ``memory://``
...) list through fsspec's ``find`` and the same rule. HTTP(S) servers cannot be listed, and an
HTTP(S) URL is never a pattern (``?`` starts its query).

A pattern that matches nothing raises :class:`~fastzips3.errors.SourceNotFoundError` (also
:class:`FileNotFoundError`) that says what was listed, as a shell or ``aws s3 ls`` fail on a
pattern that matches nothing.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from fastzips3.errors import (
    LimitExceededError,
    SourceError,
    SourceNotFoundError,
    SourcePermissionError,
    UnsupportedError,
)
from fastzips3.sources.resolve import SourceOptions, s3_config
from fastzips3.sources.s3 import ListPage, list_objects_page, s3_client

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "DEFAULT_MAX_KEYS",
    "expand_glob",
    "glob_regex",
    "is_glob",
    "literal_prefix",
]

#: Most keys or paths one expansion lists before it gives up (10,000 ListObjectsV2 pages).
DEFAULT_MAX_KEYS = 10_000_000

_WILDCARDS = "*?["
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")

#: How one listing request is run: the caller passes its retry policy here.
Retry = Callable[[Callable[[], ListPage]], ListPage]


def _scheme(text: str) -> str:
    m = _SCHEME.match(text)
    return m.group(1).lower() if m else ""


def is_glob(text: str) -> bool:
    """True when ``text`` is a pattern: it has ``*``, ``?`` or ``[`` and is not an HTTP(S) URL."""
    if _scheme(text) in ("http", "https"):
        return False
    return any(c in text for c in _WILDCARDS)


def literal_prefix(pattern: str) -> str:
    """The part of ``pattern`` before its first wildcard (what an S3 listing starts from)."""
    for i, c in enumerate(pattern):
        if c in _WILDCARDS:
            return pattern[:i]
    return pattern


def _class(pattern: str, i: int) -> tuple[str, int] | None:
    """The regex of the ``[...]`` set at ``pattern[i]``, and the index after it; None when the
    ``[`` is not closed (then it is a literal character)."""
    j = i + 1
    if j < len(pattern) and pattern[j] == "!":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        j += 1  # a ']' first in the set is a member
    close = pattern.find("]", j)
    if close < 0:
        return None
    body = pattern[i + 1 : close]
    negate = body.startswith("!")
    if negate:
        body = body[1:]
    # Escape what a regex set treats specially (and what newer Pythons warn about as nested
    # sets or set operations); '-' keeps its meaning of a range.
    body = re.sub(r"([\\\[\]^&~|])", r"\\\1", body)
    return (f"[^/{body}]" if negate else f"(?!/)[{body}]"), close + 1


def glob_regex(pattern: str) -> re.Pattern[str]:
    """The anchored regex of ``pattern`` under the module's rule (see the module docstring)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            j = i
            while j < n and pattern[j] == "*":
                j += 1
            if j - i == 1:
                out.append("[^/]*")
            elif j < n and pattern[j] == "/" and (i == 0 or pattern[i - 1] == "/"):
                out.append("(?:.*/)?")  # '**/' as a whole segment: zero or more directories
                j += 1
            else:
                out.append(".*")
            i = j
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[" and (found := _class(pattern, i)) is not None:
            out.append(found[0])
            i = found[1]
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out), re.DOTALL)


def _crosses_slash(pattern: str) -> bool:
    """True when a wildcard of ``pattern`` may match keys deeper than its own ``/`` count."""
    rest = pattern[len(literal_prefix(pattern)) :]
    return "**" in pattern or "/" in rest


def expand_glob(
    pattern: str,
    *,
    retry: Retry | None = None,
    max_keys: int = DEFAULT_MAX_KEYS,
    **options: Unpack[SourceOptions],
) -> list[str]:
    """Every object or file that ``pattern`` matches, as URLs (or paths, for a local pattern).

    ``retry`` runs each listing request (the caller's retry policy; default: once). ``options``
    are the source options (``s3_client``, ``endpoint_url``, ``storage_options``...). More
    than ``max_keys`` keys listed raises :class:`~fastzips3.errors.LimitExceededError`; no
    match raises :class:`~fastzips3.errors.SourceNotFoundError`.
    """
    scheme = _scheme(pattern)
    if scheme in ("http", "https"):
        raise UnsupportedError(
            "an HTTP(S) server cannot be listed, so its URLs cannot be globbed: pass the "
            "archives' URLs as a list"
        )
    if scheme == "s3":
        return _expand_s3(pattern, retry, max_keys, options)
    if scheme == "file":
        path = unquote(urlparse(pattern).path)
        return [f"file://{p}" for p in _expand_local(path, max_keys, shown=pattern)]
    if scheme:
        return _expand_fsspec(pattern, max_keys, options)
    return _expand_local(pattern, max_keys, shown=pattern)


def _no_match(pattern: str, where: str, seen: int) -> SourceNotFoundError:
    things = "key" if pattern.startswith("s3://") else "path"
    return SourceNotFoundError(
        f"no archive matches the pattern ({seen} {things}{'s' if seen != 1 else ''} listed "
        f"under {where!r}; '*' does not cross '/', '**' does)",
        url=pattern,
    )


def _too_many(pattern: str, max_keys: int) -> LimitExceededError:
    return LimitExceededError(
        f"expanding {pattern!r} listed more than max_keys={max_keys:,} keys: narrow the "
        "pattern's literal prefix, or raise max_keys"
    )


# --- S3 -----------------------------------------------------------------------------------


def _expand_s3(
    pattern: str, retry: Retry | None, max_keys: int, options: SourceOptions
) -> list[str]:
    bucket, _, key_pattern = pattern[5:].partition("/")
    if not bucket:
        raise ValueError(f"an S3 pattern needs a bucket: {pattern!r}")
    if is_glob(bucket):
        raise ValueError(f"bucket names cannot be patterns, only keys: {pattern!r}")
    client = options.get("s3_client") or s3_client(s3_config(options))
    prefix = literal_prefix(key_pattern)
    regex = glob_regex(key_pattern)
    delimiter = None if _crosses_slash(key_pattern) else "/"
    requester_pays = options.get("requester_pays", False)
    run: Retry = retry if retry is not None else (lambda call: call())
    matches: list[str] = []
    seen = 0
    token: str | None = None
    tokens: set[str] = set()
    for _ in range(max_keys // 1000 + 2):  # bounded: a page holds at most 1,000 keys
        page = run(
            functools.partial(
                list_objects_page,
                client,
                bucket,
                prefix,
                token=token,
                delimiter=delimiter,
                requester_pays=requester_pays,
            )
        )
        seen += len(page.objects)
        if seen > max_keys:
            raise _too_many(pattern, max_keys)
        for key, _size in page.objects:
            if not key.endswith("/") and regex.fullmatch(key):
                matches.append(f"s3://{bucket}/{key}")
        token = page.next_token
        if token is None:
            break
        if token in tokens:
            raise SourceError(
                "S3 returned the same continuation token twice; the listing would not end",
                url=f"s3://{bucket}/{prefix}",
            )
        tokens.add(token)
    else:
        raise _too_many(pattern, max_keys)
    if not matches:
        raise _no_match(pattern, f"s3://{bucket}/{prefix}", seen)
    return matches


# --- local files --------------------------------------------------------------------------


def _walk(top: str, max_depth: int | None) -> Iterator[str]:
    """Every file under ``top`` (paths joined with '/'), at most ``max_depth`` directories
    down; symbolic links to directories are not followed."""
    stack: list[tuple[str, int]] = [(top, 0)]
    while stack:
        directory, depth = stack.pop()
        try:
            with os.scandir(directory or ".") as it:
                entries = list(it)
        except FileNotFoundError:
            continue
        except PermissionError as exc:
            raise SourcePermissionError("permission denied", url=directory or ".") from exc
        except NotADirectoryError:
            continue
        for entry in entries:
            path = f"{directory}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                if max_depth is None or depth < max_depth:
                    stack.append((path + "/", depth + 1))
            elif entry.is_file():
                yield path


def _expand_local(pattern: str, max_keys: int, *, shown: str) -> list[str]:
    pattern = os.path.expanduser(pattern)
    if os.sep != "/":
        pattern = pattern.replace(os.sep, "/")
    prefix = literal_prefix(pattern)
    top = prefix[: prefix.rfind("/") + 1]  # the directory the walk starts from ('' = cwd)
    rest = pattern[len(top) :]
    max_depth = None if "**" in rest else rest.count("/")
    regex = glob_regex(pattern)
    matches: list[str] = []
    seen = 0
    for path in _walk(top, max_depth):
        seen += 1
        if seen > max_keys:
            raise _too_many(shown, max_keys)
        if regex.fullmatch(path):
            matches.append(path)
    if not matches:
        raise _no_match(shown, top or ".", seen)
    return sorted(matches)


# --- fsspec -------------------------------------------------------------------------------


def _expand_fsspec(pattern: str, max_keys: int, options: SourceOptions) -> list[str]:
    try:
        import fsspec
    except ImportError as exc:
        raise SourceError(
            f"listing {_scheme(pattern)}:// URLs needs fsspec: pip install fastzips3[fsspec]",
            url=pattern,
        ) from exc
    try:
        fs, path = fsspec.core.url_to_fs(pattern, **(options.get("storage_options") or {}))
    except (ImportError, ValueError) as exc:
        raise SourceError(f"cannot list {pattern}: {exc}", url=pattern) from exc
    prefix = literal_prefix(path)
    top = prefix[: prefix.rfind("/") + 1]
    rest = path[len(top) :]
    max_depth = None if "**" in rest else rest.count("/") + 1
    regex = glob_regex(path)
    try:
        found: Any = fs.find(top.rstrip("/") or top, maxdepth=max_depth, withdirs=False)
    except FileNotFoundError:
        found = []
    except PermissionError as exc:
        raise SourcePermissionError(f"access denied: {exc}", url=pattern) from exc
    except Exception as exc:  # fsspec back-ends raise anything; this is the boundary
        raise SourceError(f"listing failed: {type(exc).__name__}: {exc}", url=pattern) from exc
    paths = [str(p) for p in found]
    if len(paths) > max_keys:
        raise _too_many(pattern, max_keys)
    matches = sorted(fs.unstrip_protocol(p) for p in paths if regex.fullmatch(p))
    if not matches:
        raise _no_match(pattern, top, len(paths))
    return matches

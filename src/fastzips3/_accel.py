"""Whether fastzips3's compiled core is used, and which one: the only place that decides.

``CORE`` is the compiled module ``fastzips3._core`` when it is built and allowed, else None, and
then the pure-Python reference implementation runs (PyPy, a build with
``FASTZIPS3_NO_EXTENSIONS=1``, or that variable set at run time). ``FASTZIPS3_REQUIRE_EXTENSIONS=1``
turns a missing core into an ImportError, so CI can never fall back silently.

Pure: imports nothing from fastzips3 but the core itself.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import NamedTuple

__all__ = ["CORE", "CoreInfo", "core_info"]


class CoreInfo(NamedTuple):
    """Which implementation runs: ``fastzips3.core_info()`` and ``fastzips3 --version`` show it."""

    compiled: bool
    """True when the compiled core (Cython on ISA-L) is active."""
    isal_version: str | None
    """The ISA-L version the core was compiled against, when it is active."""
    zlib_version: str | None
    """The zlib version the core runs with, when it is active."""
    reason: str
    """Why the pure-Python implementation runs, or "" when the compiled core does."""


def _load() -> tuple[ModuleType | None, str]:
    if os.environ.get("FASTZIPS3_NO_EXTENSIONS", "") not in ("", "0"):
        return None, "FASTZIPS3_NO_EXTENSIONS is set"
    try:
        from fastzips3 import _core
    except ImportError as exc:
        if os.environ.get("FASTZIPS3_REQUIRE_EXTENSIONS", "") not in ("", "0"):
            raise ImportError(
                "fastzips3's compiled core is required (FASTZIPS3_REQUIRE_EXTENSIONS=1) but "
                f"cannot be imported: {exc}"
            ) from exc
        return None, f"the compiled core is not built ({exc})"
    return _core, ""


CORE, _REASON = _load()


def core_info() -> CoreInfo:
    """Which implementation runs, and the library versions the compiled core uses."""
    if CORE is None:
        return CoreInfo(False, None, None, _REASON)
    return CoreInfo(True, CORE.ISAL_VERSION, CORE.ZLIB_VERSION, "")

"""``python -m fastzips3``: the same as the ``fastzips3`` command (see :mod:`fastzips3.cli`)."""

from __future__ import annotations

from fastzips3.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

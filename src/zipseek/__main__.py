"""``python -m zipseek``: the same as the ``zipseek`` command (see :mod:`zipseek.cli`)."""

from __future__ import annotations

from zipseek.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

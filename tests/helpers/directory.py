"""Run the directory plan with one implementation or the other, for the differential tests."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from fastzips3._format.plan import ByteRange, Directory, DirectoryPlan
from fastzips3.errors import FastZipS3Error

__all__ = ["Failure", "Listing", "list_with"]


@dataclass(frozen=True)
class Failure:
    """A fastzips3 error, as comparable values (class, message, offset, record)."""

    kind: type[FastZipS3Error]
    message: str
    offset: int | None
    record: str | None


@dataclass(frozen=True)
class Listing:
    """Everything a Directory holds, including its lazily computed parts."""

    directory: Directory
    raw_names: frozenset[bytes]
    by_name: dict[str, object]


def list_with(
    data: bytes,
    core: ModuleType | None,
    *,
    tail: int | None = None,
    max_entries: int | None = None,
    metadata_encoding: str | None = None,
) -> Listing | Failure:
    """List ``data`` fed as a tail of ``tail`` bytes (default: all), then what the plan asks."""
    try:
        plan = DirectoryPlan(
            len(data), max_entries=max_entries, metadata_encoding=metadata_encoding, core=core
        )
        start = 0 if tail is None else max(0, len(data) - tail)
        plan.feed(start, data[start:])
        for _ in range(8):
            step = plan.step()
            if isinstance(step, Directory):
                return Listing(step, step.raw_names, dict(step.by_name))
            assert isinstance(step, ByteRange)
            plan.feed(step.start, data[step.start : step.end])
    except FastZipS3Error as exc:
        return Failure(
            type(exc), str(exc), getattr(exc, "offset", None), getattr(exc, "record", None)
        )
    raise AssertionError("the plan did not finish in 8 steps")

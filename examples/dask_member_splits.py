"""Read one large deflate member in parallel with Dask: one split per task, any worker.

    python -m examples.dask_member_splits s3://bucket/archive.zip data/big.csv \\
        --endpoint-url http://127.0.0.1:8333 --anonymous

The client builds (or finds) the member's checkpoint index once; each split carries its own
checkpoint, so workers decode their piece with one ranged GET and no index of their own.
"""

from __future__ import annotations

import argparse
import io
from typing import Any

import fastzips3


def line_count_and_column_sum(
    archive: str, member: str, column: str, *, splits: int = 16, **options: Any
) -> tuple[int, float]:
    """Count the CSV member's data lines and sum one column, with dask.bag and dask.dataframe."""
    import dask.bag
    import dask.dataframe
    import pandas as pd

    db: Any = dask.bag  # dask's annotations are partial; keep mypy --strict quiet here
    dd: Any = dask.dataframe

    pieces = fastzips3.member_splits(archive, member, splits, **options)
    header = fastzips3.read_split(pieces[0], delimiter=b"\n", **options).split(b"\n", 1)[0]
    names = header.decode().split(",")

    bag = db.from_sequence(pieces, npartitions=len(pieces))
    lines = bag.map(lambda s: fastzips3.read_split(s, delimiter=b"\n", **options)).map(
        bytes.splitlines
    )
    count = int(lines.map(len).sum().compute()) - 1  # less the header line

    def frame(split: fastzips3.MemberSplit) -> pd.DataFrame:
        data = fastzips3.read_split(split, delimiter=b"\n", **options)
        skip = 1 if split.start == 0 else 0
        return pd.read_csv(io.BytesIO(data), names=names, skiprows=skip)

    df = dd.from_map(frame, pieces)
    total = float(df[column].sum().compute())
    return count, total


def main(argv: list[str] | None = None) -> int:
    """Run the example on a local distributed cluster."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("archive")
    parser.add_argument("member")
    parser.add_argument("--column", default="value")
    parser.add_argument("--endpoint-url")
    parser.add_argument("--anonymous", action="store_true")
    args = parser.parse_args(argv)
    import distributed

    dist: Any = distributed
    options: dict[str, Any] = {"anonymous": args.anonymous}
    if args.endpoint_url:
        options["endpoint_url"] = args.endpoint_url
    with dist.LocalCluster(n_workers=2, threads_per_worker=1) as cluster, dist.Client(cluster):
        count, total = line_count_and_column_sum(args.archive, args.member, args.column, **options)
    print(f"{count} rows, sum of {args.column}: {total}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

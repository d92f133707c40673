"""A dataframe from the CSV members of many archives, with Dask: one coalesced read per archive.

    python -m examples.dask_many_archives 's3://bucket/exports/*.zip' '*.csv' a b \\
        --endpoint-url http://127.0.0.1:8333 --anonymous

The client lists the archives (one GET each, 64 at a time) and plans one task per archive
(more for big ones); each task reads its archive's members with one coalesced GET.
"""

from __future__ import annotations

import argparse
from typing import Any


def column_sums(
    archives: str | list[str], members_glob: str, columns: list[str], **options: Any
) -> tuple[int, dict[str, int]]:
    """The number of rows of every CSV member ``members_glob`` matches, and column sums."""
    import dask.base

    import fastzips3.dask

    compute: Any = dask.base.compute  # dask's annotations are partial; keep mypy quiet
    df = fastzips3.dask.read_csv(archives, members_glob, storage_options=options)
    rows, sums = compute(df.shape[0], df[columns].sum())
    return int(rows), {name: int(value) for name, value in sums.items()}


def main(argv: list[str] | None = None) -> int:
    """Run the example on a local distributed cluster of 2 workers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("archives", help="a glob (s3://b/exports/*.zip) or one archive")
    parser.add_argument("members_glob")
    parser.add_argument("columns", nargs="+")
    parser.add_argument("--endpoint-url")
    parser.add_argument("--anonymous", action="store_true")
    args = parser.parse_args(argv)
    import distributed

    dist: Any = distributed
    options: dict[str, Any] = {"anonymous": args.anonymous}
    if args.endpoint_url:
        options["endpoint_url"] = args.endpoint_url
    with dist.LocalCluster(n_workers=2, threads_per_worker=2) as cluster, dist.Client(cluster):
        rows, sums = column_sums(args.archives, args.members_glob, args.columns, **options)
    print(f"{rows} rows; sums: {sums}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

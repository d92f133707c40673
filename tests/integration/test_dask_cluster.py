"""The documented Dask example, run on a distributed.LocalCluster against SeaweedFS."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from examples.dask_member_splits import line_count_and_column_sum

import fastzips3
from tests.helpers.rawzip import RawMember, build_zip

if TYPE_CHECKING:
    from fastzips3.testing import LocalS3Server


def _csv(rows: int) -> bytes:
    lines = ["id,name,value"] + [f"{i},n{i % 13},{i % 1000}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.skipif(
    not fastzips3.core_info().compiled,
    reason="member splits come from a checkpoint index, which needs the compiled core",
)
def test_dask_reads_one_member_in_parallel_on_a_local_cluster(
    s3_server: LocalS3Server, tmp_path: Path
) -> None:
    distributed = pytest.importorskip("distributed")
    rows = 1_500_000
    data = _csv(rows)
    client = s3_server.client()
    client.put_object(
        Bucket="public", Key="dask/big.zip", Body=build_zip([RawMember("big.csv", data, 8)])
    )
    client.close()
    options = {"endpoint_url": s3_server.endpoint_url, "anonymous": True}
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=None, processes=True
        ) as cluster,
        distributed.Client(cluster),
    ):
        count, total = line_count_and_column_sum(
            "s3://public/dask/big.zip", "big.csv", "value", splits=8, **options
        )
    assert count == rows
    assert total == sum(i % 1000 for i in range(rows))

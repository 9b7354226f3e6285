"""Dask executor against a real ``LocalCluster``: the same numbers as the local executor."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from rareflow.data.network import Network
from rareflow.uncertainty.executors import DaskExecutor, LocalExecutor
from rareflow.uncertainty.run import run_montecarlo
from rareflow.uncertainty.sampling import BLOCK
from rareflow.uncertainty.sensitivity import sensitivity
from test_montecarlo import TIMED, UNCERTAIN, make, same

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as c:
        yield c


def test_dask_matches_local(cluster: object, tiny_network: Network) -> None:
    scen = make(TIMED)
    local = run_montecarlo(scen, 700, seed=2, network=tiny_network, executor=LocalExecutor())
    with distributed.Client(cluster) as client:
        executor = DaskExecutor(client=client)
        assert executor.workers == 2
        far = run_montecarlo(scen, 700, seed=2, network=tiny_network, executor=executor,
                             chunk_draws=BLOCK)  # fmt: skip
    assert far.executor == "dask"
    same(local.aggregate, far.aggregate)


def test_dask_by_scheduler_address(cluster: object, tiny_network: Network) -> None:
    address = cluster.scheduler_address  # type: ignore[attr-defined]
    with DaskExecutor(address) as executor:
        result = sensitivity(make(UNCERTAIN), "oat", network=tiny_network, executor=executor)
    local = sensitivity(make(UNCERTAIN), "oat", network=tiny_network)
    np.testing.assert_array_equal(result.table["importance"], local.table["importance"])

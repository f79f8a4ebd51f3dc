"""Benchmark: one drift scan over N services (default 1,000) on two clusters.

Each service has staging (Argo CD) and production (Flux) with a Deployment; the clusters are
the test emulators, so the numbers measure shiptrace's own cost (listing, parsing, judging)
over real HTTP on 127.0.0.1, not a real API server's. Prints the time per scan, the
Kubernetes requests per scan, and the peak Python memory of the scan.

    .venv/bin/python -m bench.scan [N] [RUNS]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from bot.config import parse_service_map
from bot.drift.scan import scan
from bot.engine import CLUSTER_KINDS
from bot.sandbox.kube import KubeEmulator, write_kubeconfig
from bot.sources.cluster import Clusters
from tests.scenarios.fleet import fleet_config, seed_fleet


async def one_scan(services: object) -> tuple[float, int]:
    clusters = Clusters(kinds=CLUSTER_KINDS)
    try:
        started = time.perf_counter()
        findings, unchecked = await scan(clusters, services)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - started
    finally:
        clusters.close()
    assert not findings and not unchecked, (findings[:3], unchecked[:3])
    return elapsed, len(findings)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with (
        KubeEmulator("staging") as staging,
        KubeEmulator("prod") as prod,
        tempfile.TemporaryDirectory() as tmp,
    ):
        emus = {"staging": staging, "prod": prod}
        seeding = time.perf_counter()
        seed_fleet(emus, n)
        print(f"seeded {n} services in {time.perf_counter() - seeding:.1f}s")
        write_kubeconfig(Path(tmp) / "kubeconfig", emus)
        os.environ["KUBECONFIG"] = str(Path(tmp) / "kubeconfig")
        services = parse_service_map(fleet_config(n))
        times = []
        for _ in range(runs):
            for emu in emus.values():
                emu.clear_log()
            elapsed, _ = asyncio.run(one_scan(services))
            times.append(elapsed)
            requests = sum(len(emu.requests) for emu in emus.values())
        # Memory in a separate run: tracing allocations slows the scan down several times.
        tracemalloc.start()
        asyncio.run(one_scan(services))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"{n} services: scan median {statistics.median(times):.2f}s over {runs} runs, "
            f"{requests} Kubernetes requests per scan, peak memory {peak / 2**20:.0f} MiB"
        )


if __name__ == "__main__":
    main()

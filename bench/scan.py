"""Benchmark: one drift scan over N services on two clusters.

Each service has staging (Argo CD) and production (Flux) with a Deployment of 3 pods; the
clusters are the test emulators, run in a child process so that this process's CPU time and
memory are shiptrace's alone. Reported per size: wall time and CPU time of a scan (median
of RUNS), CPU per service, the Kubernetes requests of a scan per cluster, and the peak
resident memory a scan adds (Linux ``VmHWM`` of a fresh process over one scan, less its
``VmRSS`` once imported).

    .venv/bin/python -m bench.scan [N ...] [--runs RUNS]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

CONTEXTS = ("staging", "prod")


def _serve_fleet(n: int, kubeconfig: str, conn: Connection) -> None:
    """The child: two seeded cluster emulators, answering "count" / "clear" / "stop"."""
    from bot.sandbox.kube import KubeEmulator, write_kubeconfig
    from tests.scenarios.fleet import seed_fleet

    with KubeEmulator("staging") as staging, KubeEmulator("prod") as prod:
        emus = {"staging": staging, "prod": prod}
        started = time.perf_counter()
        seed_fleet(emus, n)
        write_kubeconfig(Path(kubeconfig), emus)
        conn.send(round(time.perf_counter() - started, 2))
        while True:
            command = conn.recv()
            if command == "count":
                conn.send({name: len(emu.requests) for name, emu in emus.items()})
            elif command == "clear":
                for emu in emus.values():
                    emu.clear_log()
                conn.send(True)
            else:
                conn.send(True)
                return


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _peak_child(n: int, kubeconfig: str, conn: Connection) -> None:
    """A fresh process: its resident memory after a scan of one service, then its peak
    (``VmHWM``) over one scan; the difference is what a scan needs."""
    from bot.config import parse_service_map
    from tests.scenarios.fleet import fleet_config

    os.environ["KUBECONFIG"] = kubeconfig
    services = parse_service_map(fleet_config(n))
    asyncio.run(_one_scan(parse_service_map(fleet_config(1))))  # imports and first use
    before = _status_kb("VmRSS")
    asyncio.run(_one_scan(services))
    conn.send(round(max(0, _status_kb("VmHWM") - before) / 1024, 1))


async def _one_scan(services: Any) -> None:
    from bot.drift.scan import scan
    from bot.engine import CLUSTER_KINDS
    from bot.sources.cluster import Clusters

    clusters = Clusters(kinds=CLUSTER_KINDS)
    try:
        findings, unchecked = await scan(clusters, services)
    finally:
        clusters.close()
    assert not findings and not unchecked, (findings[:3], unchecked[:3])


def measure(n: int, runs: int = 3) -> dict[str, Any]:
    from bot.config import parse_service_map
    from tests.scenarios.fleet import fleet_config

    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = str(Path(tmp) / "kubeconfig")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_serve_fleet, args=(n, kubeconfig, child), daemon=True)
        proc.start()
        try:
            seeded = parent.recv()
            os.environ["KUBECONFIG"] = kubeconfig
            services = parse_service_map(fleet_config(n))
            walls, cpus, requests = [], [], {}
            if n <= 1000:  # first use (imports, clients) outside the figures; cheap when small
                asyncio.run(_one_scan(services))
            for _ in range(runs):
                parent.send("clear")
                parent.recv()
                wall, cpu = time.perf_counter(), time.process_time()
                asyncio.run(_one_scan(services))
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
                parent.send("count")
                requests = parent.recv()
            mine, theirs = ctx.Pipe()
            scanner = ctx.Process(target=_peak_child, args=(n, kubeconfig, theirs), daemon=True)
            scanner.start()
            peak = mine.recv()
            scanner.join(10)
            parent.send("stop")
            parent.recv()
        finally:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
    cpu = statistics.median(cpus)
    return {
        "services": n,
        "seeded_s": seeded,
        "wall_s": round(statistics.median(walls), 3),
        "cpu_s": round(cpu, 3),
        "cpu_ms_per_service": round(cpu * 1000 / n, 3),
        "requests_per_cluster": requests,
        "peak_mb": peak,
    }


def run(sizes: list[int], runs: int) -> dict[str, Any]:
    results = {str(n): measure(n, runs) for n in sizes}
    if "1000" in results and "5000" in results:
        small = sum(results["1000"]["requests_per_cluster"].values())
        large = sum(results["5000"]["requests_per_cluster"].values())
        results["requests_5000_vs_1000"] = round(large / small, 2)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.scan")
    parser.add_argument("sizes", nargs="*", type=int, default=[100, 1000, 5000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(run(args.sizes, args.runs), indent=2))


if __name__ == "__main__":
    main()

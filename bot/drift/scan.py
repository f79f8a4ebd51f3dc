"""One drift scan: list each needed kind once per cluster, then judge every environment.

Clusters are read concurrently, and each cluster's kinds concurrently (the client's thread
pool bounds it), so a scan costs one list per kind per cluster (more pages past
:data:`PAGE_SIZE` objects) plus API discovery, however many services share the clusters.
Pages are large: a scan keeps every listed object anyway, so a page costs its own bytes for a
moment more, while pages of 500 made the requests grow with the fleet (3 pods per service:
one more request per 170 services). The first kind of a cluster is
listed alone: when the cluster does not answer at all, its other kinds are not tried and every
environment on it is :class:`~bot.drift.findings.Unchecked` with that message.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bot.config import ServiceMap
from bot.drift.findings import (
    Finding,
    Snapshot,
    Unchecked,
    find_drift,
    kinds_needed,
    running_versions,
)
from bot.errors import KubernetesError
from bot.sources.cluster import Clusters, NotFound, Unreachable

log = logging.getLogger(__name__)

PAGE_SIZE = 5000  # objects per list request (kubectl's 500 is for people paging a terminal)


@dataclass(frozen=True)
class ScanResult:
    findings: list[Finding]
    unchecked: list[Unchecked]
    versions: dict[str, str]  # "service/environment" -> what runs there (see running_versions)


async def scan(clusters: Clusters, services: ServiceMap) -> tuple[list[Finding], list[Unchecked]]:
    result = await scan_all(clusters, services)
    return result.findings, result.unchecked


async def scan_all(clusters: Clusters, services: ServiceMap) -> ScanResult:
    needed = kinds_needed(services)
    started = time.monotonic()
    with _collector_paused():
        snapshots = await asyncio.gather(
            *(snapshot(clusters, context, kinds) for context, kinds in needed.items())
        )
        by_context = dict(zip(needed, snapshots, strict=True))
        findings, unchecked = find_drift(services, by_context)
        versions = running_versions(services, by_context)
    log.debug(
        "drift scan: %d cluster(s), %d finding(s), %d unchecked, %.2fs",
        len(needed),
        len(findings),
        len(unchecked),
        time.monotonic() - started,
    )
    return ScanResult(findings, unchecked, versions)


_pauses = 0  # scans running now (a job and a command may overlap)
_resume = False  # whether the collector was on when the first of them began


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a scan builds and judges its lists. Decoding a list
    of thousands of objects makes millions of dicts, and every few hundred of them the
    collector walked the whole growing heap: it took most of a scan's CPU (10x the decoding
    itself for the pods of 1,000 services). JSON has no cycles; collection resumes after."""
    global _pauses, _resume
    if _pauses == 0:
        _resume = gc.isenabled()
    _pauses += 1
    gc.disable()
    try:
        yield
    finally:
        _pauses -= 1
        if _pauses == 0 and _resume:
            gc.enable()


async def snapshot(clusters: Clusters, context: str | None, kinds: list[str]) -> Snapshot:
    """Every object of ``kinds`` in one cluster (all namespaces); never raises."""
    try:
        client = clusters.client(context)
    except KubernetesError as exc:  # e.g. the context is not in the kubeconfig
        return Snapshot(error=exc.message)
    objects: dict[str, list[dict[str, Any]]] = {}
    failed: dict[str, str] = {}
    unserved: set[str] = set()

    async def one(kind: str) -> None:
        try:
            objects[kind] = await client.list_kind(kind, PAGE_SIZE)
        except NotFound:
            objects[kind] = []
            unserved.add(kind)
        except Unreachable:
            raise
        except KubernetesError as exc:
            failed[kind] = exc.message

    try:
        await one(kinds[0])
    except Unreachable as exc:
        return Snapshot(error=exc.message)
    results = await asyncio.gather(*(one(kind) for kind in kinds[1:]), return_exceptions=True)
    for kind, result in zip(kinds[1:], results, strict=True):
        if isinstance(result, KubernetesError):  # unreachable since the first list
            failed[kind] = result.message
        elif isinstance(result, BaseException):
            raise result
    return Snapshot(objects=objects, failed=failed, unserved=frozenset(unserved))

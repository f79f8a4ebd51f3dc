"""One coordination.k8s.io/v1 Lease, read and written for leader election (:mod:`bot.leader`).

The Lease carries client-go's leader-election record: ``holderIdentity``, ``acquireTime``,
``renewTime``, ``leaseDurationSeconds`` and ``leaseTransitions``. Writes are optimistic: a
create of a Lease that exists, or a replace with a stale ``resourceVersion``, is answered 409
and raised as :class:`LeaseConflict` (another replica wrote first).

The official client is synchronous, so each call runs in an executor; give the Lease its own
(the default, one thread) so a long scan filling the clusters' pool cannot delay a renewal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from bot.errors import KubernetesError
from bot.sources.network import network_reason

TIMEOUT = (3.0, 5.0)  # connect, read seconds: well inside any sensible lease duration


class LeaseConflict(KubernetesError):
    """Someone else wrote the Lease first (409): re-read it before deciding again."""


@dataclass(frozen=True)
class LeaseRecord:
    """The leader-election fields of a Lease; ``holder`` None is a released Lease."""

    holder: str | None
    acquired_at: datetime | None
    renewed_at: datetime | None
    duration_seconds: int | None
    resource_version: str | None = None  # as read; ignored when writing
    transitions: int = 0


class MicroTime(datetime):
    """A datetime the client serialises as a Kubernetes MicroTime.

    The API server parses MicroTime with Go's ``2006-01-02T15:04:05.000000Z07:00``: exactly
    six fractional digits. The client writes ``datetime.isoformat()``, which drops them when
    the microseconds are 0 (and a naive datetime would have no zone), so it would be refused.
    """

    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        return self.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    @classmethod
    def of(cls, value: datetime | None) -> MicroTime | None:
        if value is None:
            return None
        v = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return cls(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, UTC)


class LeaseClient:
    """Get, create and replace the Lease ``namespace/name`` through ``api``."""

    def __init__(
        self,
        api: k8s.ApiClient,
        namespace: str,
        name: str,
        pool: Executor | None = None,
        timeout: tuple[float, float] = TIMEOUT,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.name = name
        self.timeout = timeout
        self._own_pool = pool is None
        self._pool = pool or ThreadPoolExecutor(1, thread_name_prefix="lease")
        self._leases = k8s.CoordinationV1Api(api)

    @property
    def where(self) -> str:
        return f"Lease {self.namespace}/{self.name} at {self.api.configuration.host}"

    async def get(self) -> LeaseRecord | None:
        """The Lease as stored, or None when there is none."""
        try:
            lease = await self._run(
                "get",
                lambda: self._leases.read_namespaced_lease(
                    self.name, self.namespace, _request_timeout=self.timeout
                ),
            )
        except _Absent:
            return None
        return _record(lease)

    async def create(self, record: LeaseRecord) -> LeaseRecord:
        """Create the Lease holding ``record``; :class:`LeaseConflict` if it exists already."""
        body = self._body(record, None)
        lease = await self._run(
            "create",
            lambda: self._leases.create_namespaced_lease(
                self.namespace, body, _request_timeout=self.timeout
            ),
        )
        return _record(lease)

    async def replace(self, record: LeaseRecord, resource_version: str) -> LeaseRecord:
        """Overwrite the Lease if it is still at ``resource_version``; else
        :class:`LeaseConflict`."""
        body = self._body(record, resource_version)
        lease = await self._run(
            "update",
            lambda: self._leases.replace_namespaced_lease(
                self.name, self.namespace, body, _request_timeout=self.timeout
            ),
        )
        return _record(lease)

    def close(self) -> None:
        """Stop the executor if this client made it (the ApiClient is the caller's)."""
        if self._own_pool:
            self._pool.shutdown(wait=False, cancel_futures=True)

    # -- transport -----------------------------------------------------------------------
    def _body(self, record: LeaseRecord, resource_version: str | None) -> k8s.V1Lease:
        return k8s.V1Lease(
            api_version="coordination.k8s.io/v1",
            kind="Lease",
            metadata=k8s.V1ObjectMeta(
                name=self.name, namespace=self.namespace, resource_version=resource_version
            ),
            spec=k8s.V1LeaseSpec(
                holder_identity=record.holder,
                acquire_time=MicroTime.of(record.acquired_at),
                renew_time=MicroTime.of(record.renewed_at),
                lease_duration_seconds=record.duration_seconds,
                lease_transitions=record.transitions,
            ),
        )

    async def _run(self, verb: str, call: Callable[[], k8s.V1Lease]) -> k8s.V1Lease:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._request, verb, call)

    def _request(self, verb: str, call: Callable[[], k8s.V1Lease]) -> k8s.V1Lease:
        try:
            return call()
        except ApiException as exc:
            raise self._api_error(exc.status, verb) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise KubernetesError(
                f"cannot {verb} {self.where}: unreachable ({network_reason(exc)})"
            ) from None

    def _api_error(self, status: int | None, verb: str) -> KubernetesError:
        if status == 404 and verb == "get":
            return _Absent(self.where)
        if status == 409:
            return LeaseConflict(f"{self.where} was written by someone else first (409)")
        if status in (401, 403):
            word = "refused our credentials" if status == 401 else f"forbids {verb}"
            return KubernetesError(
                f"{self.where} {word} ({status}); leader election needs get, create and update "
                f"on leases (coordination.k8s.io) in namespace '{self.namespace}': "
                "see the Role in deploy/kubernetes/components/ha/lease-rbac.yaml"
            )
        if status == 404:  # create/replace: the namespace (or the Lease, for replace) is gone
            return KubernetesError(f"cannot {verb} {self.where}: not found (404)")
        return KubernetesError(f"cannot {verb} {self.where}: the API server answered {status}")


class _Absent(KubernetesError):
    """404 on read: no Lease yet (only ``get`` sees this, as None)."""


def _record(lease: k8s.V1Lease) -> LeaseRecord:
    spec = lease.spec
    meta = lease.metadata
    return LeaseRecord(
        holder=(spec.holder_identity or None) if spec else None,
        acquired_at=_utc(spec.acquire_time) if spec else None,
        renewed_at=_utc(spec.renew_time) if spec else None,
        duration_seconds=spec.lease_duration_seconds if spec else None,
        resource_version=meta.resource_version if meta else None,
        transitions=(spec.lease_transitions or 0) if spec else 0,
    )


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

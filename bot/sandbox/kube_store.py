"""The object store behind the Kubernetes emulator: write semantics, lists, watch history.

Stored objects are never mutated after they are stored (every write stores a new dict), so
lists, watch events and continue snapshots can hold references and serialise them later,
outside the lock. The lock is a ``threading.RLock``: tests seed and mutate from their own
thread while the aiohttp handlers run on the emulator's loop thread.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import random
import threading
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from .kube_kinds import (
    BUILTIN_TYPES,
    JSON,
    META_KEYS,
    Cause,
    ResourceType,
    clone_json,
    default_builtin,
    validate_builtin,
    validate_meta,
)
from .kube_schema import apply_schema, crd_types
from .kube_select import Matcher, matches

CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")


class KubeApiError(Exception):
    """An error the API server answers with a ``Status`` object."""

    def __init__(self, code: int, reason: str, message: str, details: JSON | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> JSON:
        body: JSON = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


class InvalidObject(KubeApiError, ValueError):
    """422 Invalid; a ``ValueError`` so ``emu.add()`` raises what the brief promises."""


class ObjectNotFound(KubeApiError, LookupError):
    """404 NotFound."""


class BadRequest(KubeApiError, ValueError):
    """400 BadRequest; also what ``emu.add()`` raises for a malformed object."""


def bad_request(message: str) -> BadRequest:
    return BadRequest(400, "BadRequest", message)


def not_found(rt: ResourceType, name: str) -> ObjectNotFound:
    details = {"name": name, "group": rt.group, "kind": rt.plural}
    return ObjectNotFound(404, "NotFound", f'{rt.resource} "{name}" not found', details)


def conflict(rt: ResourceType, name: str, why: str) -> KubeApiError:
    details = {"name": name, "group": rt.group, "kind": rt.plural}
    message = f'Operation cannot be fulfilled on {rt.resource} "{name}": {why}'
    return KubeApiError(409, "Conflict", message, details)


def invalid(rt: ResourceType, name: str, causes: list[Cause]) -> InvalidObject:
    text = [f"{c.field}: {c.message}" if c.field else c.message for c in causes]
    joined = text[0] if len(text) == 1 else "[" + ", ".join(text) + "]"
    details = {
        "name": name,
        "group": rt.group,
        "kind": rt.kind,
        "causes": [{"reason": c.reason, "message": c.message, "field": c.field} for c in causes],
    }
    return InvalidObject(
        422, "Invalid", f'{rt.qualified_kind} "{name}" is invalid: {joined}', details
    )


@dataclass(slots=True)
class Event:
    rv: int
    type: str
    key: tuple[str, str]
    namespace: str
    name: str
    obj: JSON
    prev: JSON | None = None


@dataclass
class Written:
    obj: JSON
    warnings: list[str] = field(default_factory=list)
    created: bool = False


@dataclass
class Page:
    items: list[JSON]
    resource_version: int
    token: str | None = None
    remaining: int | None = None


def _spec_part(obj: JSON, without_status: bool) -> JSON:
    skip = ("metadata", "status") if without_status else ("metadata",)
    return {k: v for k, v in obj.items() if k not in skip}


class Watcher:
    """One open watch: filters store events and hands them to its asyncio queue."""

    def __init__(
        self,
        cluster: Cluster,
        rt: ResourceType,
        namespace: str,
        name: str | None,
        selectors: tuple[Matcher | None, Matcher | None],
        loop: asyncio.AbstractEventLoop,
        queue: asyncio.Queue[tuple[str, JSON] | None],
    ) -> None:
        self.cluster, self.rt, self.namespace, self.name = cluster, rt, namespace, name
        self.selectors, self.loop, self.queue = selectors, loop, queue

    def translate(self, ev: Event) -> tuple[str, JSON] | None:
        """The event as this watcher sees it; selectors turn moves into ADDED/DELETED."""
        if ev.key != self.rt.key or (self.namespace and ev.namespace != self.namespace):
            return None
        if self.name is not None and ev.name != self.name:
            return None
        now = matches(ev.obj, *self.selectors)
        was = ev.prev is not None and matches(ev.prev, *self.selectors)
        kind = ev.type
        if kind == "MODIFIED" and now != was:
            kind = "ADDED" if now else "DELETED"
        elif not now:
            return None
        return kind, self.cluster.view(self.rt, ev.obj)

    def offer(self, ev: Event) -> None:
        seen = self.translate(ev)
        if seen is not None:
            try:
                self.loop.call_soon_threadsafe(self.queue.put_nowait, seen)
            except RuntimeError:  # its loop is closed: the emulator stopped
                self.cluster.watchers.discard(self)

    def close(self) -> None:
        self.cluster.watchers.discard(self)
        with contextlib.suppress(RuntimeError):  # loop already closed
            self.loop.call_soon_threadsafe(self.queue.put_nowait, None)


class Cluster:
    """Objects, resource types, the resourceVersion counter and the watch history."""

    def __init__(self, name: str, history: int, clock: Callable[[], str]) -> None:
        self.name = name
        self.clock = clock
        self.lock = threading.RLock()
        self.by_gvr: dict[tuple[str, str, str], ResourceType] = {}
        self.by_gvk: dict[tuple[str, str, str], ResourceType] = {}
        self.crd_types: dict[str, list[ResourceType]] = {}
        self.objects: dict[tuple[str, str], dict[tuple[str, str], JSON]] = {}
        self.rv = 0
        self.history: deque[Event] = deque(maxlen=max(1, history))
        self.compacted = 0  # resourceVersion of the newest event dropped from history
        self.watchers: set[Watcher] = set()
        self.snapshots: OrderedDict[str, tuple[list[JSON], int]] = OrderedDict()
        self._random = random.Random(name)  # deterministic uids and generateName suffixes
        for rt in BUILTIN_TYPES:
            self._register(rt)

    # --- resource types ---------------------------------------------------------------------

    def _register(self, rt: ResourceType) -> None:
        self.by_gvr[(rt.group, rt.version, rt.plural)] = rt
        self.by_gvk[(rt.group, rt.version, rt.kind)] = rt
        self.objects.setdefault(rt.key, {})

    def _sync_crd(self, name: str, crd: JSON | None) -> None:
        for rt in self.crd_types.pop(name, []):
            self.by_gvr.pop((rt.group, rt.version, rt.plural), None)
            self.by_gvk.pop((rt.group, rt.version, rt.kind), None)
        if crd is None:
            return
        types = crd_types(crd)
        self.crd_types[name] = types
        for rt in types:
            self._register(rt)

    def type_for(self, api_version: str, kind: str) -> ResourceType:
        group, _, version = api_version.rpartition("/")
        rt = self.by_gvk.get((group, version, kind))
        if rt is None:
            raise ValueError(
                f"{kind} ({api_version}) is not served by this emulator: no built-in type and "
                "no CRD serving that version is loaded"
            )
        return rt

    def served(self) -> list[ResourceType]:
        return list(self.by_gvr.values())

    # --- reads ------------------------------------------------------------------------------

    def view(self, rt: ResourceType, obj: JSON) -> JSON:
        """``obj`` as served through ``rt``'s version (conversion strategy None, then pruning)."""
        if obj.get("apiVersion") == rt.api_version:
            return obj
        converted = clone_json(obj)
        converted["apiVersion"] = rt.api_version
        if rt.schema is not None:
            apply_schema(rt.schema, converted, None)
        return converted

    def get(self, rt: ResourceType, namespace: str, name: str) -> JSON:
        with self.lock:
            obj = self.objects[rt.key].get((namespace, name))
            if obj is None:
                raise not_found(rt, name)
            return self.view(rt, obj)

    def select(
        self, rt: ResourceType, namespace: str, selectors: tuple[Matcher | None, Matcher | None]
    ) -> list[JSON]:
        with self.lock:
            store = self.objects[rt.key]
            keys = sorted(k for k in store if not namespace or k[0] == namespace)
            found = [store[k] for k in keys]
        return [self.view(rt, o) for o in found if matches(o, *selectors)]

    def page(
        self,
        rt: ResourceType,
        namespace: str,
        selectors: tuple[Matcher | None, Matcher | None],
        limit: int,
        token: str | None,
    ) -> Page:
        if token:
            items, rv, offset = self._resume(token)
        else:
            with self.lock:
                rv = self.rv
                items = self.select(rt, namespace, selectors)
            offset = 0
        rest = items[offset:]
        if limit <= 0 or len(rest) <= limit:
            return Page(rest, rv)
        snap = uuid.UUID(int=self._random.getrandbits(128)).hex
        with self.lock:
            self.snapshots[snap] = (items, rv)
            while len(self.snapshots) > 64:
                self.snapshots.popitem(last=False)
        last = rest[limit - 1]["metadata"]
        state = {
            "v": "meta.k8s.io/v1",
            "rv": rv,
            "snap": snap,
            "offset": offset + limit,
            "start": f"{last.get('namespace', '')}/{last['name']}\x00",
        }
        encoded = base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")
        # A real server leaves remainingItemCount out when selectors were used.
        remaining = None if any(selectors) else len(rest) - limit
        return Page(rest[:limit], rv, encoded, remaining)

    def _resume(self, token: str) -> tuple[list[JSON], int, int]:
        try:
            state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            snap, offset = state["snap"], int(state["offset"])
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise bad_request(f"continue key is not valid: {exc}") from exc
        with self.lock:
            hit = self.snapshots.get(snap)
        if hit is None:
            raise KubeApiError(
                410,
                "Expired",
                "The provided continue parameter is too old to display a "
                "consistent list result. You can start a new list without the continue parameter.",
            )
        return hit[0], hit[1], offset

    # --- watch ------------------------------------------------------------------------------

    def watch(self, watcher: Watcher, resource_version: str | None) -> list[tuple[str, JSON]]:
        """Register ``watcher``; return what it must send first (current state or replay)."""
        with self.lock:
            if resource_version in (None, "", "0"):
                sel = watcher.selectors
                initial = [
                    ("ADDED", o)
                    for o in self.select(watcher.rt, watcher.namespace, sel)
                    if watcher.name is None or o["metadata"]["name"] == watcher.name
                ]
            else:
                try:
                    since = int(resource_version)
                except ValueError as exc:
                    raise bad_request(f"invalid resource version: {resource_version}") from exc
                if since < self.compacted:
                    raise KubeApiError(
                        410, "Expired", f"too old resource version: {since} ({self.compacted + 1})"
                    )
                seen = (watcher.translate(ev) for ev in self.history if ev.rv > since)
                initial = [s for s in seen if s is not None]
            self.watchers.add(watcher)
            return initial

    def _record(self, ev: Event) -> None:
        if len(self.history) == self.history.maxlen:
            self.compacted = max(self.compacted, self.history[0].rv)
        self.history.append(ev)
        for w in list(self.watchers):
            w.offer(ev)

    # --- writes -----------------------------------------------------------------------------

    def _next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def new_uid(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def write(
        self,
        rt: ResourceType,
        namespace: str,
        body: JSON,
        *,
        mode: str,
        name: str | None = None,
        status_only: bool = False,
        dry_run: bool = False,
        strict: bool = False,
    ) -> Written:
        """Create ("create"), replace ("update"), upsert a seed ("seed") or set ("direct").

        ``body`` must already be a private copy. "seed" and "direct" are the test's own hands
        on the store: they keep the given status and need no namespace to exist.
        """
        with self.lock:
            return self._write(rt, namespace, body, mode, name, status_only, dry_run, strict)

    def _write(
        self,
        rt: ResourceType,
        namespace: str,
        body: JSON,
        mode: str,
        name: str | None,
        status_only: bool,
        dry_run: bool,
        strict: bool,
    ) -> Written:
        if not isinstance(body, dict):
            raise bad_request("the body must be a JSON object")
        if body.setdefault("apiVersion", rt.api_version) != rt.api_version:
            raise bad_request(
                f"the API version in the data ({body['apiVersion']}) does not match the "
                f"expected API version ({rt.api_version})"
            )
        if body.setdefault("kind", rt.kind) != rt.kind:
            raise bad_request(f"the kind in the data ({body['kind']}) does not match {rt.kind}")
        meta = body.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        warnings = [f'unknown field "metadata.{k}"' for k in meta if k not in META_KEYS]
        for key in [k for k in meta if k not in META_KEYS]:
            del meta[key]
        if rt.namespaced:
            if meta.setdefault("namespace", namespace) != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent "
                    "on the request"
                )
        else:
            meta.pop("namespace", None)
        if mode == "create" and not meta.get("name") and meta.get("generateName"):
            suffix = "".join(self._random.choices("bcdfghjklmnpqrstvwxz2456789", k=5))
            meta["name"] = meta["generateName"] + suffix
        if name is not None and meta.setdefault("name", name) != name:
            raise bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL "
                f"({name})"
            )
        obj_name = str(meta.get("name") or "")
        stored = self.objects[rt.key].get((namespace, obj_name)) if obj_name else None
        old = self.view(rt, stored) if stored is not None else None

        if mode == "create":
            if old is not None:
                details = {"name": obj_name, "group": rt.group, "kind": rt.plural}
                message = f'{rt.resource} "{obj_name}" already exists'
                raise KubeApiError(409, "AlreadyExists", message, details)
            if meta.get("resourceVersion"):
                raise KubeApiError(
                    500,
                    "InternalError",
                    "resourceVersion should not be set on objects to be created",
                )
            if rt.namespaced and ("", namespace) not in self.objects[("", "namespaces")]:
                raise ObjectNotFound(
                    404,
                    "NotFound",
                    f'namespaces "{namespace}" not found',
                    {"name": namespace, "kind": "namespaces"},
                )
            if rt.status_subresource:
                body.pop("status", None)  # create cannot set status
        elif mode in ("update", "direct"):
            if old is None:
                raise not_found(rt, obj_name)
            old_meta = old["metadata"]
            given = meta.get("resourceVersion")
            if given and given != old_meta.get("resourceVersion"):
                raise conflict(
                    rt,
                    obj_name,
                    "the object has been modified; please apply your changes to "
                    "the latest version and try again",
                )
            if meta.get("uid") and meta["uid"] != old_meta.get("uid"):
                raise conflict(
                    rt,
                    obj_name,
                    f"Precondition failed: UID in precondition: {meta['uid']}, "
                    f"UID in object meta: {old_meta.get('uid')}",
                )
            if status_only:
                body = (
                    {**clone_json(old), "status": body["status"]}
                    if "status" in body
                    else {k: v for k, v in clone_json(old).items() if k != "status"}
                )
                meta = body["metadata"]
            elif rt.status_subresource and mode == "update":
                body.pop("status", None)  # writes to the main resource keep the stored status
                if "status" in old:
                    body["status"] = clone_json(old["status"])

        causes = validate_meta(rt, body)
        if rt.schema is not None:
            outcome = apply_schema(rt.schema, body, old)
            causes += outcome.causes
            warnings += [f'unknown field "{p}"' for p in outcome.pruned]
        elif rt.builtin:
            default_builtin(rt, body)
            causes += validate_builtin(rt, body)
        if causes:
            raise invalid(rt, obj_name, causes)
        if strict and warnings:
            message = "strict decoding error: " + ", ".join(warnings)
            if mode in ("seed", "direct"):
                raise InvalidObject(422, "Invalid", message)
            raise bad_request(message)

        meta = body["metadata"]
        if old is not None:
            old_meta = old["metadata"]
            changed = _spec_part(body, rt.status_subresource) != _spec_part(
                old, rt.status_subresource
            )
            gen = int(old_meta.get("generation", 1)) + (1 if changed else 0)
            for key in ("uid", "creationTimestamp", "deletionTimestamp"):
                if key in old_meta and (mode != "seed" or key not in meta):
                    meta[key] = old_meta[key]
            if mode != "seed" or "generation" not in meta:
                meta["generation"] = gen
            if mode != "seed":
                meta["resourceVersion"] = old_meta["resourceVersion"]
            if body == old:
                return Written(old, warnings)  # no-op writes do not bump resourceVersion
        else:
            if mode in ("create", "update", "direct"):
                meta.pop("deletionTimestamp", None)
            meta.setdefault("uid", self.new_uid())
            meta.setdefault("creationTimestamp", self.clock())
            meta.setdefault("generation", 1)
        if dry_run:
            return Written(body, warnings, created=old is None)

        if mode == "seed" and rt.namespaced:
            self._ensure_namespace(namespace)  # before taking this object's resourceVersion
        given_rv = meta.get("resourceVersion") if mode == "seed" else None
        if given_rv and str(given_rv).isdigit():
            # a seeded resourceVersion is kept; later writes still get larger ones
            self.rv = max(self.rv, int(given_rv))
            rv = int(given_rv)
        else:
            rv = self._next_rv()
        meta["resourceVersion"] = str(given_rv or rv)
        if old is not None and meta.get("deletionTimestamp") and not meta.get("finalizers"):
            self._remove(rt, namespace, obj_name, body, rv)  # the last finalizer is gone
        else:
            self._commit(rt, namespace, obj_name, body, stored, rv)
        return Written(body, warnings, created=old is None)

    def _ensure_namespace(self, namespace: str) -> None:
        if ("", namespace) not in self.objects[("", "namespaces")]:
            ns_type = self.by_gvr[("", "v1", "namespaces")]
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
            self._write(ns_type, "", body, "seed", None, False, False, False)

    def _commit(
        self, rt: ResourceType, namespace: str, name: str, obj: JSON, prev: JSON | None, rv: int
    ) -> None:
        self.objects[rt.key][(namespace, name)] = obj
        etype = "ADDED" if prev is None else "MODIFIED"
        self._record(Event(rv, etype, rt.key, namespace, name, obj, prev))
        if rt.key == CRD_KEY:
            self._sync_crd(name, obj)

    def _remove(self, rt: ResourceType, namespace: str, name: str, last: JSON, rv: int) -> JSON:
        prev = self.objects[rt.key].pop((namespace, name))
        final = {**last, "metadata": {**last["metadata"], "resourceVersion": str(rv)}}
        self._record(Event(rv, "DELETED", rt.key, namespace, name, final, prev))
        if rt.key == ("", "namespaces"):  # the namespace controller empties it
            for key, store in self.objects.items():
                for ns, child in [k for k in store if k[0] == name]:
                    self._remove_key(key, ns, child)
        elif rt.key == CRD_KEY:
            gone = {(t.group, t.plural) for t in self.crd_types.get(name, [])}
            self._sync_crd(name, None)
            for key in gone:
                for ns, child in list(self.objects.get(key, {})):
                    self._remove_key(key, ns, child)
        return final

    def _remove_key(self, key: tuple[str, str], namespace: str, name: str) -> None:
        obj = self.objects[key].pop((namespace, name))
        rv = self._next_rv()
        final = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(rv)}}
        self._record(Event(rv, "DELETED", key, namespace, name, final, obj))

    def delete(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        *,
        preconditions: JSON | None = None,
        dry_run: bool = False,
        force: bool = False,
    ) -> tuple[JSON, bool]:
        """Delete now, or mark for deletion while finalizers remain (unless ``force``)."""
        with self.lock:
            stored = self.objects[rt.key].get((namespace, name))
            if stored is None:
                raise not_found(rt, name)
            meta = stored["metadata"]
            pre = preconditions or {}
            if pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion"):
                raise conflict(
                    rt,
                    name,
                    "Precondition failed: ResourceVersion in precondition: "
                    f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                    f"{meta.get('resourceVersion')}",
                )
            if pre.get("uid") and pre["uid"] != meta.get("uid"):
                raise conflict(
                    rt,
                    name,
                    f"Precondition failed: UID in precondition: {pre['uid']}, "
                    f"UID in object meta: {meta.get('uid')}",
                )
            if dry_run:
                return self.view(rt, stored), True
            if meta.get("finalizers") and not force:
                if meta.get("deletionTimestamp"):
                    return self.view(rt, stored), False
                marked_meta = {
                    **meta,
                    "deletionTimestamp": self.clock(),
                    "deletionGracePeriodSeconds": 0,
                }
                rv = self._next_rv()
                marked_meta["resourceVersion"] = str(rv)
                marked = {**stored, "metadata": marked_meta}
                self._commit(rt, namespace, name, marked, stored, rv)
                return self.view(rt, marked), False
            return self.view(rt, self._remove(rt, namespace, name, stored, self._next_rv())), True

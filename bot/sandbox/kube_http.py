"""The HTTP side of ``KubeEmulator``: routing, verbs, watch streams, discovery, faults.

Mixed into ``KubeEmulator`` (``kube.py``), which owns the state these methods read.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web
from multidict import CIMultiDict

from .kube_kinds import JSON, ResourceType, clone_json
from .kube_patch import json_patch, merge_patch
from .kube_schema import sort_versions
from .kube_select import SelectorError, field_matcher, label_matcher
from .kube_store import Cluster, KubeApiError, Watcher, bad_request

log = logging.getLogger(__name__)
BUILTIN_GROUPS = ("apps", "coordination.k8s.io", "apiextensions.k8s.io")
HEALTH_PATHS = frozenset({"/healthz", "/livez", "/readyz"})
REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
FAULT_MESSAGES = {
    401: "Unauthorized",
    404: "the server could not find the requested resource",
    409: "Operation cannot be fulfilled: the object has been modified (injected fault)",
    410: "too old resource version (injected fault)",
    429: "the server has received too many requests and has asked us to try again later",
    500: "Internal error occurred: injected fault",
    503: "the server is currently unable to handle the request",
    504: "Timeout: request did not complete within the allotted timeout",
}
CLIENT_USER = "system:serviceaccount:shiptrace:shiptrace"
# Outside the served kinds: authorization reviews are virtual (created, never stored).
ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    status: int
    body: Any = None  # the parsed JSON/YAML request body, if any


@dataclass
class Fault:
    pattern: re.Pattern[str]
    status: int
    times: int | None
    method: str | None
    message: str | None
    reason: str | None
    retry_after: int | None


@dataclass(frozen=True)
class _Route:
    rt: ResourceType
    namespace: str  # "" = all namespaces / cluster-scoped
    name: str | None
    subresource: str | None


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1")


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _json_response(
    body: Any, status: int = 200, warns: Iterable[str] = (), extra: Mapping[str, str] = {}
) -> web.Response:
    headers: CIMultiDict[str] = CIMultiDict(extra)
    for text in warns:
        headers.add("Warning", '299 - "' + text.replace('"', '\\"') + '"')
    return web.Response(
        body=_dumps(body), status=status, content_type="application/json", headers=headers
    )


def _status_response(err: KubeApiError, extra: Mapping[str, str] = {}) -> web.Response:
    return _json_response(err.status(), err.code, extra=extra)


def _verb(method: str, route: _Route | None, query: Mapping[str, str] | None = None) -> str:
    """The RBAC verb of a request."""
    if method == "GET" and route is not None and _truthy((query or {}).get("watch")):
        return "watch"
    return {
        "GET": "list" if route and not route.name else "get",
        "POST": "create",
        "PUT": "update",
        "PATCH": "patch",
        "DELETE": "delete",
    }.get(method, "get")


def _forbidden_message(verb: str, path: str, route: _Route | None) -> str:
    if route is None:
        return f'forbidden: User "{CLIENT_USER}" cannot get path "{path}"'
    where = f' in the namespace "{route.namespace}"' if route.namespace else ""
    return (
        f'{route.rt.resource} is forbidden: User "{CLIENT_USER}" cannot {verb} '
        f'resource "{route.rt.plural}" in API group "{route.rt.group}"{where}'
    )


class HttpApi:
    """Request handling for ``KubeEmulator``; see that class for the state below."""

    name: str
    token: str | None
    kube_version: str
    watch_timeout_scale: float
    cluster: Cluster
    requests: list[LoggedRequest]
    _faults: list[Fault]
    _denied: set[tuple[str, str, str]]  # (verb or "*", group, resource) RBAC does not allow

    def _allowed(self, verb: str, group: str, resource: str) -> bool:
        with self.cluster.lock:
            return not ({(verb, group, resource), ("*", group, resource)} & self._denied)

    def _access_review(self, body: Any) -> JSON:
        """A SelfSubjectAccessReview, answered from the denied rules (everything else is
        allowed), as kube-apiserver's RBAC authorizer would."""
        spec = body.get("spec") if isinstance(body, dict) else None
        attrs = spec.get("resourceAttributes") if isinstance(spec, dict) else None
        if not isinstance(attrs, dict):
            raise KubeApiError(
                422,
                "Invalid",
                'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: '
                "spec.resourceAttributes: Invalid value: null: exactly one of "
                "nonResourceAttributes or resourceAttributes must be specified",
            )
        verb, group, resource = (str(attrs.get(k) or "") for k in ("verb", "group", "resource"))
        status: JSON = {"allowed": self._allowed(verb, group, resource)}
        if status["allowed"]:
            status["reason"] = (
                'RBAC: allowed by ClusterRoleBinding "shiptrace-read" of ClusterRole '
                f'"shiptrace-read" to User "{CLIENT_USER}"'
            )
        return {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": clone_json(spec),
            "status": status,
        }

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.cluster.lock:
            for fault in self._faults:
                if fault.method not in (None, method) or not fault.pattern.search(path):
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    def _fault_error(
        self, fault: Fault, method: str, path: str, route: _Route | None
    ) -> KubeApiError:
        code = fault.status
        message = fault.message or FAULT_MESSAGES.get(code)
        details: JSON | None = None
        if route is not None:
            details = {"group": route.rt.group, "kind": route.rt.plural}
            if route.name:
                details["name"] = route.name
        if message is None and code == 403:
            message = _forbidden_message(_verb(method, route), path, route)
        if fault.retry_after is not None:
            details = {**(details or {}), "retryAfterSeconds": fault.retry_after}
        reason = fault.reason or REASONS.get(code, "Unknown")
        return KubeApiError(code, reason, message or f"injected fault {code}", details)

    # --- HTTP -------------------------------------------------------------------------------

    def _make_app(self) -> web.Application:
        # handler_cancellation: a watch whose client hung up is cancelled, not left waiting.
        app = web.Application(handler_args={"handler_cancellation": True})
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        query = {k: v for k, v in request.query.items()}
        raw = await request.read() if request.can_read_body else b""
        body: Any = None
        body_error: str | None = None
        if raw:
            try:
                yaml_body = "yaml" in request.content_type
                body = yaml.safe_load(raw) if yaml_body else json.loads(raw)
            except ValueError as exc:
                body_error = f"the body of the request could not be decoded: {exc}"
        path = request.path
        try:  # only to word fault messages
            route = self._route(path.rstrip("/"))
        except KubeApiError:
            route = None
        response: web.StreamResponse
        fault = self._take_fault(request.method, path)
        try:
            if fault is not None:
                err = self._fault_error(fault, request.method, path, route)
                extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                response = _status_response(err, extra)
            elif self.token is not None and (
                request.headers.get("Authorization") != f"Bearer {self.token}"
            ):
                response = _status_response(KubeApiError(401, "Unauthorized", "Unauthorized"))
            elif body_error is not None:
                raise bad_request(body_error)
            elif route is not None and not self._allowed(
                _verb(request.method, route, query), route.rt.group, route.rt.plural
            ):
                verb = _verb(request.method, route, query)
                forbidden = _forbidden_message(verb, path, route)
                details = {"group": route.rt.group, "kind": route.rt.plural}
                response = _status_response(KubeApiError(403, "Forbidden", forbidden, details))
            else:
                response = await self._dispatch(request, path, query, body)
                if not isinstance(response, web.Response):
                    return response  # a watch stream, logged when it started
        except KubeApiError as err:
            response = _status_response(err)
        except SelectorError as err:
            response = _status_response(bad_request(str(err)))
        except Exception as exc:  # an emulator bug: answer like an apiserver panic, loudly
            log.exception("KubeEmulator %s failed on %s %s", self.name, request.method, path)
            response = _status_response(
                KubeApiError(500, "InternalError", f"emulator bug: {exc!r}")
            )
        self.requests.append(LoggedRequest(request.method, path, query, response.status, body))
        return response

    async def _dispatch(
        self, request: web.Request, path: str, query: dict[str, str], body: Any
    ) -> web.StreamResponse:
        method = request.method
        bare = path.rstrip("/") or "/"
        if bare in HEALTH_PATHS:
            return web.Response(text="ok")
        if (
            bare in ("/version", "/api", "/apis", "/")
            or (bare.startswith("/apis/") and bare.count("/") <= 3)
            or bare == "/api/v1"
        ):
            if method != "GET":
                raise KubeApiError(405, "MethodNotAllowed", "the server does not allow this method")
            return _json_response(self._discovery(bare, request))
        if bare == ACCESS_REVIEWS:
            if method != "POST":
                raise KubeApiError(405, "MethodNotAllowed", "the server does not allow this method")
            return _json_response(self._access_review(body), 201)
        if not bare.startswith(("/api/", "/apis/")):
            raise KubeApiError(404, "NotFound", "the server could not find the requested resource")
        route = self._route(bare)
        warns = [route.rt.deprecation] if route.rt.deprecation else []
        if route.subresource not in (None, "status") or (
            route.subresource == "status" and not route.rt.status_subresource
        ):
            raise KubeApiError(404, "NotFound", "the server could not find the requested resource")
        if route.name is None and method == "GET" and _truthy(query.get("watch")):
            return await self._watch(request, route, query)
        if route.name is not None and method == "GET" and _truthy(query.get("watch")):
            query = {**query, "fieldSelector": f"metadata.name={route.name}"}
            return await self._watch(request, route, query)
        dry_run = "dryRun" in query
        strict = query.get("fieldValidation") == "Strict"
        rt, ns = route.rt, route.namespace
        if route.name is None:
            if method == "GET":
                return _json_response(self._list(route, query), warns=warns)
            if method == "POST" and (ns or not rt.namespaced):
                written = self.cluster.write(
                    rt, ns, clone_json(body), mode="create", dry_run=dry_run, strict=strict
                )
                return _json_response(written.obj, 201, warns + written.warnings)
            if method == "DELETE" and (ns or not rt.namespaced):
                return _json_response(self._delete_collection(route, query), warns=warns)
        else:
            if method == "GET":
                return _json_response(self.cluster.get(rt, ns, route.name), warns=warns)
            if method in ("PUT", "PATCH"):
                written = self._update(request, route, body, dry_run, strict)
                return _json_response(written.obj, 200, warns + written.warnings)
            if method == "DELETE" and route.subresource is None:
                return _json_response(self._delete(route, body, dry_run), warns=warns)
        raise KubeApiError(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )

    def _route(self, path: str) -> _Route:
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) >= 3:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise KubeApiError(404, "NotFound", "the server could not find the requested resource")
        served = self.cluster.by_gvr

        def lookup(plural: str) -> ResourceType:
            rt = served.get((group, version, plural))
            if rt is None:
                raise KubeApiError(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                    {"group": group, "kind": plural},
                )
            return rt

        # namespaces/{ns}/{plural}[/{name}[/{sub}]] unless it is the Namespace object itself.
        if len(rest) >= 3 and rest[0] == "namespaces" and (group, version, rest[2]) in served:
            rt = lookup(rest[2])
            if not rt.namespaced:
                raise KubeApiError(
                    404, "NotFound", "the server could not find the requested resource"
                )
            sub = "/".join(rest[4:]) or None
            return _Route(rt, rest[1], rest[3] if len(rest) > 3 else None, sub)
        rt = lookup(rest[0])
        if len(rest) > 1 and rt.namespaced:
            raise KubeApiError(404, "NotFound", "the server could not find the requested resource")
        return _Route(rt, "", rest[1] if len(rest) > 1 else None, "/".join(rest[2:]) or None)

    def _list(self, route: _Route, query: dict[str, str]) -> JSON:
        rt = route.rt
        selectors = (
            label_matcher(query.get("labelSelector")),
            field_matcher(query.get("fieldSelector"), rt.fields),
        )
        try:
            limit = int(query.get("limit") or 0)
        except ValueError as exc:
            raise bad_request(f"invalid limit: {query['limit']}") from exc
        page = self.cluster.page(rt, route.namespace, selectors, limit, query.get("continue"))
        meta: JSON = {"resourceVersion": str(page.resource_version)}
        if page.token:
            meta["continue"] = page.token
        if page.remaining is not None:
            meta["remainingItemCount"] = page.remaining
        items = page.items
        if rt.builtin:  # typed lists from a real server carry no per-item apiVersion/kind
            items = [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in items]
        return {
            "apiVersion": rt.api_version,
            "kind": f"{rt.kind}List",
            "metadata": meta,
            "items": items,
        }

    def _update(
        self, request: web.Request, route: _Route, body: Any, dry_run: bool, strict: bool
    ) -> Any:
        rt, ns, name = route.rt, route.namespace, route.name
        assert name is not None
        status_only = route.subresource == "status"
        if request.method == "PUT":
            return self.cluster.write(
                rt,
                ns,
                clone_json(body),
                mode="update",
                name=name,
                status_only=status_only,
                dry_run=dry_run,
                strict=strict,
            )
        kind = request.content_type
        if kind == "application/strategic-merge-patch+json" and not rt.builtin:
            raise KubeApiError(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - "
                "accepted media types include: application/json-patch+json, "
                "application/merge-patch+json, application/apply-patch+yaml",
            )
        if kind in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            apply: Callable[[Any, Any], Any] = (
                merge_patch  # strategic merge is a plain merge here: lists are replaced
            )
        elif kind == "application/json-patch+json":
            apply = json_patch
        else:
            raise KubeApiError(
                415,
                "UnsupportedMediaType",
                f"the emulator does not support {kind or 'this'} patches (server-side apply is "
                "not emulated); use merge, strategic-merge or JSON patch",
            )
        with self.cluster.lock:  # get + write atomically, as the server retries patches
            current = self.cluster.get(rt, ns, name)
            try:
                patched = apply(clone_json(current), clone_json(body))  # never share stored dicts
            except ValueError as exc:
                raise KubeApiError(
                    422, "Invalid", f"the patch could not be applied: {exc}"
                ) from exc
            if not isinstance(patched, dict):
                raise bad_request("the patched object is not a JSON object")
            return self.cluster.write(
                rt,
                ns,
                patched,
                mode="update",
                name=name,
                status_only=status_only,
                dry_run=dry_run,
                strict=strict,
            )

    def _delete(self, route: _Route, body: Any, dry_run: bool) -> JSON:
        rt, name = route.rt, route.name
        assert name is not None
        options = body if isinstance(body, dict) else {}
        dry_run = dry_run or bool(options.get("dryRun"))
        obj, gone = self.cluster.delete(
            rt, route.namespace, name, preconditions=options.get("preconditions"), dry_run=dry_run
        )
        if gone and rt.builtin and rt.kind not in ("Pod", "Namespace"):
            details = {
                "name": name,
                "group": rt.group,
                "kind": rt.plural,
                "uid": obj["metadata"].get("uid"),
            }
            return {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": details,
            }
        return obj

    def _delete_collection(self, route: _Route, query: dict[str, str]) -> JSON:
        rt = route.rt
        selectors = (
            label_matcher(query.get("labelSelector")),
            field_matcher(query.get("fieldSelector"), rt.fields),
        )
        deleted = []
        with self.cluster.lock:
            for obj in self.cluster.select(rt, route.namespace, selectors):
                meta = obj["metadata"]
                ns = meta.get("namespace", "")
                deleted.append(
                    self.cluster.delete(rt, ns, meta["name"], dry_run="dryRun" in query)[0]
                )
        meta_out = {"resourceVersion": str(self.cluster.rv)}
        return {
            "apiVersion": rt.api_version,
            "kind": f"{rt.kind}List",
            "metadata": meta_out,
            "items": deleted,
        }

    async def _watch(
        self, request: web.Request, route: _Route, query: dict[str, str]
    ) -> web.StreamResponse:
        rt = route.rt
        selectors = (
            label_matcher(query.get("labelSelector")),
            field_matcher(query.get("fieldSelector"), rt.fields),
        )
        try:
            timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else None
        except ValueError as exc:
            raise bad_request(f"invalid timeoutSeconds: {query['timeoutSeconds']}") from exc
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, JSON] | None] = asyncio.Queue()
        watcher = Watcher(self.cluster, rt, route.namespace, None, selectors, loop, queue)
        expired: KubeApiError | None = None
        initial: list[tuple[str, JSON]] = []
        try:
            initial = self.cluster.watch(watcher, query.get("resourceVersion"))
        except KubeApiError as err:
            if err.code != 410:
                raise
            expired = err  # a real server answers 200 and sends the 410 as an ERROR event
        response = web.StreamResponse(status=200)
        response.content_type = "application/json"
        response.enable_chunked_encoding()
        await response.prepare(request)
        self.requests.append(LoggedRequest("GET", request.path, query, 200))

        async def send(kind: str, obj: JSON) -> None:
            await response.write(_dumps({"type": kind, "object": obj}) + b"\n")

        try:
            if expired is not None:
                await send("ERROR", expired.status())
                return response
            for kind, obj in initial:
                await send(kind, obj)
            if _truthy(query.get("sendInitialEvents")):
                await send("BOOKMARK", self._bookmark(rt, initial_end=True))
            deadline = (
                loop.time() + timeout * self.watch_timeout_scale if timeout is not None else None
            )
            while True:
                left = None if deadline is None else deadline - loop.time()
                if left is not None and left <= 0:
                    break
                try:
                    item = await asyncio.wait_for(queue.get(), left)
                except TimeoutError:
                    break
                if item is None:
                    break
                await send(*item)
            if _truthy(query.get("allowWatchBookmarks")) and deadline is not None:
                await send("BOOKMARK", self._bookmark(rt))
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client went away
        finally:
            self.cluster.watchers.discard(watcher)
        return response

    def _bookmark(self, rt: ResourceType, initial_end: bool = False) -> JSON:
        meta: JSON = {"resourceVersion": str(self.cluster.rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta}

    # --- discovery --------------------------------------------------------------------------

    def _groups(self) -> dict[str, list[str]]:
        versions: dict[str, set[str]] = {}
        for rt in self.cluster.served():
            versions.setdefault(rt.group, set()).add(rt.version)
        order = [g for g in BUILTIN_GROUPS if g in versions]
        order += sorted(g for g in versions if g and g not in BUILTIN_GROUPS)
        return {g: sort_versions(versions[g]) for g in order}

    def _group_json(self, group: str, versions: list[str]) -> JSON:
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": entries, "preferredVersion": entries[0]}

    def _discovery(self, path: str, request: web.Request) -> JSON:
        major, minor = re.findall(r"\d+", self.kube_version)[:2]
        if path == "/version":
            return {
                "major": major,
                "minor": minor,
                "gitVersion": self.kube_version,
                "gitCommit": "9edcffcde5595e8a5b1a35f88c421764e575afce",
                "gitTreeState": "clean",
                "buildDate": "2024-08-13T07:28:49Z",
                "goVersion": "go1.22.5",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        if path == "/":
            return {
                "paths": ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/version"]
            }
        if path == "/api":
            host = request.host or "127.0.0.1"
            return {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}],
            }
        groups = self._groups()
        if path == "/apis":
            items = [self._group_json(g, v) for g, v in groups.items() if g]
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": items}
        parts = path.strip("/").split("/")  # /api/v1, /apis/{group}, /apis/{group}/{version}
        group = parts[1] if parts[0] == "apis" else ""
        if group and (group not in groups or (len(parts) > 2 and parts[2] not in groups[group])):
            raise KubeApiError(404, "NotFound", "the server could not find the requested resource")
        if group and len(parts) == 2:
            return {
                "kind": "APIGroup",
                "apiVersion": "v1",
                **self._group_json(group, groups[group]),
            }
        version = parts[2] if group else "v1"
        resources: list[JSON] = []
        types = [rt for rt in self.cluster.served() if (rt.group, rt.version) == (group, version)]
        for rt in sorted(types, key=lambda t: t.plural):
            verbs = [
                v
                for v in (
                    "create",
                    "delete",
                    "deletecollection",
                    "get",
                    "list",
                    "patch",
                    "update",
                    "watch",
                )
                if not (rt.kind == "Namespace" and v == "deletecollection")
            ]
            entry: JSON = {
                "name": rt.plural,
                "singularName": rt.singular,
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": verbs,
            }
            if rt.short_names:
                entry["shortNames"] = list(rt.short_names)
            if rt.categories:
                entry["categories"] = list(rt.categories)
            resources.append(entry)
            if rt.status_subresource:
                resources.append(
                    {
                        "name": f"{rt.plural}/status",
                        "singularName": "",
                        "namespaced": rt.namespaced,
                        "kind": rt.kind,
                        "verbs": ["get", "patch", "update"],
                    }
                )
        gv = f"{group}/{version}" if group else version
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": gv,
            "resources": resources,
        }

"""Resource types, object metadata and the built-in kinds of the Kubernetes emulator.

Built-in kinds get no OpenAPI schema here, only the server-side checks and defaults whose
absence would let a broken fixture through or hide a field the bot reads on a real cluster.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from .kube_schema import Node

JSON = dict[str, Any]
T = TypeVar("T")
DEFAULT_FIELDS = ("metadata.name", "metadata.namespace")
META_KEYS = frozenset(
    (
        "name",
        "generateName",
        "namespace",
        "labels",
        "annotations",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "finalizers",
        "ownerReferences",
        "managedFields",
        "selfLink",
    )
)


@dataclass(frozen=True)
class Cause:
    """One field error, shaped like ``Status.details.causes[]``."""

    reason: str
    field: str
    message: str


@dataclass(frozen=True, eq=False)
class ResourceType:
    """One served group/version/resource."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status_subresource: bool = True
    schema: Node | None = None
    fields: tuple[str, ...] = DEFAULT_FIELDS
    crd_name: str | None = None
    deprecation: str | None = None
    # Built-in lists omit apiVersion/kind on items; custom resource lists keep them.
    builtin: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def resource(self) -> str:
        """``deployments.apps`` / ``pods``: how the API server names it in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind


def _builtin(
    group: str,
    kind: str,
    plural: str,
    short: tuple[str, ...],
    *,
    namespaced: bool = True,
    status: bool = True,
    extra_fields: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
) -> ResourceType:
    version = "v1"
    return ResourceType(
        group,
        version,
        kind,
        plural,
        kind.lower(),
        namespaced,
        short,
        categories,
        status,
        fields=DEFAULT_FIELDS + extra_fields,
    )


POD_FIELDS = (
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
)
BUILTIN_TYPES: tuple[ResourceType, ...] = (
    _builtin(
        "", "Namespace", "namespaces", ("ns",), namespaced=False, extra_fields=("status.phase",)
    ),
    _builtin("", "Pod", "pods", ("po",), extra_fields=POD_FIELDS, categories=("all",)),
    _builtin("", "Service", "services", ("svc",), categories=("all",)),
    _builtin("", "ConfigMap", "configmaps", ("cm",), status=False),
    _builtin("apps", "Deployment", "deployments", ("deploy",), categories=("all",)),
    _builtin(
        "apps",
        "ReplicaSet",
        "replicasets",
        ("rs",),
        extra_fields=("status.replicas",),
        categories=("all",),
    ),
    _builtin("apps", "StatefulSet", "statefulsets", ("sts",), categories=("all",)),
    _builtin("apps", "DaemonSet", "daemonsets", ("ds",), categories=("all",)),
    _builtin("coordination.k8s.io", "Lease", "leases", (), status=False),
    _builtin(
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        ("crd", "crds"),
        namespaced=False,
    ),
)


# --- JSON values ---------------------------------------------------------------------------


def format_time(value: dt.datetime, micro: bool = False) -> str:
    value = value.astimezone(dt.UTC) if value.tzinfo else value
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def clone_json(value: T) -> T:
    """Deep copy limited to JSON types; datetimes become RFC 3339 strings like on the wire."""
    return cast(T, _clone(value, ""))


def _clone(value: Any, path: str) -> Any:
    if isinstance(value, dict):
        return {str(k): _clone(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clone(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dt.datetime):
        return format_time(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise ValueError(f"{path or 'object'}: {type(value).__name__} is not a JSON value")


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})$"
)


def type_error(path: str, v: Any, want: str) -> Cause:
    got = json_type(v)
    return Cause(
        "FieldValueTypeInvalid",
        path,
        f'Invalid value: "{got}": {path} in body must be of type {want}: "{got}"',
    )


def show(v: Any) -> str:
    return f'"{v}"' if isinstance(v, str) else repr(v)


# --- object metadata and built-in kinds -----------------------------------------------------

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_DNS = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_KEY = re.compile(r"^([a-z0-9.-]{1,253}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


def validate_meta(rt: ResourceType, obj: JSON) -> list[Cause]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return [Cause("FieldValueRequired", "metadata", "Required value")]
    causes = []
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        causes.append(
            Cause("FieldValueRequired", "metadata.name", "name or generateName is required")
        )
    else:
        rx = _LABEL_DNS if rt.kind in ("Namespace", "Service") else _SUBDOMAIN
        if len(name) > (63 if rx is _LABEL_DNS else 253) or not rx.match(name):
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    "metadata.name",
                    f'Invalid value: "{name}": a lowercase RFC 1123 name must consist '
                    "of lower case alphanumeric characters, '-' or '.'",
                )
            )
    for which in ("labels", "annotations"):
        entries = meta.get(which)
        if entries is None:
            continue
        if not isinstance(entries, dict):
            causes.append(type_error(f"metadata.{which}", entries, "object"))
            continue
        for k, v in entries.items():
            where = f"metadata.{which}"
            if not isinstance(v, str):
                causes.append(type_error(f"{where}[{k}]", v, "string"))
            elif which == "labels" and (len(v) > 63 or not _LABEL_VALUE.match(v)):
                causes.append(
                    Cause(
                        "FieldValueInvalid",
                        where,
                        f'Invalid value: "{v}": a valid label must be 63 characters or less',
                    )
                )
            if not _LABEL_KEY.match(k):
                causes.append(
                    Cause(
                        "FieldValueInvalid",
                        where,
                        f'Invalid value: "{k}": name part must consist of alphanumeric characters',
                    )
                )
    return causes


_WORKLOADS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet")


def validate_builtin(rt: ResourceType, obj: JSON) -> list[Cause]:
    """The handful of server-side checks whose absence lets a broken fixture through."""
    causes: list[Cause] = []
    spec = obj.get("spec")
    if rt.kind in _WORKLOADS:
        if not isinstance(spec, dict):
            return [Cause("FieldValueRequired", "spec", "Required value")]
        selector = spec.get("selector")
        template = spec.get("template")
        if not isinstance(selector, dict):
            causes.append(Cause("FieldValueRequired", "spec.selector", "Required value"))
        if not isinstance(template, dict):
            causes.append(Cause("FieldValueRequired", "spec.template", "Required value"))
            return causes
        labels = (template.get("metadata") or {}).get("labels") or {}
        wanted = (selector or {}).get("matchLabels") or {}
        if any(labels.get(k) != v for k, v in wanted.items()):
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    "spec.template.metadata.labels",
                    "Invalid value: `selector` does not match template `labels`",
                )
            )
        causes += _containers(template.get("spec"), "spec.template.spec")
    elif rt.kind == "Pod":
        causes += _containers(spec, "spec")
    elif rt.kind == "ConfigMap":
        for k, v in (obj.get("data") or {}).items():
            if not isinstance(v, str):
                causes.append(type_error(f"data[{k}]", v, "string"))
    elif rt.kind == "Lease" and isinstance(spec, dict):
        for key in ("acquireTime", "renewTime"):
            if spec.get(key) is not None and not DATE_TIME.match(str(spec[key])):
                causes.append(
                    Cause(
                        "FieldValueInvalid",
                        f"spec.{key}",
                        f"Invalid value: {show(spec[key])}: not an RFC 3339 time",
                    )
                )
    return causes


def _containers(pod_spec: Any, path: str) -> list[Cause]:
    if not isinstance(pod_spec, dict) or not pod_spec.get("containers"):
        return [Cause("FieldValueRequired", f"{path}.containers", "Required value")]
    causes = []
    for i, c in enumerate(pod_spec["containers"]):
        for key in ("name", "image"):
            if not isinstance(c, dict) or not c.get(key):
                causes.append(
                    Cause("FieldValueRequired", f"{path}.containers[{i}].{key}", "Required value")
                )
    return causes


_WORKLOAD_DEFAULTS: dict[str, JSON] = {
    "Deployment": {
        "replicas": 1,
        "revisionHistoryLimit": 10,
        "progressDeadlineSeconds": 600,
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
        },
    },
    "ReplicaSet": {"replicas": 1},
    "StatefulSet": {
        "replicas": 1,
        "revisionHistoryLimit": 10,
        "podManagementPolicy": "OrderedReady",
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
    },
    "DaemonSet": {
        "revisionHistoryLimit": 10,
        "updateStrategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
        },
    },
}


def default_builtin(rt: ResourceType, obj: JSON) -> None:
    """Defaults the API server always fills, so readers see them as on a real cluster."""
    spec = obj.get("spec")
    if rt.kind in _WORKLOAD_DEFAULTS and isinstance(spec, dict):
        for key, value in _WORKLOAD_DEFAULTS[rt.kind].items():
            spec.setdefault(key, copy.deepcopy(value))
    elif rt.kind == "Namespace":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")
    elif rt.kind == "Pod":
        if isinstance(obj.get("status"), dict):
            obj["status"].setdefault("phase", "Pending")
        else:
            obj["status"] = {"phase": "Pending"}
    elif rt.kind == "Lease" and isinstance(spec, dict):
        for key in ("acquireTime", "renewTime"):  # MicroTime comes back as ...000000Z
            raw = spec.get(key)
            if isinstance(raw, str):
                with contextlib.suppress(ValueError):  # else validate_builtin reports it
                    spec[key] = format_time(dt.datetime.fromisoformat(raw), micro=True)

"""CRD schemas for the Kubernetes emulator (see ``kube.py``): loading, pruning, validation.

Custom resources are checked the way kube-apiserver checks them against a structural
``openAPIV3Schema``: ``null`` in a non-nullable field is dropped, unknown fields are pruned,
``default`` values are filled in, then types, enums, patterns, required fields, list-type
uniqueness and the simple CEL rules (``has()``, ``==``, ``&&``...) are checked.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .kube_cel import Missing, Rule, evaluate, parse_rule, uses_old
from .kube_kinds import (
    DATE_TIME,
    DEFAULT_FIELDS,
    JSON,
    Cause,
    ResourceType,
    json_type,
    show,
    type_error,
)

CRD_DIR = Path(__file__).resolve().parent / "reference" / "crds"
DEFAULT_CRDS: tuple[Path, ...] = tuple(sorted(CRD_DIR.glob("*.yaml")))
LEGACY_CRDS: tuple[Path, ...] = tuple(sorted((CRD_DIR / "legacy").glob("*.yaml")))
LEGACY_HELMRELEASE_CRD = CRD_DIR / "legacy" / "helm.toolkit.fluxcd.io_helmreleases.v1.3.0.yaml"


# --- YAML / JSON ---------------------------------------------------------------------------


_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 10x faster on CRDs


class _Loader(_BaseLoader):  # type: ignore[misc]
    """Safe loader that keeps timestamps as the strings the API server would hold."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}

_YAML_CACHE: dict[tuple[str, float], list[Any]] = {}


def load_yaml_documents(path_or_text: str | Path) -> list[Any]:
    """Every document of a YAML file or text. File results are cached: treat them read-only."""
    if isinstance(path_or_text, Path) or "\n" not in path_or_text:
        path = Path(path_or_text)
        cache_key = (str(path.resolve()), path.stat().st_mtime)
        if cache_key not in _YAML_CACHE:
            _YAML_CACHE[cache_key] = list(yaml.load_all(path.read_text(), Loader=_Loader))
        return _YAML_CACHE[cache_key]
    return list(yaml.load_all(path_or_text, Loader=_Loader))


# --- structural schema -----------------------------------------------------------------------
_INT_RANGE = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


@dataclass(eq=False)
class Node:
    """A compiled ``openAPIV3Schema`` node: only what pruning, defaulting and checks need."""

    type: str | None = None
    nullable: bool = False
    int_or_string: bool = False
    preserve: bool = False
    embedded: bool = False
    properties: dict[str, Node] = field(default_factory=dict)
    additional: Node | bool | None = None
    items: Node | None = None
    required: tuple[str, ...] = ()
    enum: list[Any] | None = None
    pattern: re.Pattern[str] | None = None
    fmt: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    min_items: int | None = None
    max_items: int | None = None
    list_type: str | None = None
    map_keys: tuple[str, ...] = ()
    default: Any = None
    has_default: bool = False
    any_of: list[Node] = field(default_factory=list)
    rules: list[tuple[Rule, JSON]] = field(default_factory=list)


_COMPILED: dict[int, tuple[JSON, Node]] = {}


def compile_schema(schema: JSON) -> Node:
    """Compile once per schema dict (the YAML cache keeps the dicts alive)."""
    hit = _COMPILED.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    node = _compile(schema)
    _COMPILED[id(schema)] = (schema, node)
    return node


def _compile(s: JSON) -> Node:
    n = Node(
        type=s.get("type"),
        nullable=bool(s.get("nullable")),
        int_or_string=bool(s.get("x-kubernetes-int-or-string")),
        preserve=bool(s.get("x-kubernetes-preserve-unknown-fields")),
        embedded=bool(s.get("x-kubernetes-embedded-resource")),
        required=tuple(s.get("required", ())),
        enum=s.get("enum"),
        fmt=s.get("format"),
        min_length=s.get("minLength"),
        max_length=s.get("maxLength"),
        minimum=s.get("minimum"),
        maximum=s.get("maximum"),
        min_items=s.get("minItems"),
        max_items=s.get("maxItems"),
        list_type=s.get("x-kubernetes-list-type"),
        map_keys=tuple(s.get("x-kubernetes-list-map-keys", ())),
        default=s.get("default"),
        has_default="default" in s,
    )
    if "pattern" in s:
        n.pattern = re.compile(s["pattern"])
    n.properties = {k: _compile(v) for k, v in s.get("properties", {}).items()}
    extra = s.get("additionalProperties")
    n.additional = _compile(extra) if isinstance(extra, dict) else extra
    if isinstance(s.get("items"), dict):
        n.items = _compile(s["items"])
    if not n.int_or_string:
        n.any_of = [_compile(x) for x in s.get("anyOf", ())]
    for rule in s.get("x-kubernetes-validations", ()):
        parsed = parse_rule(rule.get("rule", ""))
        if parsed is not None:  # rules beyond the small CEL subset are skipped
            n.rules.append((parsed, rule))
    return n


@dataclass
class Outcome:
    causes: list[Cause] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def apply_schema(node: Node, obj: JSON, old: JSON | None) -> Outcome:
    """Prune, default and validate ``obj`` in place, as the API server does on a write."""
    out = Outcome()
    # metadata is ObjectMeta, checked by validate_meta; the CRD schema only says "object".
    props = {k: v for k, v in node.properties.items() if k not in ("metadata", "apiVersion")}
    root = Node(
        type="object", properties=props, required=node.required, rules=node.rules, embedded=True
    )
    _walk(root, obj, "", old, out)
    return out


def _walk(n: Node, v: Any, path: str, old: Any, out: Outcome) -> None:
    causes = out.causes
    want = n.type
    if n.int_or_string:
        if not isinstance(v, str | int) or isinstance(v, bool):
            causes.append(type_error(path, v, "integer or string"))
            return
    elif want is not None and not _type_ok(want, v):
        causes.append(type_error(path, v, want))
        return
    if isinstance(v, dict):
        _walk_object(n, v, path, old if isinstance(old, dict) else None, out)
    elif isinstance(v, list):
        _walk_array(n, v, path, out)
    else:
        _check_scalar(n, v, path, causes)
    if n.enum is not None and v not in n.enum:
        allowed = ", ".join(f'"{x}"' if isinstance(x, str) else str(x) for x in n.enum)
        causes.append(
            Cause(
                "FieldValueNotSupported",
                path,
                f"Unsupported value: {show(v)}: supported values: {allowed}",
            )
        )
    for sub in n.any_of:
        probe = Outcome()
        _walk(sub, copy.deepcopy(v), path, old, probe)
        if not probe.causes:
            break
    else:
        if n.any_of:
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    path,
                    f"Invalid value: {show(v)}: must match a schema in anyOf",
                )
            )
    for rule, spec in n.rules:
        _check_rule(rule, spec, v, old, path, causes)


def _walk_object(n: Node, v: JSON, path: str, old: JSON | None, out: Outcome) -> None:
    for key in list(v):
        child = n.properties.get(key)
        sub = _join(path, key)
        if child is None and isinstance(n.additional, Node):
            child, sub = n.additional, f"{path}[{key}]"
        value = v[key]
        if child is None:
            if n.preserve or n.additional is True:
                continue
            if n.embedded and key in ("apiVersion", "kind", "metadata"):
                continue
            out.pruned.append(sub)
            del v[key]
            continue
        if value is None and not child.nullable:
            del v[key]  # as kube-apiserver: null in a non-nullable field is dropped, then defaulted
            continue
        if value is not None:
            _walk(child, value, sub, old.get(key) if old else None, out)
    for key, child in n.properties.items():
        if key not in v and child.has_default:
            v[key] = copy.deepcopy(child.default)
            _walk(child, v[key], _join(path, key), None, Outcome())
    for key in n.required:
        if key not in v:
            out.causes.append(Cause("FieldValueRequired", _join(path, key), "Required value"))


def _walk_array(n: Node, v: list[Any], path: str, out: Outcome) -> None:
    causes = out.causes
    if n.max_items is not None and len(v) > n.max_items:
        causes.append(
            Cause(
                "FieldValueTooMany",
                path,
                f"Too many: {len(v)}: must have at most {n.max_items} items",
            )
        )
    if n.min_items is not None and len(v) < n.min_items:
        causes.append(
            Cause(
                "FieldValueInvalid",
                path,
                f"Invalid value: {len(v)}: should have at least {n.min_items} items",
            )
        )
    if n.items is not None:
        for i, item in enumerate(v):
            if item is None and not n.items.nullable:
                causes.append(type_error(f"{path}[{i}]", item, n.items.type or "object"))
            elif item is not None:
                _walk(n.items, item, f"{path}[{i}]", None, out)
    if n.list_type in ("set", "map"):
        seen: set[str] = set()
        for i, item in enumerate(v):
            if n.list_type == "map" and isinstance(item, dict):
                ident = repr({k: item.get(k) for k in n.map_keys})
            else:
                ident = repr(item)
            if ident in seen:
                causes.append(
                    Cause("FieldValueDuplicate", f"{path}[{i}]", f"Duplicate value: {ident}")
                )
            seen.add(ident)


def _check_scalar(n: Node, v: Any, path: str, causes: list[Cause]) -> None:
    if isinstance(v, str):
        if n.max_length is not None and len(v) > n.max_length:
            causes.append(
                Cause(
                    "FieldValueTooLong",
                    path,
                    f"Too long: may not be more than {n.max_length} bytes",
                )
            )
        if n.min_length is not None and len(v) < n.min_length:
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    path,
                    f"Invalid value: {show(v)}: "
                    f"{path} in body should be at least {n.min_length} chars long",
                )
            )
        if n.pattern is not None and not n.pattern.search(v):
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    path,
                    f"Invalid value: {show(v)}: {path} in body should match '{n.pattern.pattern}'",
                )
            )
        if n.fmt == "date-time" and not DATE_TIME.match(v):
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    path,
                    f"Invalid value: {show(v)}: "
                    f"{path} in body must be of type date-time: {show(v)}",
                )
            )
    elif isinstance(v, int | float) and not isinstance(v, bool):
        low, high = _INT_RANGE.get(n.fmt or "", (n.minimum, n.maximum))
        if n.minimum is not None:
            low = n.minimum if low is None else max(low, n.minimum)
        if n.maximum is not None:
            high = n.maximum if high is None else min(high, n.maximum)
        if (low is not None and v < low) or (high is not None and v > high):
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    path,
                    f"Invalid value: {v}: {path} in body should be in range [{low}, {high}]",
                )
            )


def _type_ok(want: str, v: Any) -> bool:
    got = json_type(v)
    if want == "number":
        return got in ("integer", "number")
    if want == "integer" and got == "number":
        return float(v).is_integer()  # Go decodes 1.0 as a float that still passes
    return got == want


def _check_rule(rule: Rule, spec: JSON, v: Any, old: Any, path: str, causes: list[Cause]) -> None:
    if uses_old(rule) and old is None:
        return  # transition rules only run on updates
    try:
        ok = evaluate(rule, {"self": v, "oldSelf": old})
        message = spec.get("message") or f"failed rule: {spec.get('rule')}"
    except Missing as exc:
        ok, message = False, f"no such key: {exc} evaluating rule: {spec.get('rule')}"
    if not ok:
        where = path + spec.get("fieldPath", "") if path else spec.get("fieldPath", "")[1:]
        reason = spec.get("reason", "FieldValueInvalid")
        causes.append(Cause(reason, where, f"Invalid value: {show(json_type(v))}: {message}"))


# --- CRDs -----------------------------------------------------------------------------------


def _version_key(version: str) -> tuple[int, int, int, str]:
    """kube-aware ordering: GA before beta before alpha, higher numbers first."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if m is None:
        return (3, 0, 0, version)
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (stage, -int(m.group(1)), -int(m.group(3) or 0), version)


def sort_versions(versions: Iterable[str]) -> list[str]:
    return sorted(set(versions), key=_version_key)


def crd_types(crd: JSON) -> list[ResourceType]:
    """The served versions of a CustomResourceDefinition object."""
    spec = crd["spec"]
    names = spec["names"]
    out = []
    for ver in spec.get("versions", ()):
        if not ver.get("served", False):
            continue
        schema = (ver.get("schema") or {}).get("openAPIV3Schema")
        selectable = tuple(f["jsonPath"].lstrip(".") for f in ver.get("selectableFields", ()))
        deprecation = None
        if ver.get("deprecated"):
            deprecation = ver.get("deprecationWarning") or (
                f"{spec['group']}/{ver['name']} {names['kind']} is deprecated"
            )
        out.append(
            ResourceType(
                group=spec["group"],
                version=ver["name"],
                kind=names["kind"],
                plural=names["plural"],
                singular=names.get("singular", names["kind"].lower()),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames", ())),
                categories=tuple(names.get("categories", ())),
                status_subresource="status" in (ver.get("subresources") or {}),
                schema=compile_schema(schema) if schema else None,
                fields=DEFAULT_FIELDS + selectable,
                crd_name=crd["metadata"]["name"],
                deprecation=deprecation,
                builtin=False,
            )
        )
    return out


def restrict_served(crd: JSON, versions: Iterable[str]) -> JSON:
    """A copy of ``crd`` serving only ``versions`` (the schemas are shared, not copied)."""
    keep = set(versions)
    unknown = keep - {v["name"] for v in crd["spec"]["versions"]}
    if unknown:
        raise ValueError(f"{crd['metadata']['name']} has no versions {sorted(unknown)}")
    vers = [{**v, "served": v["name"] in keep} for v in crd["spec"]["versions"]]
    return {**crd, "spec": {**crd["spec"], "versions": vers}}

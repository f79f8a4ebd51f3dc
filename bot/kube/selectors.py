"""A workload's label selector, used the same way by ``/where`` and the drift scan. Pure.

``/where`` sends it to the API server (:func:`selector_string`); the scan applies it to lists it
already holds (:func:`selects`). Both read ``matchLabels`` and ``matchExpressions``, so the two
select the same ReplicaSets and Pods. An empty selector selects nothing here: apps/v1 requires
one, so an empty one means an unreadable object, not "everything".
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

_OPERATORS = {"In": "in", "NotIn": "notin"}


def _parts(selector: Obj) -> tuple[dict[str, Any], list[Obj]]:
    match = selector.get("matchLabels") or {}
    exprs = [e for e in selector.get("matchExpressions") or [] if isinstance(e, dict)]
    return match, exprs


def selector_string(selector: Obj) -> str | None:
    """The selector in the API's ``labelSelector`` syntax; None when it selects nothing."""
    match, exprs = _parts(selector)
    if not match and not exprs:
        return None
    terms = [f"{k}={v}" for k, v in sorted(match.items())]
    for e in exprs:
        key, op, values = e.get("key"), str(e.get("operator")), e.get("values") or []
        if op in _OPERATORS:
            terms.append(f"{key} {_OPERATORS[op]} ({','.join(sorted(map(str, values)))})")
        elif op == "Exists":
            terms.append(str(key))
        elif op == "DoesNotExist":
            terms.append(f"!{key}")
        else:
            return None  # an operator Kubernetes does not know: select nothing, as below
    return ",".join(terms)


def selects(selector: Obj, obj: Obj) -> bool:
    """Whether ``selector`` selects ``obj`` by its labels."""
    match, exprs = _parts(selector)
    if not match and not exprs:
        return False
    labels = (obj.get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in match.items()):
        return False
    for e in exprs:
        key, op, values = e.get("key"), e.get("operator"), e.get("values") or []
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }.get(str(op), False)
        if not ok:
            return False
    return True

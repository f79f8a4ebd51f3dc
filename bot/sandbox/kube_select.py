"""Label and field selectors with kube-apiserver's syntax and matching rules."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

Matcher = Callable[[dict[str, Any]], bool]


class SelectorError(ValueError):
    """A selector the API server would answer with 400 BadRequest."""


_KEY = r"[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"[A-Za-z0-9_.-]*"
_EXISTS = re.compile(rf"^\s*(!?)\s*({_KEY})\s*$")
_EQUALITY = re.compile(rf"^\s*({_KEY})\s*(==|=|!=)\s*({_VALUE})\s*$")
_SET = re.compile(rf"^\s*({_KEY})\s+(in|notin)\s*\(([^()]*)\)\s*$")
_NUMERIC = re.compile(rf"^\s*({_KEY})\s*([<>])\s*(-?\d+)\s*$")


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside ``( )``."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _requirement(text: str) -> Callable[[dict[str, str]], bool]:
    if m := _EQUALITY.match(text):
        key, op, value = m.groups()
        if op == "!=":  # also matches objects without the label, as on a real server
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if m := _SET.match(text):
        key, op, raw = m.groups()
        values = {v.strip() for v in raw.split(",")}
        if not all(re.fullmatch(_VALUE, v) for v in values):
            raise SelectorError(f"unable to parse requirement: invalid values in {text!r}")
        if op == "in":
            return lambda labels: key in labels and labels[key] in values
        return lambda labels: labels.get(key) not in values
    if m := _NUMERIC.match(text):
        key, op, raw = m.groups()
        bound = int(raw)

        def compare(labels: dict[str, str]) -> bool:
            try:
                number = int(labels[key])
            except (KeyError, ValueError):
                return False
            return number > bound if op == ">" else number < bound

        return compare
    if m := _EXISTS.match(text):
        negate, key = m.groups()
        if negate:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise SelectorError(f"unable to parse requirement: {text.strip()!r}")


def label_matcher(selector: str | None) -> Matcher | None:
    """A predicate over objects, or None for "everything"."""
    if not selector or not selector.strip():
        return None
    requirements = [_requirement(part) for part in _split_top_level(selector)]

    def match(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(req(labels) for req in requirements)

    return match


def _field_value(obj: dict[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return ""
        value = value[part]
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _split_escaped(text: str, sep: str) -> list[str]:
    """Split on ``sep`` not preceded by a backslash; unescape the parts."""
    parts, current, i = [], "", 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current += text[i + 1]
            i += 2
            continue
        if text.startswith(sep, i):
            parts.append(current)
            current = ""
            i += len(sep)
            continue
        current += ch
        i += 1
    parts.append(current)
    return parts


def field_matcher(selector: str | None, allowed: Iterable[str]) -> Matcher | None:
    """Equality-based field selector over the fields this resource supports."""
    if not selector or not selector.strip():
        return None
    allowed = set(allowed)
    tests: list[tuple[str, bool, str]] = []
    for part in _split_escaped(selector, ","):
        m = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(!=|==|=)(.*)$", part)
        if m is None:
            raise SelectorError(f"invalid selector: {part!r}; can't understand {part!r}")
        name, op, value = m.groups()
        if name not in allowed:
            raise SelectorError(f'field label not supported: "{name}"')
        tests.append((name, op == "!=", value.strip()))

    def match(obj: dict[str, Any]) -> bool:
        return all((_field_value(obj, name) == value) != negate for name, negate, value in tests)

    return match


def matches(obj: dict[str, Any], *matchers: Matcher | None) -> bool:
    return all(m is None or m(obj) for m in matchers)

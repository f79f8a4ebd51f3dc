"""The small subset of CEL that the vendored CRDs' ``x-kubernetes-validations`` rules use.

``has(self.a.b)``, ``self.a == 'x'``, ``!=``, ``!``, ``&&``, ``||``, parentheses, string, integer
and boolean literals, and ``oldSelf`` for transition rules. A rule using anything else is not
parsed (``parse_rule`` returns None) and the emulator skips it rather than guess.
"""

from __future__ import annotations

import re
from typing import Any

_CEL_TOKEN = re.compile(
    r"\s*(?:(?P<op>&&|\|\||==|!=|[!().])|(?P<str>'[^']*'|\"[^\"]*\")|(?P<num>-?\d+)"
    r"|(?P<id>[A-Za-z_][A-Za-z0-9_]*))"
)
Rule = tuple[Any, ...]  # a small AST: ("or", a, b), ("has", path), ("sel", root, path)...


class Missing(Exception):
    pass


def parse_rule(text: str) -> Rule | None:
    """Parse a CEL rule built from has(), ==, !=, !, &&, ||, literals; None if it uses more."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _CEL_TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            return None
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    try:
        rule, rest = _parse_or(tokens)
    except (IndexError, ValueError):
        return None
    return rule if not rest else None


def _parse_or(t: list[tuple[str, str]]) -> tuple[Rule, list[tuple[str, str]]]:
    left, t = _parse_and(t)
    while t and t[0] == ("op", "||"):
        right, t = _parse_and(t[1:])
        left = ("or", left, right)
    return left, t


def _parse_and(t: list[tuple[str, str]]) -> tuple[Rule, list[tuple[str, str]]]:
    left, t = _parse_unary(t)
    while t and t[0] == ("op", "&&"):
        right, t = _parse_unary(t[1:])
        left = ("and", left, right)
    return left, t


def _parse_unary(t: list[tuple[str, str]]) -> tuple[Rule, list[tuple[str, str]]]:
    if t[0] == ("op", "!"):
        inner, t = _parse_unary(t[1:])
        return ("not", inner), t
    left, t = _parse_primary(t)
    if t and t[0] in (("op", "=="), ("op", "!=")):
        op = t[0][1]
        right, t = _parse_primary(t[1:])
        return ("eq" if op == "==" else "ne", left, right), t
    return left, t


def _parse_primary(t: list[tuple[str, str]]) -> tuple[Rule, list[tuple[str, str]]]:
    kind, text = t[0]
    if (kind, text) == ("op", "("):
        inner, t = _parse_or(t[1:])
        if t[0] != ("op", ")"):
            raise ValueError("expected )")
        return inner, t[1:]
    if kind == "str":
        return ("lit", text[1:-1]), t[1:]
    if kind == "num":
        return ("lit", int(text)), t[1:]
    if kind == "id" and text in ("true", "false"):
        return ("lit", text == "true"), t[1:]
    if kind == "id" and text == "has" and t[1] == ("op", "("):
        sel, t = _parse_selector(t[2:])
        if t[0] != ("op", ")") or len(sel[2]) == 0:
            raise ValueError("bad has()")
        return ("has", sel), t[1:]
    if kind == "id" and text in ("self", "oldSelf"):
        return _parse_selector(t)
    raise ValueError(f"unsupported token {text}")


def _parse_selector(t: list[tuple[str, str]]) -> tuple[Rule, list[tuple[str, str]]]:
    kind, root = t[0]
    if kind != "id" or root not in ("self", "oldSelf"):
        raise ValueError("expected self")
    path: list[str] = []
    t = t[1:]
    while t and t[0] == ("op", "."):
        if t[1][0] != "id":
            raise ValueError("expected field")
        path.append(t[1][1])
        t = t[2:]
    return ("sel", root, tuple(path)), t


def uses_old(rule: Rule) -> bool:
    if rule[0] == "sel":
        return bool(rule[1] == "oldSelf")
    return any(uses_old(x) for x in rule[1:] if isinstance(x, tuple))


def evaluate(rule: Rule, env: dict[str, Any]) -> Any:
    op = rule[0]
    if op == "lit":
        return rule[1]
    if op == "sel":
        value = env[rule[1]]
        for part in rule[2]:
            if not isinstance(value, dict) or part not in value:
                raise Missing(part)
            value = value[part]
        return value
    if op == "has":
        _, root, path = rule[1]
        try:
            parent = evaluate(("sel", root, path[:-1]), env)
        except Missing:
            return False
        return isinstance(parent, dict) and path[-1] in parent
    if op == "not":
        return not evaluate(rule[1], env)
    if op == "and":
        return bool(evaluate(rule[1], env)) and bool(evaluate(rule[2], env))
    if op == "or":
        return bool(evaluate(rule[1], env)) or bool(evaluate(rule[2], env))
    left, right = evaluate(rule[1], env), evaluate(rule[2], env)
    return (left == right) if op == "eq" else (left != right)

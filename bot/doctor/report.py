"""The doctor's table and JSON, from the checks' results. Pure."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

PASS, FAIL = "✓", "✗"
NAME_WIDTH = 28  # longer names overflow their own row rather than push every row
NO_HINT = "rerun with SHIPTRACE_LOG_LEVEL=DEBUG to see why"


@dataclass(frozen=True)
class Check:
    """One row: what was checked, whether it passed, what was found, and (failed) what to do."""

    check: str
    ok: bool
    detail: str
    hint: str | None = None


def render_table(checks: Sequence[Check]) -> str:
    if not checks:
        return "no checks ran"
    width = max((len(c.check) for c in checks if len(c.check) <= NAME_WIDTH), default=0)
    rows = []
    for c in checks:
        if c.ok:
            rows.append(f"{PASS} {c.check.ljust(width)}  {c.detail}".rstrip())
        else:
            detail = c.detail or "failed"
            rows.append(f"{FAIL} {c.check.ljust(width)}  {detail} — {c.hint or NO_HINT}")
    failed = sum(not c.ok for c in checks)
    noun = "check" if len(checks) == 1 else "checks"
    summary = (
        f"{failed} of {len(checks)} {noun} failed" if failed else f"all {len(checks)} {noun} passed"
    )
    return "\n".join([*rows, "", summary])


def render_json(checks: Sequence[Check]) -> str:
    """A list of ``{check, ok, detail, hint}``; ``hint`` is null for a check that passed."""
    return json.dumps(
        [asdict(c) | {"hint": None if c.ok else (c.hint or NO_HINT)} for c in checks], indent=2
    )


def exit_code(checks: Sequence[Check]) -> int:
    """0 when every check passed, 1 when any failed (bad config exits 2 before any check)."""
    return 1 if any(not c.ok for c in checks) else 0


# Where a shiptrace error message turns from what went wrong to what to do about it:
# "...is unreachable (timed out); check that...", "...(401 Bad credentials): check GITHUB_TOKEN".
_FIX = re.compile(
    r"[;:] (?=(?:check|set|give|try|add|create|grant|copy|install|fix|wait|use|point|invite)\b)"
)


def failed(name: str, message: str, hint: str) -> Check:
    """A failed check from an error's message: its own fix, when it says one, is the hint."""
    m = _FIX.search(message)
    if m is None:
        return Check(name, False, message, hint)
    return Check(name, False, message[: m.start()], message[m.end() :])

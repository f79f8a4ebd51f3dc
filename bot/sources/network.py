"""Words for a failed connection, shared by the clients of every outside API."""

from __future__ import annotations


def network_reason(exc: BaseException) -> str:
    """A short reason for a transport failure: "timed out", "connection refused", ..."""
    text = str(exc).lower()
    if "timed out" in text or "timeout" in text:
        return "timed out"
    if "refused" in text:
        return "connection refused"
    if "name or service" in text or "resolve" in text:
        return "host not found"
    return type(exc).__name__

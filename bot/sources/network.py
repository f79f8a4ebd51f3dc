"""Words for a failed connection, shared by the clients of every outside API."""

from __future__ import annotations

import re

# OpenSSL's words after "certificate verify failed: ", e.g. "self-signed certificate".
_VERIFY = re.compile(r"certificate verify failed: (.+?)\.?(?:\s*\(_ssl\.c|'\)|\"\)|$)", re.I)
_SSL = re.compile(r"\[SSL(?:: [A-Z_]+)?\] (.+?)(?:\s*\(_ssl\.c|'\)|\"\)|$)")


def network_reason(exc: BaseException) -> str:
    """A short reason for a transport failure: "timed out", "connection refused", "TLS
    certificate not trusted: self-signed certificate", ... Never a wrapper's class name when
    the cause is known: urllib3 wraps each of them in a MaxRetryError."""
    raw = str(exc)
    text = raw.lower()
    verify = _VERIFY.search(raw)
    if verify:
        return f"TLS certificate not trusted: {verify.group(1).strip()}"
    if "certificate" in text:
        return "TLS certificate problem"
    handshake = _SSL.search(raw)
    if handshake or "sslerror" in text:
        detail = handshake.group(1).strip() if handshake else "no details"
        return f"TLS handshake failed: {detail}"
    if "timed out" in text or "timeout" in text:
        return "timed out"
    if "refused" in text:
        return "connection refused"
    if "name or service" in text or "resolve" in text:
        return "host not found"
    # urllib3's MaxRetryError says only "max retries exceeded": name what it wraps instead.
    reason = getattr(exc, "reason", None)
    return type(reason if isinstance(reason, BaseException) else exc).__name__

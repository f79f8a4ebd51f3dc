"""Words for a failed connection: the cause, never the wrapper's class name."""

from __future__ import annotations

import pytest
import urllib3

from bot.sources.network import network_reason

POOL = "HTTPSConnectionPool(host='127.0.0.1', port=6443): Max retries exceeded with url: /apis"


def retries(cause: str) -> urllib3.exceptions.MaxRetryError:
    error = urllib3.exceptions.MaxRetryError(None, "/apis")  # type: ignore[arg-type]
    error.args = (f"{POOL} (Caused by {cause})",)
    return error


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            retries(
                "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] "
                "certificate verify failed: self-signed certificate (_ssl.c:1006)'))"
            ),
            "TLS certificate not trusted: self-signed certificate",
        ),
        (
            retries(
                'SSLError(SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] '
                "certificate verify failed: IP address mismatch, certificate is not valid for "
                "'127.0.0.1'. (_ssl.c:1006)\"))"
            ),
            "TLS certificate not trusted: IP address mismatch, certificate is not valid for "
            "'127.0.0.1'",
        ),
        (
            retries(
                "SSLError(SSLError(1, '[SSL: WRONG_VERSION_NUMBER] wrong version number "
                "(_ssl.c:1006)'))"
            ),
            "TLS handshake failed: wrong version number",
        ),
        (
            retries(
                "NewConnectionError('<urllib3.connection.HTTPSConnection object>: Failed to "
                "establish a new connection: [Errno 111] Connection refused')"
            ),
            "connection refused",
        ),
        (retries('ReadTimeoutError("Read timed out. (read timeout=10)")'), "timed out"),
        (
            retries("NameResolutionError(\"Failed to resolve 'kube.example'\")"),
            "host not found",
        ),
        (urllib3.exceptions.ProtocolError("Connection aborted."), "ProtocolError"),
        (
            urllib3.exceptions.MaxRetryError(
                None,  # type: ignore[arg-type]
                "/apis",
                reason=urllib3.exceptions.ProtocolError("Connection aborted."),
            ),
            "ProtocolError",  # what the MaxRetryError wraps
        ),
    ],
    ids=["self-signed", "wrong-host", "not-tls", "refused", "timeout", "dns", "other", "wrapped"],
)
def test_network_reason(error: BaseException, reason: str) -> None:
    assert network_reason(error) == reason

"""The gate's pure checks: Slack's signature and where answers may go."""

from __future__ import annotations

import pytest

from bot.sandbox.slack_signing import sign
from handlers.gate import origin, reply_origins, signed

SECRET = "s3cret"
NOW = 1_764_147_600
BODY = b"command=%2Fwhere&text=acme%2Fshop%2312"


def _headers(timestamp: object = NOW, body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    good = sign(secret, body, NOW)
    return {**good, "X-Slack-Request-Timestamp": str(timestamp)}


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        (_headers(), BODY, True),
        (_headers(), BODY + b"&x=1", False),  # tampered
        (_headers(secret="other"), BODY, False),
        (_headers(NOW - 301), BODY, False),  # stale (and so signed for another time)
        ({**sign(SECRET, BODY, NOW - 299)}, BODY, True),  # within Slack's five minutes
        ({**sign(SECRET, BODY, NOW - 301)}, BODY, False),
        ({**sign(SECRET, BODY, NOW + 301)}, BODY, False),  # from the future
        ({}, BODY, False),
        ({"X-Slack-Signature": sign(SECRET, BODY, NOW)["X-Slack-Signature"]}, BODY, False),
        ({"X-Slack-Request-Timestamp": str(NOW)}, BODY, False),
        (_headers("abc"), BODY, False),
        (_headers("1e9"), BODY, False),
        (_headers(""), BODY, False),
        (_headers(f" {NOW}"), BODY, False),
        (_headers(f"+{NOW}"), BODY, False),
        (_headers("1_764_147_600"), BODY, False),
        (_headers("١٧٦٤١٤٧٦٠٠"), BODY, False),  # digits, but not ASCII ones
        (_headers("9" * 5000), BODY, False),  # int() refuses this many digits
        ({**sign(SECRET, b"\xff\xfe", NOW)}, b"\xff\xfe", False),  # not UTF-8: not Slack's
        ({**_headers(), "X-Slack-Signature": "v0=zz"}, BODY, False),
        ({**_headers(), "X-Slack-Signature": ""}, BODY, False),
    ],
)
def test_signed(headers: dict[str, str], body: bytes, expected: bool) -> None:
    assert signed(SECRET, headers, body, now=NOW) is expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://hooks.slack.com/commands/T1/2/abc", "https://hooks.slack.com"),
        ("https://HOOKS.slack.com:443/actions/x", "https://hooks.slack.com"),
        ("https://hooks.slack.com:8443/x", "https://hooks.slack.com:8443"),
        ("http://127.0.0.1:4000/api/", "http://127.0.0.1:4000"),
        ("https://user@hooks.slack.com/x", ""),  # a login part: not a plain Slack URL
        ("ftp://hooks.slack.com/x", ""),
        ("hooks.slack.com/x", ""),
        ("https://hooks.slack.com:99999/x", ""),
        ("", ""),
    ],
)
def test_origin(url: str, expected: str) -> None:
    assert origin(url) == expected


def test_reply_origins_are_slacks_hooks_and_the_api_urls_host() -> None:
    assert reply_origins(None) == {"https://hooks.slack.com"}
    assert reply_origins("http://127.0.0.1:4000/api/") == {
        "https://hooks.slack.com",
        "http://127.0.0.1:4000",
    }
    # A look-alike host is not Slack's.
    assert origin("https://hooks.slack.com.evil.example/x") not in reply_origins(None)

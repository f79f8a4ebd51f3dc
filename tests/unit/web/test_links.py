"""Signed timeline links: the path and expiry they sign, what a check refuses, and who gets one.
Pure: no server; the page's own answers are in tests/scenarios/test_web.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.config import Settings, parse_service_map
from bot.errors import ConfigError
from bot.web.links import Signer, TimelineLinks, change_path, links_from_settings

SECRET = b"k" * 32
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
PATH = "/changes/acme/shop/pull/12"
SERVICES = parse_service_map(
    """
services:
  - name: shop
    repo: acme/shop
    environments: [{name: staging}]
  - name: billing
    repo: Acme/Billing
    environments: [{name: staging}]
slack:
  channels:
    C0SHOP: {repos: ["acme/shop"]}
    C0NONE: {repos: []}
"""
)


def query(text: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(text, strict_parsing=True).items()}


@pytest.mark.parametrize(
    ("ref", "path"),
    [
        ("acme/shop#12", "/changes/acme/shop/pull/12"),
        ("acme/shop@" + "3F2C1AB9" * 5, "/changes/acme/shop/commit/" + "3f2c1ab9" * 5),
        ("acme/shop@3f2c1ab", "/changes/acme/shop/commit/3f2c1ab"),
        ("#12", None),  # no repo: nothing to link
        ("not a ref", None),
    ],
)
def test_the_path_of_a_change(ref: str, path: str | None) -> None:
    assert change_path(ref) == path


def test_a_signed_link_checks_out_until_it_expires() -> None:
    signer = Signer(SECRET, days=7)
    q = query(signer.sign(PATH, NOW))
    assert set(q) == {"exp", "sig"}
    assert signer.refusal(PATH, q["exp"], q["sig"], NOW) is None
    # Valid for 7 days, to the end of the last one (UTC): the link stays the same all day.
    assert int(q["exp"]) == int(datetime(2026, 12, 4, tzinfo=UTC).timestamp())
    assert signer.sign(PATH, NOW + timedelta(hours=13)) == signer.sign(PATH, NOW)
    last = datetime.fromtimestamp(int(q["exp"]), UTC)
    assert signer.refusal(PATH, q["exp"], q["sig"], last - timedelta(seconds=1)) is None
    assert signer.refusal(PATH, q["exp"], q["sig"], last) == "expired"


def tamper(sig: str) -> str:
    return ("A" if sig[0] != "A" else "B") + sig[1:]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p, e, s: (p, None, None), "no signature"),
        (lambda p, e, s: (p, e, None), "no signature"),
        (lambda p, e, s: (p, None, s), "no signature"),
        (lambda p, e, s: (p, e, "not base64!"), "malformed signature"),
        (lambda p, e, s: (p, e, s + "A"), "malformed signature"),
        (lambda p, e, s: (p, "12e9", s), "malformed signature"),
        (lambda p, e, s: (p, "-1", s), "malformed signature"),
        (lambda p, e, s: (p, e, tamper(s)), "wrong signature"),
        (lambda p, e, s: (p, str(int(e) + 86400), s), "wrong signature"),  # a longer life
        (lambda p, e, s: ("/changes/acme/shop/pull/13", e, s), "wrong signature"),
        (lambda p, e, s: ("/changes/acme/billing/pull/12", e, s), "wrong signature"),
    ],
)
def test_a_missing_malformed_or_tampered_signature_is_refused(change: object, reason: str) -> None:
    signer = Signer(SECRET)
    q = query(signer.sign(PATH, NOW))
    path, exp, sig = change(PATH, q["exp"], q["sig"])  # type: ignore[operator]
    assert signer.refusal(path, exp, sig, NOW) == reason


def test_another_secret_does_not_check_out() -> None:
    q = query(Signer(SECRET).sign(PATH, NOW))
    assert Signer(b"x" * 32).refusal(PATH, q["exp"], q["sig"], NOW) == "wrong signature"


def test_a_link_signed_for_longer_than_links_live_now_is_refused() -> None:
    # e.g. made while SHIPTRACE_LINK_DAYS was 30, checked after it was lowered to 7
    q = query(Signer(SECRET, days=30).sign(PATH, NOW))
    assert Signer(SECRET, days=7).refusal(PATH, q["exp"], q["sig"], NOW) == "expiry too far ahead"


def links() -> TimelineLinks:
    return TimelineLinks("https://st.example.com/base", Signer(SECRET), SERVICES, lambda: NOW)


def test_a_channel_gets_links_only_for_the_repos_it_may_trace() -> None:
    make = links()
    url = make("C0SHOP", "acme/shop#12")
    assert url is not None
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://st.example.com/base/changes/acme/shop/pull/12"
    )
    q = query(parts.query)
    assert Signer(SECRET).refusal(PATH, q["exp"], q["sig"], NOW) is None
    assert make("C0SHOP", "acme/billing#3") is None  # not this channel's
    assert make("C0NONE", "acme/shop#12") is None  # repos: [] allows nothing
    assert make("C0SHOP", "other/repo#1") is None  # not a configured service
    # A channel not in the config may trace every configured service; the repo is spelt
    # as configured, so one change has one link.
    assert make("C0ELSE", "acme/billing#3") is not None
    assert "/changes/Acme/Billing/pull/3?" in (make("C0ELSE", "acme/billing#3") or "")


def settings(**env: str) -> Settings:
    return Settings(_env_file=None, **env)  # type: ignore[call-arg]


def test_no_public_url_no_links() -> None:
    assert links_from_settings(settings(), SERVICES, lambda: NOW) is None
    made = links_from_settings(settings(shiptrace_link_secret="s" * 32), SERVICES, lambda: NOW)
    assert made is None  # pages may be served, but no link is shown


def test_a_public_url_needs_the_secret() -> None:
    with pytest.raises(ConfigError) as err:
        links_from_settings(
            settings(shiptrace_public_url="https://st.example.com"), SERVICES, lambda: NOW
        )
    assert "SHIPTRACE_PUBLIC_URL is set but SHIPTRACE_LINK_SECRET is not" in err.value.message
    made = links_from_settings(
        settings(
            shiptrace_public_url="https://st.example.com/",
            shiptrace_link_secret="s" * 32,
            shiptrace_link_days="3",
        ),
        SERVICES,
        lambda: NOW,
    )
    assert made is not None and made.base_url == "https://st.example.com"
    assert made.signer.days == 3

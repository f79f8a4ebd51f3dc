"""Which repos a channel may trace: listed channels by their globs, others the services only."""

from __future__ import annotations

import pytest

from bot.access import Refused, pick_repo, policy_for
from bot.config import ServiceMap, parse_service_map
from bot.errors import BadInput
from bot.refs import parse_ref

SERVICES = parse_service_map(
    """
services:
  - {name: shop, repo: acme/shop, environments: [{name: prod}]}
  - {name: billing, repo: acme/billing, environments: [{name: prod}]}
  - {name: web, repo: other/web, environments: [{name: prod}]}
slack:
  channels:
    C0ACME: {repos: ["acme/*"], default_repo: acme/shop}
    C0SHOP: {repos: ["ACME/Shop"]}
    C0NONE: {repos: []}
"""
)


@pytest.mark.parametrize(
    ("channel", "text", "refused"),
    [
        ("C0ACME", "acme/shop#1", None),
        ("C0ACME", "acme/billing#1", None),
        ("C0ACME", "12", None),  # the channel's default repo
        ("C0ACME", "other/web#1", "other/web"),
        ("C0ACME", "acme/secret#1", "acme/secret"),  # matches the glob, but no such service
        ("C0ACME", "3f2c1ab", None),  # a bare SHA: searched in acme/shop and acme/billing
        ("C0SHOP", "acme/shop#1", None),  # globs compare case-insensitively
        ("C0SHOP", "acme/billing@3f2c1ab", "acme/billing"),
        ("C0NONE", "acme/shop#1", "acme/shop"),
        ("C0NONE", "3f2c1ab", "any repository"),
        ("C0OTHER", "other/web#1", None),  # unlisted: any configured service
        ("C0OTHER", "acme/secret#1", "acme/secret"),
        ("C0OTHER", "3f2c1ab", None),
    ],
)
def test_channel_permissions(channel: str, text: str, refused: str | None) -> None:
    policy = policy_for(SERVICES, channel)
    ref = parse_ref(text)
    if refused is None:
        policy.check(ref)
        return
    with pytest.raises(Refused) as info:
        policy.check(ref)
    assert info.value.channel_id == channel
    assert info.value.target == refused
    assert "shiptrace.yaml" in info.value.next_step


def test_a_bare_sha_searches_only_allowed_repos() -> None:
    policy = policy_for(SERVICES, "C0ACME")
    assert [r for r in SERVICES.repos if policy.allows(r)] == ["acme/shop", "acme/billing"]


def test_a_number_with_no_default_is_bad_input_not_a_refusal() -> None:
    with pytest.raises(BadInput) as info:
        policy_for(SERVICES, "C0SHOP").check(parse_ref("#12"))
    assert not isinstance(info.value, Refused)
    assert "names no repository" in info.value.message


WITH_SECRET = parse_service_map(
    """
default_repo: acme/secret
services:
  - {name: shop, repo: acme/shop, environments: [{name: prod}]}
  - {name: secret, repo: acme/secret, environments: [{name: prod}]}
slack:
  channels:
    C0SHOP: {repos: ["acme/shop"]}
    C0NONE: {repos: []}
"""
)


def _said(exc: BadInput) -> str:
    return exc.message + (f" {exc.next_step}" if isinstance(exc, Refused) else "")


@pytest.mark.parametrize(
    ("services", "channel", "text", "names"),
    [
        # No default anywhere: the channel hears only what it may trace, or that it may not.
        (SERVICES, "C0NONE", "#412", "may trace nothing"),
        (SERVICES, "C0SHOP", "#412", "acme/shop"),
        (SERVICES, "C0NONE", "acme/shop#1", "may trace nothing"),
        (SERVICES, "C0NONE", "3f2c1ab", "may trace nothing"),
        (SERVICES, "C0SHOP", "other/web#1", "acme/shop"),
        (SERVICES, "C0ACME", "other/web#1", "acme/shop, acme/billing"),
        # The config's default repo is not this channel's to see: it is not named either.
        (WITH_SECRET, "C0SHOP", "#412", "acme/shop"),
        (WITH_SECRET, "C0NONE", "#412", "may trace nothing"),
    ],
)
def test_a_refusal_names_only_what_the_channel_may_trace(
    services: ServiceMap, channel: str, text: str, names: str
) -> None:
    policy = policy_for(services, channel)
    with pytest.raises(BadInput) as info:
        policy.check(parse_ref(text))
    said = _said(info.value)
    assert names in said
    visible = {s.repo for s in policy.traceable()}
    typed = {parse_ref(text).repo}
    for repo in {"acme/shop", "acme/billing", "other/web", "acme/secret"} - visible - typed:
        assert repo not in said, said


def test_a_default_repo_the_channel_may_not_see_is_refused_unnamed() -> None:
    with pytest.raises(Refused) as info:
        policy_for(WITH_SECRET, "C0SHOP").check(parse_ref("#412"))
    assert info.value.target == "the default repository"
    assert "acme/secret" not in _said(info.value)


def test_a_channel_that_may_trace_nothing_is_refused_for_a_bare_number() -> None:
    with pytest.raises(Refused) as info:
        policy_for(SERVICES, "C0NONE").check(parse_ref("#412"))
    assert info.value.target == "any repository"
    assert "shiptrace.yaml" in info.value.next_step


@pytest.mark.parametrize("text", ["#412", "acme/nope#1", "other/web#1"])
def test_pick_repo_behind_a_channel_filter_lists_only_what_it_allows(text: str) -> None:
    policy = policy_for(SERVICES, "C0SHOP")
    with pytest.raises(BadInput) as info:
        pick_repo(parse_ref(text), SERVICES, None, allowed=policy.allows)
    assert "acme/billing" not in info.value.message
    assert "traceable here: acme/shop" in info.value.message
    assert "acme/billing" in pick_repo_message("#412")  # the CLI still lists every repo


def pick_repo_message(text: str) -> str:
    with pytest.raises(BadInput) as info:
        pick_repo(parse_ref(text), SERVICES, None)
    return info.value.message

"""Which repos a channel may trace: listed channels by their globs, others the services only."""

from __future__ import annotations

import pytest

from bot.access import Refused, policy_for
from bot.config import parse_service_map
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

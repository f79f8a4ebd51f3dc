"""`shiptrace where <link>`: links are parsed strictly, on GitHub's web host, not the API's."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sandbox.github import GitHubEmulator
from tests.scenarios import shop
from tests.scenarios.command import Cli

PR = "https://github.com/acme/shop/pull/12"

# Each is bad input whatever the web host: refused before anything is known or asked.
MALFORMED = [
    pytest.param("https://evil.example@github.com/acme/shop/pull/12", "login part", id="login"),
    pytest.param("https://git\thub.com/acme/shop/pull/12", "control characters", id="tab-host"),
    pytest.param("https://github.com/acme/shop/pull/1\n2", "control characters", id="nl-path"),
    pytest.param("https://github.com/acme/shop/pull/12\x07", "control characters", id="bell"),
    pytest.param(f"{PR}/junk", "not a pull request or a commit", id="junk-after-number"),
    pytest.param(f"{PR}x", "not a pull request or a commit", id="junk-in-number"),
]


@pytest.mark.parametrize(("link", "reason"), MALFORMED)
def test_a_malformed_link_exits_2_before_any_request(
    cli: Cli, github: GitHubEmulator, workdir: Path, link: str, reason: str
) -> None:
    shop.build(github)
    result = cli("where", link)
    assert result.code == 2, result.err
    assert reason in result.err
    assert "Traceback" not in result.err and result.out == ""
    assert github.requests == []
    assert not (workdir / "shiptrace.db").exists()  # nothing opened for a typo


@pytest.mark.parametrize(
    ("link", "reason"),
    [
        *MALFORMED,
        pytest.param("https://github.com:8443/acme/shop/pull/12", "unexpected port", id="port"),
        pytest.param(
            "https://gitlab.example/acme/shop/pull/12",
            "only links on github.com can be traced, not gitlab.example",
            id="other-host",
        ),
    ],
)
def test_with_github_web_url_set_every_bad_link_costs_no_request(
    cli: Cli, github: GitHubEmulator, monkeypatch: pytest.MonkeyPatch, link: str, reason: str
) -> None:
    shop.build(github)
    monkeypatch.setenv("GITHUB_WEB_URL", "https://github.com")
    result = cli("where", link)
    assert result.code == 2, result.err
    assert reason in result.err
    assert github.requests == []


def test_a_github_com_link_works_when_the_api_is_reached_elsewhere(
    cli: Cli, github: GitHubEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GITHUB_API_URL is the emulator on 127.0.0.1 (as a caching proxy would be).
    shop.build(github)
    monkeypatch.setenv("GITHUB_WEB_URL", "https://github.com")

    result = cli("where", f"{PR}/files?w=1#diff-0a1b", "--json")

    assert result.code == 0, result.err
    assert result.json["change"]["pr"] == 12
    assert result.json["change"]["requested"] == f"{PR}/files?w=1#diff-0a1b"
    assert "/repos/acme/shop" not in [r.path for r in github.requests]  # nothing to learn
    github.clear_log()

    on_the_api_host = cli("where", f"{github.url}/acme/shop/pull/12")

    assert on_the_api_host.code == 2
    assert "only links on github.com can be traced" in on_the_api_host.err
    assert github.requests == []


def test_the_web_host_is_learned_from_githubs_html_url_and_kept(
    cli: Cli, github: GitHubEmulator
) -> None:
    # Enterprise Cloud with data residency: links on acme.ghe.com, the API elsewhere.
    shop.build(github)
    github.web_url = "https://acme.ghe.com"

    first = cli("where", "https://acme.ghe.com/acme/shop/pull/12#issuecomment-1", "--json")

    assert first.code == 0, first.err
    assert first.json["change"]["url"] == "https://acme.ghe.com/acme/shop/pull/12"
    assert github.requests[0].path == "/repos/acme/shop"  # the one request to learn the host
    github.clear_log()

    elsewhere = cli("where", PR)  # a later run: the host is read from the store

    assert elsewhere.code == 2
    assert "only links on acme.ghe.com can be traced, not github.com" in elsewhere.err
    assert github.requests == []

    again = cli("where", "https://acme.ghe.com/acme/shop/pull/12", "--json")

    assert again.code == 0, again.err
    assert "/repos/acme/shop" not in [r.path for r in github.requests]


def test_a_trace_teaches_the_web_host_without_a_request_of_its_own(
    cli: Cli, github: GitHubEmulator
) -> None:
    shop.build(github)
    github.web_url = "https://acme.ghe.com"
    assert cli("where", "acme/shop#12").code == 0  # the PR's html_url names the host
    github.clear_log()

    result = cli("where", PR)

    assert result.code == 2
    assert "only links on acme.ghe.com" in result.err
    assert github.requests == []


def test_when_github_shows_no_repo_the_host_is_derived_from_the_api_url(
    cli: Cli, github: GitHubEmulator
) -> None:
    shop.build(github)
    github.fail(r"^/repos/acme/shop$", status=404, times=1)  # the token cannot see the repo

    result = cli("where", f"{github.url}/acme/shop/pull/12", "--json")

    assert result.code == 0, result.err
    assert result.json["change"]["pr"] == 12

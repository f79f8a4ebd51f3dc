import contextlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import BadInput
from bot.refs import OtherHost, derived_web_url, parse_ref, permalink, web_origin

SHA = "3f2c1ab9c0ffee00112233445566778899aabbcc"


@pytest.mark.parametrize(
    ("text", "repo", "pr", "sha"),
    [
        ("acme/shop#412", "acme/shop", 412, None),
        ("#412", None, 412, None),
        ("412", None, 412, None),
        ("  acme/shop#1 ", "acme/shop", 1, None),
        ("acme/shop#2147483647", "acme/shop", 2**31 - 1, None),
        ("https://github.com/acme/shop/pull/412", "acme/shop", 412, None),
        ("https://github.com/acme/shop/pull/412/files", "acme/shop", 412, None),
        ("http://github.com/acme/shop/pull/412/", "acme/shop", 412, None),
        ("<https://github.com/acme/shop/pull/412>", "acme/shop", 412, None),
        ("<https://github.com/acme/shop/pull/412|acme/shop#412>", "acme/shop", 412, None),
        ("acme/shop@3f2c1ab", "acme/shop", None, "3f2c1ab"),
        (f"acme/shop@{SHA.upper()}", "acme/shop", None, SHA),
        ("3f2c1ab", None, None, "3f2c1ab"),
        (SHA, None, None, SHA),
        (f"https://github.com/acme/shop/commit/{SHA}", "acme/shop", None, SHA),
        (f"https://github.com/acme/shop/pull/7/commits/{SHA}", "acme/shop", None, SHA),
        ("my-org/my.repo_x-1#3", "my-org/my.repo_x-1", 3, None),
    ],
)
def test_accepted_forms(text: str, repo: str | None, pr: int | None, sha: str | None) -> None:
    ref = parse_ref(text)
    assert (ref.repo, ref.pr, ref.sha) == (repo, pr, sha)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "nothing to trace"),
        ("   ", "nothing to trace"),
        ("acme/shop#0", "not a valid pull request number"),
        ("acme/shop#2147483648", "not a valid pull request number"),
        ("#-1", "not a PR or commit reference"),
        ("-acme/shop#1", "not a PR or commit reference"),
        ("acme-/shop#1", "not a PR or commit reference"),
        ("ac--me/shop#1", "not a PR or commit reference"),
        ("acme/sh op#1", "not a PR or commit reference"),
        ("acme/..#1", "not a valid repository name"),
        ("3f2c1a", "not a PR or commit reference"),
        ("3f2c1ab" + "0" * 34, "not a PR or commit reference"),
        ("g3f2c1ab", "not a PR or commit reference"),
        ("acme/shop@main", "not a PR or commit reference"),
        ("https://gitlab.com/acme/shop/pull/1", "only links on github.com"),
        ("https://github.com/acme/shop/issues/1", "not a pull request or a commit"),
        ("ftp://github.com/acme/shop/pull/1", "not a GitHub URL"),
        ("x" * 400, "too long"),
    ],
)
def test_rejected_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(BadInput, match=re.escape(reason)):
        parse_ref(text)


def test_enterprise_host() -> None:
    assert parse_ref("https://ghe.example.com/acme/shop/pull/4", "ghe.example.com").pr == 4
    with pytest.raises(OtherHost, match=r"only links on ghe\.example\.com") as info:
        parse_ref("https://github.com/acme/shop/pull/4", "ghe.example.com")
    assert info.value.host == "github.com"


PR = "https://github.com/acme/shop/pull/412"


@pytest.mark.parametrize(
    ("text", "pr", "sha"),
    [
        (f"{PR}#issuecomment-1234567", 412, None),
        (f"{PR}?notification_referrer_id=NT_kwDOAB", 412, None),
        (f"{PR}/files?w=1", 412, None),
        (f"{PR}/files#diff-0123abcd", 412, None),
        (f"{PR}/checks", 412, None),
        (f"{PR}/checks?check_run_id=42", 412, None),
        (f"{PR}/commits", 412, None),
        (f"{PR}/", 412, None),
        (f"{PR}/files/", 412, None),
        (f"https://github.com/acme/shop/commit/{SHA}/", None, SHA),
        (f"<{PR}/files?w=1|acme/shop#412 Fix the cart>", 412, None),
        ("HTTPS://GitHub.com/acme/shop/pull/412", 412, None),
        (f"https://github.com/acme/shop/commit/{SHA}#diff-1", None, SHA),
        (f"https://github.com/acme/shop/commit/{SHA}?diff=split", None, SHA),
        (f"https://github.com/acme/shop/commits/{SHA}", None, SHA),
        (f"{PR}/commits/{SHA}?w=1", None, SHA),
    ],
)
def test_a_fragment_or_query_is_ignored(text: str, pr: int | None, sha: str | None) -> None:
    ref = parse_ref(text)
    assert (ref.repo, ref.pr, ref.sha) == ("acme/shop", pr, sha)
    assert ref.host == "github.com"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("https://evil.example@github.com/acme/shop/pull/412", "login part"),
        ("https://git:hub@github.com/acme/shop/pull/412", "login part"),
        ("https://@github.com/acme/shop/pull/412", "login part"),
        ("https://github.com:8443/acme/shop/pull/412", "port"),
        ("https://github.com:443/acme/shop/pull/412", "port"),
        ("https://github.com:/acme/shop/pull/412", "not a valid host"),
        ("https://git\thub.com/acme/shop/pull/412", "spaces or control characters"),
        ("https://git\nhub.com/acme/shop/pull/412", "spaces or control characters"),
        ("https://github.com/acme/shop/pull/4\t12", "spaces or control characters"),
        ("https://github.com/acme/shop/pu\nll/412", "spaces or control characters"),
        ("https://github.com/acme/shop/pull/412\r/files", "spaces or control characters"),
        ("https://github.com/acme/shop/pull/412 x", "spaces or control characters"),
        ("https://github.com/acme/shop/pull/412\x00", "spaces or control characters"),
        ("https://github.com/acme/shop/pull/412\u200b", "spaces or control characters"),
        ("https://github.com/acme/shop/pull/412#a\tb", "spaces or control characters"),
        ("https://github.com/acme/shop/pull/412?q=a b", "spaces or control characters"),
        ("<https://github.com/acme/shop/pull/4\t12|label>", "spaces or control characters"),
        ("https://github.com/acme/shop/pull/412junk", "not a pull request or a commit"),
        ("https://github.com/acme/shop/pull/412/junk", "not a pull request or a commit"),
        ("https://github.com/acme/shop/pull/412//", "not a pull request or a commit"),
        ("https://github.com/acme/shop/pull/412/files/x", "not a pull request or a commit"),
        ("https://github.com/acme/shop/pull/412;x", "not a pull request or a commit"),
        ("https://github.com/acme/shop/pull/412%0A", "not a pull request or a commit"),
        ("https://github.com/acme/shop/pull/412/../413", "not a pull request or a commit"),
        (f"https://github.com/acme/shop/commit/{SHA}/x", "not a pull request or a commit"),
        (f"https://github.com/acme/shop/commit/{SHA}.diff", "not a pull request or a commit"),
        ("https://github.com//acme/shop/pull/412", "not a pull request or a commit"),
        ("https://gitlab.com/acme/shop/pull/1", "only links on github.com"),
        ("https://github.com.evil.example/acme/shop/pull/1", "only links on github.com"),
        ("https://github.com./acme/shop/pull/1", "not a valid host"),
        ("https://api.github.com/acme/shop/pull/1", "only links on github.com"),
        ("https:///acme/shop/pull/1", "not a GitHub URL"),
        ("javascript://github.com/acme/shop/pull/1", "not a GitHub URL"),
    ],
)
def test_a_link_is_parsed_strictly(text: str, reason: str) -> None:
    with pytest.raises(BadInput, match=re.escape(reason)) as info:
        parse_ref(text)
    assert "\n" not in info.value.message and "\t" not in info.value.message


def test_a_port_is_accepted_only_where_the_web_host_has_it() -> None:
    assert parse_ref("http://127.0.0.1:8080/acme/shop/pull/1", "127.0.0.1:8080").pr == 1
    with pytest.raises(BadInput, match="port"):
        parse_ref("http://127.0.0.1:8081/acme/shop/pull/1", "127.0.0.1:8080")
    with pytest.raises(BadInput, match="port"):
        parse_ref("http://127.0.0.1/acme/shop/pull/1", "127.0.0.1:8080")


def test_without_a_web_host_everything_but_the_host_is_checked() -> None:
    ref = parse_ref("https://acme.ghe.com/acme/shop/pull/412#x", None)
    assert (ref.repo, ref.pr, ref.host) == ("acme/shop", 412, "acme.ghe.com")
    assert parse_ref("acme/shop#412", None).host is None
    with pytest.raises(BadInput, match="login part"):
        parse_ref("https://x@acme.ghe.com/acme/shop/pull/412", None)
    with pytest.raises(BadInput, match="not a pull request"):
        parse_ref("https://acme.ghe.com/acme/shop/pull/412/junk", None)


@pytest.mark.parametrize(
    ("api_url", "web_url"),
    [
        ("https://api.github.com", "https://github.com"),
        ("https://api.github.com/", "https://github.com"),
        ("https://API.GitHub.com", "https://github.com"),
        ("https://api.acme.ghe.com", "https://acme.ghe.com"),
        ("https://api.my-corp.ghe.com/", "https://my-corp.ghe.com"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com"),
        ("https://ghe.example.com/api/v3/", "https://ghe.example.com"),
        ("https://ghe.example.com:8443/api/v3", "https://ghe.example.com:8443"),
        ("http://127.0.0.1:5123", "http://127.0.0.1:5123"),  # a proxy or an emulator: itself
        ("https://github-proxy.internal/github", "https://github-proxy.internal"),
    ],
)
def test_the_web_host_derived_from_the_api_url(api_url: str, web_url: str) -> None:
    assert derived_web_url(api_url) == web_url


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://github.com", "https://github.com"),
        ("https://github.com/", "https://github.com"),
        ("https://GitHub.com/acme/shop/pull/1", "https://github.com"),
        ("https://ghe.example.com:8443/acme/shop", "https://ghe.example.com:8443"),
        ("http://127.0.0.1:5000/acme/shop", "http://127.0.0.1:5000"),
    ],
)
def test_web_origin(url: str, origin: str) -> None:
    assert web_origin(url) == origin


@pytest.mark.parametrize(
    "url", ["github.com", "ftp://github.com", "https://", "https://u@github.com", "https://a b"]
)
def test_web_origin_refuses_what_is_not_a_web_url(url: str) -> None:
    with pytest.raises(ValueError, match="not"):
        web_origin(url)


@given(st.text(max_size=400))
def test_arbitrary_text_only_ever_gives_bad_input(text: str) -> None:
    try:
        ref = parse_ref(text)
    except BadInput as exc:
        assert exc.message and "\n" not in exc.message
    else:
        assert (ref.pr is None) != (ref.sha is None)


@given(st.from_regex(r"[a-z0-9]{1,10}/[a-z0-9._-]{1,20}[#@][0-9a-f]{1,45}", fullmatch=True))
def test_near_misses_only_ever_give_bad_input(text: str) -> None:
    with contextlib.suppress(BadInput):
        parse_ref(text)


def test_permalink() -> None:
    assert permalink("C1", "1764147600.000100") == "https://slack.com/archives/C1/p1764147600000100"
    assert permalink(None, "1.2") is None

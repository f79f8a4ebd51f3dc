import contextlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import BadInput
from bot.refs import parse_ref, web_host

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
    host = web_host("https://ghe.example.com/api/v3")
    assert host == "ghe.example.com"
    assert parse_ref("https://ghe.example.com/acme/shop/pull/4", host).pr == 4
    with pytest.raises(BadInput, match=r"only links on ghe\.example\.com"):
        parse_ref("https://github.com/acme/shop/pull/4", host)
    assert web_host("https://api.github.com") == "github.com"


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

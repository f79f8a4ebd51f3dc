"""Parse what a user typed into a change reference. Pure; strict on purpose.

Accepted (DESIGN §4): ``owner/repo#123``, ``#123``, ``123``, a PR URL, ``owner/repo@<sha>``,
a bare SHA (7–40 hex) and a commit URL, the URLs only on the configured GitHub host.
Digits alone are a PR number (GitHub's own shorthand), never a SHA.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.errors import BadInput

USAGE = "usage: where owner/repo#123 | #123 | <PR URL> | owner/repo@<sha> | <sha> | <commit URL>"

MAX_PR = 2**31 - 1

# GitHub's rules: owner 1-39 alphanumerics or single inner hyphens; repo 1-100 of [A-Za-z0-9._-].
_OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
_NAME = r"[A-Za-z0-9._-]{1,100}"
_REPO = rf"(?P<repo>{_OWNER}/{_NAME})"
_SHA = r"(?P<sha>[0-9a-fA-F]{7,40})"
_NUM = r"(?P<pr>[0-9]{1,10})"

_REPO_NAME = re.compile(f"{_OWNER}/{_NAME}")


def is_repo_name(value: str) -> bool:
    """Whether ``value`` is a valid GitHub ``owner/repo`` (GitHub's character rules)."""
    return bool(_REPO_NAME.fullmatch(value)) and value.split("/", 1)[1] not in (".", "..")


_FORMS = [
    re.compile(rf"{_REPO}#{_NUM}"),
    re.compile(rf"#?{_NUM}"),
    re.compile(rf"{_REPO}@{_SHA}"),
    re.compile(_SHA),
]
_PR_PATH = re.compile(rf"/{_REPO}/pull/{_NUM}(?:/(?:files|checks|commits)?)?/?")
_PR_COMMIT_PATH = re.compile(rf"/{_REPO}/pull/[0-9]{{1,10}}/commits/{_SHA}/?")
_COMMIT_PATH = re.compile(rf"/{_REPO}/commits?/{_SHA}/?")


@dataclass(frozen=True)
class Ref:
    """A parsed reference: a PR number or a SHA, with the repo when the user named one."""

    text: str
    repo: str | None = None
    pr: int | None = None
    sha: str | None = None


def web_host(api_url: str) -> str:
    """The host users see in links for a GitHub API base URL (github.com or an Enterprise host)."""
    host = (urlsplit(api_url).hostname or "").lower()
    return "github.com" if host == "api.github.com" else host


def parse_ref(text: str, github_host: str = "github.com") -> Ref:
    """Parse ``text`` or raise :class:`BadInput` with a one-line reason."""
    raw = _unwrap_slack_link(text.strip())
    if not raw:
        raise BadInput("nothing to trace: give a PR or a commit")
    if len(raw) > 300:
        raise BadInput("that is too long to be a PR or commit reference")
    if "://" in raw:
        return _parse_url(raw, text.strip(), github_host)
    for form in _FORMS:
        m = form.fullmatch(raw)
        if m:
            return _ref_from(m, raw)
    raise BadInput(f"'{_shorten(raw)}' is not a PR or commit reference")


def _parse_url(raw: str, original: str, github_host: str) -> Ref:
    try:
        parts = urlsplit(raw)
    except ValueError:
        raise BadInput(f"'{_shorten(raw)}' is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadInput(f"'{_shorten(raw)}' is not a GitHub URL")
    if parts.hostname.lower() != github_host.lower():
        raise BadInput(f"only links on {github_host} can be traced, not {parts.hostname}")
    for pattern in (_PR_COMMIT_PATH, _PR_PATH, _COMMIT_PATH):
        m = pattern.fullmatch(parts.path)
        if m:
            return _ref_from(m, original)
    raise BadInput("that link is not a pull request or a commit")


def _ref_from(m: re.Match[str], text: str) -> Ref:
    groups = m.groupdict()
    repo = groups.get("repo")
    if repo is not None and not is_repo_name(repo):
        raise BadInput(f"'{repo}' is not a valid repository name")
    if groups.get("pr") is not None:
        number = int(groups["pr"])
        if not 1 <= number <= MAX_PR:
            raise BadInput(f"#{number} is not a valid pull request number")
        return Ref(text=text, repo=repo, pr=number)
    return Ref(text=text, repo=repo, sha=groups["sha"].lower())


def _unwrap_slack_link(text: str) -> str:
    # Slack sends links as <https://…> or <https://…|label>.
    if text.startswith("<") and text.endswith(">"):
        return text[1:-1].split("|", 1)[0].strip()
    return text


def _shorten(text: str, limit: int = 60) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""Parse what a user typed into a change reference; the link back to a Slack message. Pure;
strict on purpose.

Accepted (DESIGN §4): ``owner/repo#123``, ``#123``, ``123``, a PR URL, ``owner/repo@<sha>``,
a bare SHA (7–40 hex) and a commit URL. Digits alone are a PR number (GitHub's own
shorthand), never a SHA.

A link is accepted only on GitHub's web host, which the caller gives as data (where it comes
from: :mod:`bot.trace.webhost`). A login part, an unexpected port, whitespace or control characters
anywhere (``urlsplit`` would silently drop tabs and newlines), or anything in the path after
the PR number or SHA but ``/files``, ``/checks``, ``/commits`` is bad input; a fragment or a
query is ignored, since GitHub's own links carry them (``#issuecomment-…``, ``?w=1``).
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
_PR_PATH = re.compile(rf"/{_REPO}/pull/{_NUM}(?:/(?:files|checks|commits))?/?")
_PR_COMMIT_PATH = re.compile(rf"/{_REPO}/pull/[0-9]{{1,10}}/commits/{_SHA}/?")
_COMMIT_PATH = re.compile(rf"/{_REPO}/commits?/{_SHA}/?")
# host[:port]: a DNS name or a bracketed IPv6 address; no login part, no empty port.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_NETLOC = re.compile(
    rf"(?P<host>{_LABEL}(?:\.{_LABEL})*|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{{1,5}}))?"
)
_GHE_CLOUD_API = re.compile(rf"api\.(?P<name>{_LABEL})\.ghe\.com")


@dataclass(frozen=True)
class Ref:
    """A parsed reference: a PR number or a SHA, with the repo when the user named one."""

    text: str
    repo: str | None = None
    pr: int | None = None
    sha: str | None = None
    host: str | None = None  # a link's host[:port], lowercase; None when not a link


class OtherHost(BadInput):
    """A well-formed link on another host than GitHub's web host."""

    def __init__(self, host: str, expected: str) -> None:
        super().__init__(f"only links on {expected} can be traced, not {host}")
        self.host = host
        self.expected = expected


def web_origin(url: str) -> str:
    """``scheme://host[:port]`` of a web URL (``GITHUB_WEB_URL``, an ``html_url``), lowercase.

    Raises ValueError when ``url`` is not an http(s) URL with a plain host.
    """
    parts = urlsplit(url) if url.isprintable() and not any(c.isspace() for c in url) else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not _NETLOC.fullmatch(parts.netloc.lower())
    ):
        raise ValueError(f"'{_shorten(url)}' is not an http(s) URL with a host (and no login)")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def derived_web_url(api_url: str) -> str:
    """GitHub's web URL for an API base URL, when nothing better is known.

    ``api.github.com`` → ``github.com``; ``api.<name>.ghe.com`` (Enterprise Cloud with data
    residency) → ``<name>.ghe.com``; ``<host>/api/v3`` (Enterprise Server) → ``<host>``;
    anything else (a proxy, an emulator) → its own host.
    """
    parts = urlsplit(api_url.strip())
    scheme = parts.scheme.lower() or "https"
    netloc = parts.netloc.rpartition("@")[2].lower()
    host = (parts.hostname or "").lower()
    cloud = _GHE_CLOUD_API.fullmatch(host)
    if host == "api.github.com":
        netloc = "github.com"
    elif cloud is not None:
        netloc = f"{cloud['name']}.ghe.com"
    return f"{scheme}://{netloc}"


def permalink(channel: str | None, ts: str | None) -> str | None:
    """A link to a message (or its thread) that opens in Slack for whoever may see it."""
    if channel is None or ts is None:
        return None
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


def parse_ref(text: str, web_host: str | None = "github.com") -> Ref:
    """Parse ``text`` or raise :class:`BadInput` with a one-line reason.

    ``web_host`` is the host[:port] links must be on; ``None`` checks everything but the host
    (for a caller that learns the host only when a link arrives: see :func:`check_host`).
    """
    raw = _unwrap_slack_link(text.strip())
    if not raw:
        raise BadInput("nothing to trace: give a PR or a commit")
    if len(raw) > 300:
        raise BadInput("that is too long to be a PR or commit reference")
    if "://" in raw:
        ref = _parse_url(raw, text.strip())
        if web_host is not None:
            check_host(ref, web_host)
        return ref
    for form in _FORMS:
        m = form.fullmatch(raw)
        if m:
            return _ref_from(m, raw)
    raise BadInput(f"'{_shorten(raw)}' is not a PR or commit reference")


def check_host(ref: Ref, web_host: str) -> None:
    """Raise :class:`BadInput` unless ``ref`` (if a link) is on ``web_host`` (host[:port])."""
    if ref.host is None:
        return
    got, want = _NETLOC.fullmatch(ref.host), _NETLOC.fullmatch(web_host.lower())
    if got is None or want is None or got["host"] != want["host"]:
        raise OtherHost(ref.host, web_host)
    if got["port"] != want["port"]:
        raise BadInput(f"that link has an unexpected port: links are on {web_host}")


def _parse_url(raw: str, original: str) -> Ref:
    # Checked before urlsplit, which silently drops tabs and newlines (even inside the host).
    if any(ch.isspace() or not ch.isprintable() for ch in raw):
        raise BadInput("a link cannot contain spaces or control characters; copy it again")
    try:
        parts = urlsplit(raw)
    except ValueError:
        raise BadInput(f"'{_shorten(raw)}' is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadInput(f"'{_shorten(raw)}' is not a GitHub URL")
    if "@" in parts.netloc:
        raise BadInput("a link with a login part (user@) cannot be traced; copy it from GitHub")
    netloc = parts.netloc.lower()
    if not _NETLOC.fullmatch(netloc):
        raise BadInput(f"'{_shorten(parts.netloc)}' is not a valid host")
    for pattern in (_PR_COMMIT_PATH, _PR_PATH, _COMMIT_PATH):
        m = pattern.fullmatch(parts.path)
        if m:
            return _ref_from(m, original, netloc)
    raise BadInput("that link is not a pull request or a commit")


def _ref_from(m: re.Match[str], text: str, host: str | None = None) -> Ref:
    groups = m.groupdict()
    repo = groups.get("repo")
    if repo is not None and not is_repo_name(repo):
        raise BadInput(f"'{repo}' is not a valid repository name")
    if groups.get("pr") is not None:
        number = int(groups["pr"])
        if not 1 <= number <= MAX_PR:
            raise BadInput(f"#{number} is not a valid pull request number")
        return Ref(text=text, repo=repo, pr=number, host=host)
    return Ref(text=text, repo=repo, sha=groups["sha"].lower(), host=host)


def _unwrap_slack_link(text: str) -> str:
    # Slack sends links as <https://…> or <https://…|label>; the label is not ours to check.
    if text.startswith("<") and text.endswith(">"):
        return text[1:-1].split("|", 1)[0]
    return text


def _shorten(text: str, limit: int = 60) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"

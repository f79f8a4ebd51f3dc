"""Signed, expiring links to the timeline pages of ``shiptrace serve``. Pure.

A page shows a trace to whoever holds its link, so every link carries its expiry and an
HMAC-SHA256 over its path and that expiry, keyed with ``SHIPTRACE_LINK_SECRET``:
``/changes/acme/shop/pull/12?exp=1764892800&sig=<base64url>``. The host is not signed: the
same link works behind any name ``serve`` is reached by.

A link lives ``SHIPTRACE_LINK_DAYS`` days, to the end of its last day (UTC): one change's link
stays the same all day, so a followed message is not redrawn for a new link every minute.
A link claiming to live longer than links do now (made before the lifetime was lowered) is
refused as well.

Who gets a link is a channel's business: :class:`TimelineLinks` makes one only for a repo the
channel may trace (:mod:`bot.access`), and only when ``SHIPTRACE_PUBLIC_URL`` is set.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from bot.access import policy_for
from bot.config import ServiceMap, Settings
from bot.errors import BadInput, ConfigError
from bot.refs import parse_ref
from bot.timefmt import Clock

PREFIX = "/changes"
DAY = 86400  # seconds
_CONTEXT = b"shiptrace timeline link v1\n"  # a signature made for anything else never fits
_EXP = re.compile(r"[0-9]{1,11}")
_SIG = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 bytes, base64url without padding


def pull_path(repo: str, number: int) -> str:
    return f"{PREFIX}/{repo}/pull/{number}"


def commit_path(repo: str, sha: str) -> str:
    return f"{PREFIX}/{repo}/commit/{sha.lower()}"


def change_path(ref: str) -> str | None:
    """The page of ``owner/repo#12`` or ``owner/repo@<sha>``; None for anything else."""
    try:
        parsed = parse_ref(ref, None)
    except BadInput:
        return None
    if parsed.repo is None or parsed.host is not None:
        return None
    if parsed.pr is not None:
        return pull_path(parsed.repo, parsed.pr)
    return commit_path(parsed.repo, parsed.sha or "")


@dataclass(frozen=True)
class Signer:
    """Signs a page's path with an expiry, and checks what a request brings back."""

    secret: bytes
    days: int = 7

    def expiry(self, now: datetime) -> int:
        """The end of the day (UTC) ``days`` days from ``now``, as a Unix time."""
        last = int((now.astimezone(UTC) + timedelta(days=self.days)).timestamp())
        return (last // DAY + 1) * DAY

    def signature(self, path: str, exp: int) -> str:
        mac = hmac.new(self.secret, _CONTEXT + f"{path}\n{exp}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")

    def sign(self, path: str, now: datetime) -> str:
        """The query that makes ``path`` a valid link until its expiry: ``exp=…&sig=…``."""
        exp = self.expiry(now)
        return urlencode({"exp": exp, "sig": self.signature(path, exp)})

    def refusal(self, path: str, exp: str | None, sig: str | None, now: datetime) -> str | None:
        """Why a request for ``path`` with these ``exp`` and ``sig`` is refused; None: it
        checks out. The reason is for the log; the requester is told only that it is not."""
        if exp is None or sig is None:
            return "no signature"
        if not (_EXP.fullmatch(exp) and _SIG.fullmatch(sig)):
            return "malformed signature"
        expected = self.signature(path, int(exp))
        if not hmac.compare_digest(expected.encode("ascii"), sig.encode("ascii")):
            return "wrong signature"
        at = now.astimezone(UTC).timestamp()
        if at >= int(exp):
            return "expired"
        if int(exp) > self.expiry(now):
            return "expiry too far ahead"
        return None


@dataclass(frozen=True)
class TimelineLinks:
    """Makes the "Open timeline" URL of a change for a channel (the callable handlers get)."""

    base_url: str  # SHIPTRACE_PUBLIC_URL, without a trailing slash
    signer: Signer
    services: ServiceMap
    clock: Clock

    def __call__(self, channel: str, ref: str) -> str | None:
        """The signed URL of ``ref`` (``owner/repo#12`` or ``owner/repo@<sha>``) as shown in
        ``channel``; None when that channel may not trace its repo or it names no change."""
        path = change_path(ref)
        if path is None:
            return None
        repo = "/".join(path.split("/")[2:4])
        service = self.services.service_for_repo(repo)
        if service is None or not policy_for(self.services, channel).allows(service.repo):
            return None
        path = path.replace(f"/{repo}/", f"/{service.repo}/", 1)  # spelt as configured
        return f"{self.base_url}{path}?{self.signer.sign(path, self.clock())}"


def signer_from_settings(settings: Settings) -> Signer | None:
    """The signer of ``SHIPTRACE_LINK_SECRET``; None: no page can be served."""
    secret = settings.shiptrace_link_secret
    if secret is None:
        return None
    return Signer(secret.get_secret_value().encode(), settings.shiptrace_link_days)


def links_from_settings(
    settings: Settings, services: ServiceMap, clock: Clock
) -> TimelineLinks | None:
    """The link maker, or None without ``SHIPTRACE_PUBLIC_URL`` (then no link is shown).
    A public URL without the secret is a configuration error: links could not be signed."""
    signer = signer_from_settings(settings)
    if settings.shiptrace_public_url is None:
        return None
    if signer is None:
        raise ConfigError(
            "SHIPTRACE_PUBLIC_URL is set but SHIPTRACE_LINK_SECRET is not: timeline links "
            "are signed with it; set it (e.g. `openssl rand -hex 32`) or unset "
            "SHIPTRACE_PUBLIC_URL"
        )
    return TimelineLinks(settings.shiptrace_public_url, signer, services, clock)

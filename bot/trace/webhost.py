"""Which host PR and commit links are on, and parsing what a user typed against it.

The rule (README "Links"): ``GITHUB_WEB_URL`` when set; else the host of the ``html_url``
GitHub itself returns for the configured repos, learned once and kept in the store; else
derived from ``GITHUB_API_URL`` (:func:`bot.refs.derived_web_url`). The API may be reached
through a proxy or an egress gateway, so its host alone says little about the links people
paste.

Learning costs nothing on the way: every trace reads a PR or a commit, whose ``html_url``
names the host. Only a link that arrives before anything is known costs one request (the
first configured repo); everything but its host is checked first, so a malformed link never
costs one.
"""

from __future__ import annotations

from bot.config import ServiceMap
from bot.errors import GitHubNotFound
from bot.refs import Ref, check_host, derived_web_url, parse_ref, web_origin
from bot.sources.github import GitHubClient
from bot.store import Store


class WebHost:
    def __init__(
        self,
        configured: str | None,
        api_url: str,
        store: Store,
        github: GitHubClient,
        services: ServiceMap,
    ) -> None:
        self._configured = web_origin(configured) if configured else None
        self._derived = derived_web_url(api_url)
        self._key = f"github:web_url:{api_url.rstrip('/')}"  # another API, another host
        self._store = store
        self._github = github
        self._services = services
        self._learned: str | None = None
        self._unlearnable = False  # GitHub would not show a repo: stay with the derived host

    @property
    def url(self) -> str:
        """``scheme://host[:port]`` links are on, by the rule above (no I/O but the store)."""
        return self._configured or self._known_learned() or self._derived

    @property
    def host(self) -> str:
        return self.url.partition("://")[2]

    @property
    def settled(self) -> bool:
        """Whether :attr:`host` is final: configured, learned, or not learnable."""
        return bool(self._configured or self._known_learned() or self._unlearnable)

    def parse_known(self, text: str) -> Ref:
        """Parse with no GitHub request: a link's host is checked only once it is settled."""
        return parse_ref(text, self.host if self.settled else None)

    async def parse(self, text: str) -> Ref:
        """Parse ``text``; a link before the host is known first learns it (one request)."""
        ref = self.parse_known(text)
        if ref.host is not None and not self.settled:
            await self._learn_from_github()
            check_host(ref, self.host)
        return ref

    def learn(self, html_url: str | None) -> None:
        """Record the host of an ``html_url`` GitHub returned for a configured repo."""
        if self._configured or not html_url:
            return
        try:
            origin = web_origin(html_url)
        except ValueError:
            return
        if origin != self._known_learned():
            self._store.remember(self._key, origin)
            self._learned = origin

    async def _learn_from_github(self) -> None:
        repos = self._services.repos
        if not repos:
            self._unlearnable = True
            return
        try:
            repository = await self._github.repository(repos[0])
        except GitHubNotFound:  # the token cannot see it: the derived host is all there is
            self._unlearnable = True
            return
        self.learn(repository.get("html_url"))
        if self._known_learned() is None:
            self._unlearnable = True

    def _known_learned(self) -> str | None:
        if self._learned is None:
            value = self._store.fact(self._key)
            self._learned = value if isinstance(value, str) else None
        return self._learned

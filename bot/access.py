"""Which repositories a Slack channel may ask about (``slack.channels`` in the config), and
which repository a reference is about. Pure: the tracer and the Slack handlers share these rules.

A channel listed in the config may trace the repos its ``repos`` globs match (``[]`` allows
nothing). A channel that is not listed may trace any configured service's repo and nothing
else. The check runs before the ack, so a refused question never reaches GitHub.

What a channel is told never names a repo it may not trace: a refusal or a "which repo?"
names only the repos this channel may trace (or says it may trace nothing), and the repo the
user typed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.config import Channel, Service, ServiceMap
from bot.errors import BadInput
from bot.refs import Ref

MAX_NAMED = 10  # repos listed in one reply; the rest are counted

RepoFilter = Callable[[str], bool]  # a channel's filter: ChannelPolicy.allows


def pick_repo(
    ref: Ref, services: ServiceMap, default_repo: str | None, allowed: RepoFilter | None = None
) -> str | None:
    """The repo a reference is about, or None for a bare SHA (searched in every repo).

    ``#123`` uses ``default_repo`` (the channel's, given by the caller), then the config's
    top-level one, then the only configured repo. With ``allowed`` (a Slack channel's filter)
    a message lists only the repos it allows: a channel never hears of the others.
    """
    repo = ref.repo
    if repo is None and ref.pr is None:
        return None
    if repo is None:
        repo = default_for(services, default_repo)
        if repo is None:
            raise BadInput(
                f"{ref.text} names no repository and there is no default; "
                f"write it as owner/repo#{ref.pr} ({_choices(services, allowed)})"
            )
    configured = services.service_for_repo(repo)
    if configured is None:
        raise BadInput(f"{repo} is not a configured service's repo ({_choices(services, allowed)})")
    repo = configured.repo
    if allowed is not None and not allowed(repo):
        named = repo if ref.repo is not None else "the default repository"
        raise BadInput(f"{named} may not be traced here ({_choices(services, allowed)})")
    return repo


def default_for(services: ServiceMap, default_repo: str | None) -> str | None:
    """What ``#123`` is about: ``default_repo``, else the config's, else the only repo."""
    if default_repo or services.default_repo:
        return default_repo or services.default_repo
    return services.repos[0] if len(services.repos) == 1 else None


def _choices(services: ServiceMap, allowed: RepoFilter | None) -> str:
    if allowed is None:
        return f"configured: {', '.join(services.repos)}"
    repos = [r for r in services.repos if allowed(r)]
    return f"traceable here: {', '.join(repos)}" if repos else "nothing is traceable here"


class Refused(BadInput):
    """The channel may not ask about that repository."""

    def __init__(self, channel_id: str, target: str, next_step: str) -> None:
        super().__init__(f"channel {channel_id} may not trace {target}. {next_step}")
        self.channel_id = channel_id
        self.target = target
        self.next_step = next_step


@dataclass(frozen=True)
class ChannelPolicy:
    channel_id: str
    services: ServiceMap
    channel: Channel | None  # None: the channel is not in the config

    @property
    def default_repo(self) -> str | None:
        return self.channel.default_repo if self.channel is not None else None

    def allows(self, repo: str) -> bool:
        if self.services.service_for_repo(repo) is None:
            return False
        return self.channel is None or self.channel.allows(repo)

    def traceable(self) -> list[Service]:
        """The configured services this channel may trace."""
        return [s for s in self.services.services if self.allows(s.repo)]

    def traceable_repos(self) -> list[str]:
        return [r for r in self.services.repos if self.allows(r)]

    def check(self, ref: Ref) -> None:
        """Raise :class:`Refused` (or :class:`BadInput`) unless this channel may trace ``ref``."""
        if ref.repo is not None:  # the user named it: saying it back reveals nothing
            if not self.allows(ref.repo):
                raise Refused(self.channel_id, ref.repo, self._next_step)
            return
        if not self.traceable_repos():  # a bare SHA or number has nowhere to look
            raise Refused(self.channel_id, "any repository", self._next_step)
        if ref.pr is None:  # a bare SHA: searched in the allowed repos
            return
        repo = default_for(self.services, self.default_repo)
        if repo is None:
            raise BadInput(
                f"{ref.text} names no repository and this channel has no default; write it as "
                f"owner/repo#{ref.pr} (this channel may trace {self._names()})"
            )
        if not self.allows(repo):  # a default this channel may not see is not named
            raise Refused(self.channel_id, "the default repository", self._next_step)

    def _names(self) -> str:
        repos = self.traceable_repos()
        if not repos:
            return "nothing"
        shown = ", ".join(repos[:MAX_NAMED])
        more = len(repos) - MAX_NAMED
        return f"{shown} and {more} more" if more > 0 else shown

    @property
    def _next_step(self) -> str:
        if self.channel is None:
            return "It can trace the services in shiptrace.yaml; ask in a channel set up for it."
        if not self.traceable_repos():
            return (
                "This channel may trace nothing; add repos to "
                f"slack.channels.{self.channel_id}.repos in shiptrace.yaml."
            )
        return (
            f"This channel may trace {self._names()}; ask where that repo is allowed, or add "
            f"it to slack.channels.{self.channel_id}.repos in shiptrace.yaml."
        )


def policy_for(services: ServiceMap, channel_id: str) -> ChannelPolicy:
    return ChannelPolicy(channel_id, services, services.slack.channels.get(channel_id))

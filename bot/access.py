"""Which repositories a Slack channel may ask about (``slack.channels`` in the config). Pure.

A channel listed in the config may trace the repos its ``repos`` globs match (``[]`` allows
nothing). A channel that is not listed may trace any configured service's repo and nothing
else. The check runs before the ack, so a refused question never reaches GitHub.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.change import pick_repo
from bot.config import Channel, Service, ServiceMap
from bot.errors import BadInput
from bot.refs import Ref


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

    def check(self, ref: Ref) -> None:
        """Raise :class:`Refused` (or :class:`BadInput`) unless this channel may trace ``ref``."""
        if ref.repo is None and ref.pr is None:  # a bare SHA: searched in the allowed repos
            if not any(self.allows(repo) for repo in self.services.repos):
                raise Refused(self.channel_id, "any repository", self._next_step)
            return
        try:
            repo = pick_repo(ref, self.services, self.default_repo)
        except BadInput:
            if ref.repo is None:  # no repo named and no default: the message says what to do
                raise
            # Not a configured repo: refuse without listing what this channel may not see.
            repo = ref.repo
        if repo is None or not self.allows(repo):
            raise Refused(self.channel_id, str(repo), self._next_step)

    @property
    def _next_step(self) -> str:
        if self.channel is None:
            return "It can trace the services in shiptrace.yaml; ask in a channel set up for it."
        globs = ", ".join(self.channel.repos) or "nothing"
        return (
            f"This channel allows {globs}; ask where that repo is allowed, or add it to "
            f"slack.channels.{self.channel_id}.repos in shiptrace.yaml."
        )


def policy_for(services: ServiceMap, channel_id: str) -> ChannelPolicy:
    return ChannelPolicy(channel_id, services, services.slack.channels.get(channel_id))

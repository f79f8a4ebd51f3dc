"""The project's own errors.

Nothing above ``bot/sources`` sees a PyGithub, kubernetes or sqlite exception: each source
translates what it meets into one of these, with a short message that says what to do next.

    ShiptraceError
    ├── BadInput            what the user typed is not a change reference          (exit 2)
    ├── ConfigError         the config file or environment is wrong                 (exit 2)
    ├── StoreError          the database file cannot be used                        (exit 2)
    │   └── StoreBusy       another process holds its write lock: try again later
    ├── ChangeNotFound      the PR / commit does not exist                          (exit 3)
    └── SourceError         an outside system could not answer
        ├── GitHubError                                                             (exit 4)
        │   ├── GitHubUnavailable   unreachable, 5xx after retries, timed out
        │   ├── GitHubAuthError     token missing, refused or lacking access
        │   └── GitHubRateLimited   rate limit past the capped wait
        └── KubernetesError  a cluster could not be read (never fatal: stages go unknown)
            └── KubernetesNotFound  the cluster answered: no such object (or kind)
"""

from __future__ import annotations

from datetime import datetime


class ShiptraceError(Exception):
    """Base of every error shiptrace reports to a user."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(ShiptraceError):
    exit_code = 2


class ConfigError(ShiptraceError):
    exit_code = 2


class StoreError(ShiptraceError):
    exit_code = 2


class StoreBusy(StoreError):
    """Another process holds the database's lock; the bot does not wait for it."""


class ChangeNotFound(ShiptraceError):
    exit_code = 3


class SourceError(ShiptraceError):
    source = "unknown"
    exit_code = 4


class GitHubError(SourceError):
    source = "github"


class GitHubNotFound(GitHubError):
    """A resource GitHub says does not exist (404 / 422 for an unknown SHA)."""

    exit_code = 3


class GitHubUnavailable(GitHubError):
    pass


class GitHubAuthError(GitHubError):
    pass


class GitHubRateLimited(GitHubError):
    def __init__(self, message: str, reset_at: datetime | None = None) -> None:
        super().__init__(message)
        self.reset_at = reset_at


class KubernetesError(SourceError):
    source = "kubernetes"


class KubernetesNotFound(KubernetesError):
    """The cluster answered that the object (or its kind) does not exist."""

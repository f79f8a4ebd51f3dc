"""Settings from the environment and the service map (``shiptrace.yaml``), validated at start.

Every problem is reported as one :class:`ConfigError` naming the key path, e.g.
``shiptrace.yaml: services[0].environments[1]: has both argocd and flux``.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError
from bot.gitops import TOOLS
from bot.gitops.tool import GitOpsTool
from bot.kube.tags import TagPattern, compile_tag
from bot.refs import is_repo_name, web_origin


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_repo(value: str) -> str:
    if not is_repo_name(value):
        raise ValueError(f"'{value}' is not an owner/repo name")
    return value


class Workload(_Strict):
    kind: Literal["Deployment", "StatefulSet", "DaemonSet", "Rollout"]
    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)


class _Environment(_Strict):
    name: str = Field(min_length=1)
    cluster: str | None = None  # kubeconfig context; None = current context / in-cluster
    workloads: list[Workload] = Field(default_factory=list)
    alert_channel: str | None = None  # drift alerts for this environment

    @model_validator(mode="after")
    def _one_gitops_object(self) -> _Environment:
        named = [key for key in TOOLS if getattr(self, key, None) is not None]
        if len(named) > 1:
            raise ValueError(f"has both {named[0]} and {named[1]}; an environment has at most one")
        return self

    @property
    def gitops(self) -> tuple[GitOpsTool, Any] | None:
        """The environment's GitOps tool and its config section, if it has one."""
        for key, tool in TOOLS.items():
            ref = getattr(self, key, None)
            if ref is not None:
                return tool, ref
        return None


# Each GitOps tool's section is a key of an environment (``argocd:``, ``flux:``).
if TYPE_CHECKING:
    Environment = _Environment
else:
    Environment = create_model(
        "Environment",
        __base__=_Environment,
        **{key: (tool.config | None, None) for key, tool in TOOLS.items()},
    )


class Service(_Strict):
    name: str = Field(min_length=1)
    repo: str
    image: str | None = None
    tag: str = "{sha}"
    environments: list[Environment]

    @field_validator("repo")
    @classmethod
    def _valid_repo(cls, value: str) -> str:
        return _check_repo(value)

    @field_validator("tag")
    @classmethod
    def _valid_tag(cls, value: str) -> str:
        compile_tag(value)
        return value

    @field_validator("environments")
    @classmethod
    def _some_environments(cls, value: list[Environment]) -> list[Environment]:
        if not value:
            raise ValueError("a service needs at least one environment")
        names = [env.name for env in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"environment names repeat: {', '.join(dupes)}")
        return value

    @property
    def tag_pattern(self) -> TagPattern:
        return compile_tag(self.tag)


class Channel(_Strict):
    repos: list[str] = Field(default_factory=list)  # fnmatch globs over owner/repo
    default_repo: str | None = None
    drift: bool = False
    digest: bool = False

    def allows(self, repo: str) -> bool:
        return any(fnmatch.fnmatchcase(repo.lower(), glob.lower()) for glob in self.repos)


class DigestConfig(_Strict):
    """When and how the daily digest is posted in channels with ``digest: true``."""

    at: str = "09:00"  # local time, HH:MM
    timezone: str = "UTC"  # an IANA name, e.g. Europe/Berlin
    days: str = "mon-fri"  # cron day-of-week: "mon-fri", "mon,wed,fri", "*"
    stuck_hours: float = Field(default=6, gt=0)  # merged longer ago and not live: stuck
    failure_window_hours: float = Field(default=24, gt=0)  # for the change failure rate
    chart_min_changes: int = Field(default=5, ge=1)  # lead-time chart from this many changes
    late_grace_hours: float = Field(default=6, ge=0)  # a missed digest is posted late within
    lookback_days: int = Field(default=7, ge=1)  # how far back stuck changes are looked for

    @field_validator("at")
    @classmethod
    def _valid_at(cls, value: str) -> str:
        hour, _, minute = value.partition(":")
        if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
            raise ValueError(f"'{value}' is not a time of day (HH:MM)")
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{value}' is not a time zone name (e.g. Europe/Berlin)") from None
        return value

    @field_validator("days")
    @classmethod
    def _valid_days(cls, value: str) -> str:
        days = value.strip().lower()
        if not _weekdays(days):
            raise ValueError(
                f"'{value}' is not a list of weekdays (e.g. mon-fri, mon,wed, or mon,fri-sun)"
            )
        return days


# APScheduler's day_of_week (the digest's cron trigger), checked here without loading it:
# names or 0-6 (0 is Monday), ranges in week order, both ends of a range in the same form
# (the scheduler reads "mon-3" as "mon" alone).
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"(?P<first>[a-z]{3}|[0-6])(?:-(?P<last>[a-z]{3}|[0-6]))?")


def _weekdays(days: str) -> bool:
    if days == "*":
        return True
    for part in days.split(","):
        m = _RANGE.fullmatch(part)
        if m is None:
            return False
        first, last = m["first"], m["last"] or m["first"]
        if first.isdigit() != last.isdigit():
            return False
        if not first.isdigit() and not {first, last} <= set(_WEEKDAYS):
            return False
        if _day_number(first) > _day_number(last):
            return False
    return True


def _day_number(day: str) -> int:
    return int(day) if day.isdigit() else _WEEKDAYS.index(day)


class SlackConfig(_Strict):
    channels: dict[str, Channel] = Field(default_factory=dict)
    digest: DigestConfig = Field(default_factory=DigestConfig)


class ServiceMap(_Strict):
    default_repo: str | None = None
    services: list[Service]
    slack: SlackConfig = Field(default_factory=SlackConfig)

    @field_validator("default_repo")
    @classmethod
    def _valid_default(cls, value: str | None) -> str | None:
        return None if value is None else _check_repo(value)

    @field_validator("services")
    @classmethod
    def _some_services(cls, value: list[Service]) -> list[Service]:
        if not value:
            raise ValueError("at least one service is needed")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ServiceMap:
        names = [s.name for s in self.services]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"service names repeat: {', '.join(dupes)}")
        if self.default_repo is not None and self.service_for_repo(self.default_repo) is None:
            raise ValueError(f"default_repo {self.default_repo} is not a configured service's repo")
        for channel_id, channel in self.slack.channels.items():
            repo = channel.default_repo
            if repo is None:
                continue
            if self.service_for_repo(repo) is None:
                raise ValueError(
                    f"slack.channels.{channel_id}.default_repo: {repo} is not a configured "
                    "service's repo"
                )
            if not channel.allows(repo):
                raise ValueError(
                    f"slack.channels.{channel_id}.default_repo: {repo} is not allowed by the "
                    "channel's repos"
                )
        return self

    @property
    def repos(self) -> list[str]:
        seen: dict[str, str] = {}
        for service in self.services:
            seen.setdefault(service.repo.lower(), service.repo)
        return list(seen.values())

    def service_for_repo(self, repo: str) -> Service | None:
        return next((s for s in self.services if s.repo.lower() == repo.lower()), None)

    def alert_channel(self, service: Service, environment: Environment) -> str | None:
        """Where drift alerts for one environment go: its ``alert_channel``, else the first
        channel with ``drift: true`` that may trace the service's repo."""
        if environment.alert_channel:
            return environment.alert_channel
        for channel_id, channel in self.slack.channels.items():
            if channel.drift and channel.allows(service.repo):
                return channel_id
        return None

    def services_for_repo(self, repo: str) -> list[Service]:
        return [s for s in self.services if s.repo.lower() == repo.lower()]


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _web_url(value: str | None) -> str | None:
    # Links are matched on host[:port] alone: a path here would be silently ignored.
    if value is None:
        return None
    origin = web_origin(value)
    if value.rstrip("/").lower() != origin:
        raise ValueError(f"'{value}' must be scheme://host[:port] only, e.g. https://github.com")
    return origin


class Settings(BaseSettings):
    """Process settings, read from the environment at the edge (CLI / serve) only."""

    # An empty NAME= (as in a copied .env file) means "not set", not "set to nothing".
    model_config = SettingsConfigDict(extra="ignore", frozen=True, env_ignore_empty=True)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    github_token: SecretStr | None = None
    github_app_id: str | None = None
    github_app_private_key: SecretStr | None = None
    github_app_installation_id: int | None = None
    github_api_url: str = "https://api.github.com"
    # Where PR and commit links are (scheme://host[:port]). Unset: learned from GitHub's own
    # html_url, else derived from github_api_url (see README "Links").
    github_web_url: Annotated[str | None, AfterValidator(_web_url)] = None
    shiptrace_config: Path = Path("shiptrace.yaml")
    shiptrace_db: Path = Path("shiptrace.db")
    shiptrace_host: str = "0.0.0.0"  # noqa: S104 - a container's bot listens on all interfaces
    shiptrace_port: int = Field(default=3000, ge=0, le=65535)
    # Seconds one GitHub request may take before it counts as failed (then retried).
    shiptrace_github_timeout: int = 5
    # Retries of transient GitHub failures (5xx, timeouts) per request.
    shiptrace_github_retries: int = 2
    # Longest wait for a GitHub rate-limit reset before giving up on that look-up.
    shiptrace_rate_limit_wait: float = 3.0
    # Concurrent outside look-ups per answer.
    shiptrace_concurrency: int = 8
    shiptrace_log_level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)
    ] = "INFO"
    # text: one line per record for people; json: one object per line for a log pipeline.
    shiptrace_log_format: Annotated[Literal["text", "json"], BeforeValidator(_lower)] = "text"
    # Followed messages: how often they are re-traced, and when following gives up.
    shiptrace_follow_interval: int = Field(default=60, ge=10)
    shiptrace_follow_max_hours: float = Field(default=24.0, gt=0)
    # Drift: how often to scan, how long a finding must last to open an incident, and how
    # soon after reconciling the same drift reopens the same thread instead of a new one.
    shiptrace_drift_interval: int = Field(default=60, ge=10)
    shiptrace_drift_grace: int = Field(default=120, ge=0)
    shiptrace_drift_cooldown: int = Field(default=1800, ge=0)
    # Trace export by serve (when OTEL_EXPORTER_OTLP_ENDPOINT is set): how often merged PRs
    # are traced for spans that ended, and for how many days after its merge a PR is followed.
    shiptrace_export_interval: int = Field(default=60, ge=10)
    shiptrace_export_max_days: float = Field(default=7.0, gt=0)
    # Several replicas: only the holder of this Lease runs the scheduled jobs. Unset: one
    # replica, no election. The namespace defaults to the pod's own (POD_NAMESPACE).
    shiptrace_lease_name: str | None = None
    shiptrace_lease_namespace: str | None = None
    shiptrace_lease_context: str | None = None  # kubeconfig context; unset = current/in-cluster
    shiptrace_lease_seconds: int = Field(default=15, ge=6)
    pod_name: str | None = None  # this replica's identity in the Lease (downward API)
    pod_namespace: str | None = None
    # The GitHub App's private key, PEM text (read from the file GITHUB_APP_PRIVATE_KEY names).
    _github_app_key: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _github_app(self) -> Settings:
        """All three App variables or none, and a key that signs: checked before any work,
        because GitHub would only say so on the first look-up (or never, read anonymously)."""
        values = {
            "GITHUB_APP_ID": self.github_app_id,
            "GITHUB_APP_PRIVATE_KEY": self.github_app_private_key,
            "GITHUB_APP_INSTALLATION_ID": self.github_app_installation_id,
        }
        missing = [name for name, value in values.items() if value is None]
        if len(missing) == len(values):
            return self
        if missing:
            given = [name for name in values if name not in missing]
            verb = "is" if len(given) == 1 else "are"
            raise ValueError(
                f"{_and(given)} {verb} set but not {_and(missing)}: a GitHub App needs all "
                "three (see README 'Configuration'); set them, or unset "
                f"{_and(given)} to use GITHUB_TOKEN"
            )
        assert self.github_app_private_key is not None
        self._github_app_key = read_app_key(self.github_app_private_key.get_secret_value())
        return self

    @property
    def github_app_key(self) -> str | None:
        """The App's private key as PEM text, when a GitHub App is configured."""
        return self._github_app_key


_KEY_HINT = (
    "set it to the private key GitHub generated for the App: the .pem file's path, or its text"
)


def read_app_key(value: str) -> str:
    """The GitHub App's private key from GITHUB_APP_PRIVATE_KEY: the PEM text itself (newlines
    may be written as \\n, as in a one-line .env entry), or the path of the .pem file. Every
    problem is a ValueError naming the variable; the key itself is never quoted."""
    text = value.strip()
    if "-----BEGIN" in text:
        what = "the value"
        if "\n" not in text and "\\n" in text:
            text = text.replace("\\n", "\n")
    else:
        if len(text) > 200 or "\n" in text:  # a key pasted without its header: never echoed
            raise ValueError(
                "GITHUB_APP_PRIVATE_KEY: the value is neither PEM text (-----BEGIN …) nor the "
                f"path of a file; {_KEY_HINT}"
            )
        path = Path(text).expanduser()
        what = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ValueError(f"GITHUB_APP_PRIVATE_KEY: no file {what}; {_KEY_HINT}") from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not a text file"
            raise ValueError(
                f"GITHUB_APP_PRIVATE_KEY: cannot read {what} ({reason}); {_KEY_HINT}"
            ) from None
    try:
        key = load_pem_private_key(text.encode(), password=None)
    except TypeError:  # a passphrase is needed
        raise ValueError(
            f"GITHUB_APP_PRIVATE_KEY: {what} is an encrypted key; GitHub generates App keys "
            f"without a passphrase: {_KEY_HINT}"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError(
            f"GITHUB_APP_PRIVATE_KEY: {what} is not a PEM private key "
            f"(-----BEGIN RSA PRIVATE KEY----- …); {_KEY_HINT}"
        ) from None
    if not isinstance(key, RSAPrivateKey):
        raise ValueError(
            f"GITHUB_APP_PRIVATE_KEY: {what} is not an RSA key (GitHub signs App tokens with "
            f"RS256); {_KEY_HINT}"
        )
    return text


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(f"environment: {_first_error(exc)}") from None


def load_service_map(path: Path) -> ServiceMap:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file; create it (see README 'Configuration') "
            "or point SHIPTRACE_CONFIG / --config at it"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror})") from None
    return parse_service_map(text, str(path))


def parse_service_map(text: str, source: str = "shiptrace.yaml") -> ServiceMap:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" line {where.line + 1}" if where is not None else ""
        raise ConfigError(f"{source}:{line} is not valid YAML") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with a 'services' list")
    try:
        return ServiceMap.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_first_error(exc)}") from None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    path = _key_path(err["loc"])
    message = _message(err)
    return f"{path}: {message}" if path else message


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-after", "function-plain")):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def _message(err: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "missing required key"
    message = str(err["msg"])
    return message.removeprefix("Value error, ")

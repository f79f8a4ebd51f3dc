import pytest
from apscheduler.triggers.cron import CronTrigger

from bot.config import load_settings, parse_service_map
from bot.errors import ConfigError

GOOD = """
default_repo: acme/shop
services:
  - name: shop
    repo: acme/shop
    image: ghcr.io/acme/shop
    tag: "sha-{sha7}"
    environments:
      - name: staging
        cluster: staging
        argocd: {application: shop-staging, namespace: argocd}
        workloads:
          - {kind: Deployment, namespace: shop, name: shop}
      - name: production
        cluster: prod
        flux: {kind: Kustomization, name: shop, namespace: flux-system}
        workloads:
          - {kind: Deployment, namespace: shop, name: shop}
      - name: edge
        workloads: [{kind: DaemonSet, namespace: edge, name: shop-edge}]
slack:
  channels:
    C0DEPLOYS: {repos: ["acme/*"], default_repo: acme/shop, drift: true, digest: true}
"""


def test_the_design_example_is_valid() -> None:
    services = parse_service_map(GOOD)
    shop = services.services[0]
    assert [e.name for e in shop.environments] == ["staging", "production", "edge"]
    assert shop.tag_pattern.tag_for("3f2c1ab9" * 5) == "sha-3f2c1ab"
    assert services.slack.channels["C0DEPLOYS"].allows("acme/billing")
    assert not services.slack.channels["C0DEPLOYS"].allows("other/x")
    assert services.service_for_repo("ACME/Shop") is shop


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("image:", "imagex:"), "services[0].imagex: unknown key"),
        (("    repo: acme/shop\n", ""), "services[0].repo: missing required key"),
        (
            (
                "        cluster: prod\n",
                "        cluster: prod\n        argocd: {application: x}\n",
            ),
            "services[0].environments[1]: has both argocd and flux",
        ),
        (("sha-{sha7}", "sha-{sha3}"), "services[0].tag: {shaN} needs N between 7 and 40"),
        (("sha-{sha7}", "latest"), "services[0].tag: needs exactly one {sha}"),
        (("sha-{sha7}", "{sha7}-{sha}"), "services[0].tag: needs exactly one"),
        (("kind: DaemonSet", "kind: Job"), "services[0].environments[2].workloads[0].kind"),
        (("name: edge", "name: staging"), "environment names repeat: staging"),
        (
            ("default_repo: acme/shop\nservices", "default_repo: acme/other\nservices"),
            "default_repo acme/other is not a configured",
        ),
        (
            ("    repo: acme/shop\n", "    repo: acme/..\n"),
            "services[0].repo: 'acme/..' is not an owner/repo name",
        ),
        (
            ("    repo: acme/shop\n", "    repo: not a repo\n"),
            "services[0].repo: 'not a repo' is not an owner/repo name",
        ),
        (
            ("drift: true", "drift: true, colour: red"),
            "slack.channels.C0DEPLOYS.colour: unknown key",
        ),
        (
            ("default_repo: acme/shop, drift", "default_repo: acme/gone, drift"),
            "slack.channels.C0DEPLOYS.default_repo: acme/gone is not a configured",
        ),
        (
            ('repos: ["acme/*"]', 'repos: ["acme/billing"]'),
            "slack.channels.C0DEPLOYS.default_repo: acme/shop is not allowed",
        ),
        (("slack:\n", "slack:\n  digest: {days: fri-mon}\n"), "slack.digest.days: 'fri-mon'"),
        (("slack:\n", "slack:\n  digest: {at: '25:00'}\n"), "slack.digest.at: '25:00' is not"),
        (
            ("slack:\n", "slack:\n  digest: {timezone: Mars/Base}\n"),
            "slack.digest.timezone: 'Mars/Base' is not a time zone",
        ),
    ],
)
def test_bad_config_names_the_key_path(change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(ConfigError, match=None) as info:
        parse_service_map(GOOD.replace(old, new, 1), "shiptrace.yaml")
    assert message in info.value.message
    assert info.value.message.startswith("shiptrace.yaml: ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("services: [", "not valid YAML"),
        ("- a", "expected a mapping"),
        ("", "expected a mapping"),
        ("services: []", "services: at least one service is needed"),
        (
            "services:\n - name: a\n   repo: a/b\n   environments: []\n",
            "a service needs at least one environment",
        ),
    ],
)
def test_unusable_files(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_service_map(text)
    assert message in info.value.message


def test_empty_environment_values_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    # A copied .env with blanks must not break start-up or switch Socket Mode on.
    monkeypatch.setenv("SHIPTRACE_PORT", "")
    monkeypatch.setenv("SLACK_APP_TOKEN", "")
    monkeypatch.setenv("GITHUB_APP_INSTALLATION_ID", "")
    settings = load_settings()
    assert settings.shiptrace_port == 3000
    assert settings.slack_app_token is None
    assert settings.github_app_installation_id is None


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SHIPTRACE_LOG_LEVEL", "verbose", "shiptrace_log_level: Input should be 'DEBUG'"),
        ("SHIPTRACE_PORT", "70000", "shiptrace_port: Input should be less than or equal"),
        ("SHIPTRACE_FOLLOW_INTERVAL", "5", "shiptrace_follow_interval: Input should be greater"),
        ("SHIPTRACE_LINK_SECRET", "short", "SHIPTRACE_LINK_SECRET must be at least 32 characters"),
        ("SHIPTRACE_LINK_DAYS", "0", "shiptrace_link_days: Input should be greater"),
        ("SHIPTRACE_PUBLIC_URL", "shiptrace.example.com", "must be an http(s) URL"),
        ("SHIPTRACE_PUBLIC_URL", "https://a@st.example.com", "must be an http(s) URL"),
        ("SHIPTRACE_PUBLIC_URL", "https://st.example.com/?x=1", "must be an http(s) URL"),
    ],
)
def test_bad_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert message in info.value.message


def test_timeline_settings_and_their_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert (settings.shiptrace_public_url, settings.shiptrace_link_secret) == (None, None)
    assert settings.shiptrace_link_days == 7
    monkeypatch.setenv("SHIPTRACE_PUBLIC_URL", "https://tools.example.com/shiptrace/")
    monkeypatch.setenv("SHIPTRACE_LINK_SECRET", "s" * 32)
    settings = load_settings()
    assert settings.shiptrace_public_url == "https://tools.example.com/shiptrace"
    assert "s" * 32 not in repr(settings)  # never in a log line


def test_the_log_level_is_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPTRACE_LOG_LEVEL", "debug")
    assert load_settings().shiptrace_log_level == "DEBUG"


def digest_days(days: str) -> str:
    services = parse_service_map(
        GOOD.replace("slack:\n", f"slack:\n  digest: {{days: '{days}'}}\n")
    )
    return services.slack.digest.days


@pytest.mark.parametrize(
    ("days", "kept"),
    [
        ("mon-fri", "mon-fri"),
        ("*", "*"),
        ("mon,wed,fri", "mon,wed,fri"),
        ("sat-sun", "sat-sun"),
        ("mon,fri-sun", "mon,fri-sun"),
        ("wed-wed", "wed-wed"),
        ("0-6", "0-6"),
        ("1,3", "1,3"),
        (" MON-Fri ", "mon-fri"),
    ],
)
def test_digest_days_the_scheduler_runs_on(days: str, kept: str) -> None:
    assert digest_days(days) == kept
    # What the config accepts, the scheduler accepts too (checked here, not at load time).
    CronTrigger(day_of_week=kept)


@pytest.mark.parametrize(
    "days",
    [
        "fri-mon",  # wrapping ranges are not weekdays in order
        "sun-mon",
        "6-0",
        "mon-3",  # the scheduler would silently read it as "mon"
        "3-mon",
        "monday",
        "7",
        "mon-",
        "",
        "*,mon",
        "mon, fri",
        "mon-wed-fri",
    ],
)
def test_digest_days_that_are_not_weekdays(days: str) -> None:
    with pytest.raises(ConfigError) as info:
        digest_days(days)
    assert (
        f"slack.digest.days: '{days}' is not a list of weekdays "
        "(e.g. mon-fri, mon,wed, or mon,fri-sun)" in info.value.message
    )

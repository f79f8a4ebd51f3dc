"""The docs keep up with the code: every package is on the map; every CLI command, flag and
exit code is in docs/cli.md; every shiptrace.yaml key (with its default) and every environment
variable (with its default) is in docs/configuration.md, and every variable in .env.example;
every /where subcommand is in docs/slack.md; every relative link and anchor resolves; and the
README's picture of an answer is what the demo prints. Each is parametrized, so a failure names
what is missing."""

from __future__ import annotations

import argparse
import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from bot.cli import EXIT_CODES, build_parser, main
from bot.config import ServiceMap, Settings, parse_service_map
from bot.gitops import TOOLS
from handlers.subcommands import SUBCOMMANDS

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


ARCHITECTURE = read(ROOT / "ARCHITECTURE.md")
README = read(ROOT / "README.md")
CLI = read(DOCS / "cli.md")
CONFIGURATION = read(DOCS / "configuration.md")
SLACK = read(DOCS / "slack.md")
ENV_EXAMPLE = read(ROOT / ".env.example")


# --- the map ------------------------------------------------------------------------------------


def packages() -> list[str]:
    """Every package under bot/ and handlers/ (a directory with an __init__.py), as ``bot/x/``."""
    found = []
    for top in ("bot", "handlers"):
        for init in sorted((ROOT / top).rglob("__init__.py")):
            found.append(init.parent.relative_to(ROOT).as_posix() + "/")
    return found


def test_every_package_is_found() -> None:
    assert {"bot/", "handlers/", "bot/trace/", "handlers/commands/"} <= set(packages())


@pytest.mark.parametrize("package", packages())
def test_every_package_is_on_the_map(package: str) -> None:
    assert f"`{package}`" in ARCHITECTURE, f"ARCHITECTURE.md does not say what {package} holds"


# --- the CLI ------------------------------------------------------------------------------------


def subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sorted(action.choices.items()))


def commands() -> list[str]:
    return list(subparsers())


def flags() -> list[tuple[str, str]]:
    """(command, option string) for every option of every subcommand but -h/--help (which the
    top of docs/cli.md covers for all of them); a positional counts by its metavar."""
    found = []
    for command, sub in subparsers().items():
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if action.option_strings:
                found += [(command, option) for option in action.option_strings]
            else:
                found.append((command, str(action.metavar or action.dest)))
    return found


def top_level_options() -> list[str]:
    parser = build_parser()
    return [o for a in parser._actions for o in a.option_strings]


def exit_codes() -> list[tuple[str, int]]:
    return [(command, code) for command, codes in EXIT_CODES.items() for code in codes]


def section(text: str, heading: str) -> str:
    """The text under a ``## heading`` up to the next heading of level 2 (or the end)."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"docs/cli.md has no section '## {heading}'"
    return match.group(1)


def mentions(text: str, word: str) -> bool:
    """``word`` (a flag like ``-o`` or ``--json``) as itself, not inside a longer word."""
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


def test_every_command_and_flag_is_found() -> None:
    assert {"where", "drift", "digest", "doctor", "serve", "demo"} <= set(commands())
    assert {("where", "--kubeconfig"), ("where", "-o"), ("where", "REF")} <= set(flags())
    assert {"--version", "-h", "--help"} <= set(top_level_options())


@pytest.mark.parametrize("command", commands())
def test_every_cli_command_is_in_the_readme(command: str) -> None:
    assert f"shiptrace {command}" in README, f"README.md does not name `shiptrace {command}`"


@pytest.mark.parametrize("command", commands())
def test_every_cli_command_has_its_section_in_docs_cli(command: str) -> None:
    assert f"\n## `shiptrace {command}`\n" in CLI, (
        f"docs/cli.md has no section '## `shiptrace {command}`'"
    )


@pytest.mark.parametrize(("command", "flag"), flags())
def test_every_flag_is_in_its_commands_section(command: str, flag: str) -> None:
    assert mentions(section(CLI, f"`shiptrace {command}`"), flag), (
        f"docs/cli.md does not document `shiptrace {command} {flag}`"
    )


@pytest.mark.parametrize("option", top_level_options())
def test_every_top_level_option_is_in_docs_cli(option: str) -> None:
    assert mentions(CLI.partition("\n## `shiptrace ")[0], option), (
        f"docs/cli.md does not document `shiptrace {option}` before the first command"
    )


@pytest.mark.parametrize(("command", "code"), exit_codes())
def test_every_exit_code_is_in_docs_cli(command: str, code: int) -> None:
    text = CLI.partition("\n## `shiptrace ")[0] if command == "shiptrace" else None
    text = text if text is not None else section(CLI, f"`shiptrace {command}`")
    assert re.search(rf"^\| {code} \|", text, re.M), (
        f"docs/cli.md: no row '| {code} |' in the exit codes of {command}"
    )


@pytest.mark.parametrize("word", [row.names[0] for row in SUBCOMMANDS])
def test_every_where_subcommand_is_in_docs_slack(word: str) -> None:
    assert f"`/where {word}`" in SLACK, f"docs/slack.md does not document `/where {word}`"


# --- the service map ----------------------------------------------------------------------------


def _models_in(annotation: Any) -> tuple[type[BaseModel], str] | None:
    """The model a field holds, and how its keys are written below it: ``[]`` for a list of
    them, ``.<id>`` for a mapping of them, nothing for one."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if arg is not type(None) and (found := _models_in(arg)) is not None:
                return found
        return None
    if origin is list:
        inner = _models_in(typing.get_args(annotation)[0])
        return (inner[0], "[]" + inner[1]) if inner else None
    if origin is dict:
        inner = _models_in(typing.get_args(annotation)[1])
        return (inner[0], ".<id>" + inner[1]) if inner else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, ""
    return None


def config_keys() -> list[tuple[str, FieldInfo]]:
    """Every key of shiptrace.yaml as its path (``services[].environments[].argocd.namespace``)
    and its field."""
    found: list[tuple[str, FieldInfo]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            path = prefix + name
            inner = _models_in(field.annotation)
            found.append((path, field))
            if inner is not None:
                walk(inner[0], path + inner[1] + ".")

    walk(ServiceMap, "")
    return found


def default_text(field: FieldInfo) -> str | None:
    """How the reference states a field's default: ``required``, ``—`` (none), or the value
    as a code span; None when it is a section of more keys (any wording)."""
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "—"
    if isinstance(value, BaseModel):
        return None
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, list | dict):
        return f"`{value!r}`"
    if hasattr(value, "get_secret_value"):
        return "—"
    return f"`{value}`"


def table_row(text: str, key: str) -> list[str] | None:
    """The cells of the reference table row for `key` (``| `key` | default | meaning |``)."""
    match = re.search(rf"^\| `{re.escape(key)}` \|(.*)$", text, re.M)
    if match is None:
        return None
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", match.group(1))]


def test_every_config_key_is_found() -> None:
    keys = {path for path, _ in config_keys()}
    assert {
        "default_repo",
        "services[].environments[].workloads[].kind",
        "slack.channels.<id>.repos",
        "slack.digest.late_grace_hours",
    } <= keys
    for tool in TOOLS:  # each GitOps tool's own section, and its keys
        assert f"services[].environments[].{tool}" in keys
        for name in TOOLS[tool].config.model_fields:
            assert f"services[].environments[].{tool}.{name}" in keys


@pytest.mark.parametrize(
    ("key", "field"), [pytest.param(path, field, id=path) for path, field in config_keys()]
)
def test_every_config_key_is_in_docs_configuration_with_its_default(
    key: str, field: FieldInfo
) -> None:
    row = table_row(CONFIGURATION, key)
    assert row is not None, f"docs/configuration.md has no row '| `{key}` | default | meaning |'"
    expected = default_text(field)
    if expected is not None:
        assert row[0].startswith(expected), (
            f"docs/configuration.md: `{key}` defaults to {expected}, the row says {row[0]!r}"
        )


# --- the environment ----------------------------------------------------------------------------

# Read by the OpenTelemetry SDK's OTLP exporter and resource itself (shiptrace passes them on).
SDK_VARIABLES = (
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
)
# Set by Kubernetes in every pod (it tells the cluster client it runs in one): not a setting.
NOT_SETTINGS = {"KUBERNETES_SERVICE_HOST"}
_READ = (
    r"(?:environ|env)(?:\.get\(|\[)\s*\"([A-Z][A-Z0-9_]*)\"",
    r"\"([A-Z][A-Z0-9_]*)\"\s+(?:not\s+)?in\s+(?:os\.)?environ",
)


def read_from_environ() -> set[str]:
    """The variables bot/ and handlers/ read from os.environ themselves (not through
    Settings); the sandbox and the demo set up their own environment, so they do not count."""
    names: set[str] = set()
    for top in ("bot", "handlers"):
        for path in (ROOT / top).rglob("*.py"):
            if {"sandbox", "demo"} & set(path.relative_to(ROOT).parts):
                continue
            text = read(path)
            for pattern in _READ:
                names |= set(re.findall(pattern, text))
    return names - NOT_SETTINGS


def settings_variables() -> dict[str, FieldInfo]:
    prefix = str(Settings.model_config.get("env_prefix") or "")
    return {(prefix + name).upper(): field for name, field in Settings.model_fields.items()}


def variables() -> list[str]:
    return sorted(set(settings_variables()) | read_from_environ() | set(SDK_VARIABLES))


def test_every_variable_is_found() -> None:
    found = set(variables())
    assert {"SLACK_BOT_TOKEN", "SHIPTRACE_DRIFT_GRACE", "POD_NAME"} <= found  # Settings
    assert {"KUBECONFIG", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SDK_DISABLED"} <= found  # read
    assert "KUBERNETES_SERVICE_HOST" not in found


@pytest.mark.parametrize("name", variables())
def test_every_variable_is_in_docs_configuration(name: str) -> None:
    row = table_row(CONFIGURATION, name)
    assert row is not None, f"docs/configuration.md has no row '| `{name}` | default | meaning |'"
    field = settings_variables().get(name)
    expected = default_text(field) if field is not None else None
    if expected is not None:
        assert row[0].startswith(expected), (
            f"docs/configuration.md: {name} defaults to {expected}, the row says {row[0]!r}"
        )


@pytest.mark.parametrize("name", variables())
def test_every_variable_is_in_env_example(name: str) -> None:
    assert re.search(rf"^(# )?{name}=", ENV_EXAMPLE, re.M), (
        f".env.example has no line '# {name}=…' (commented out, with its default or an example)"
    )


# --- links --------------------------------------------------------------------------------------


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", ROOT / "ARCHITECTURE.md", *sorted(DOCS.glob("*.md"))]


def without_code(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file."""
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#{1,6} (.+)$", without_code(read(path)), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        found.add(slug if n == 0 else f"{slug}-{n}")
    return found


def links() -> Iterator[tuple[str, str]]:
    for path in markdown_files():
        text = re.sub(r"`[^`\n]*`", "", without_code(read(path)))
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if not re.match(r"[a-z]+:", target):
                yield path.relative_to(ROOT).as_posix(), target


def test_links_are_found() -> None:
    found = set(links())
    assert ("README.md", "docs/configuration.md") in found
    assert any(source.startswith("docs/") and "#" in target for source, target in found)


@pytest.mark.parametrize(("source", "target"), sorted(set(links())))
def test_every_link_resolves(source: str, target: str) -> None:
    file, _, anchor = target.partition("#")
    path = (ROOT / source).parent / file if file else ROOT / source
    assert path.exists(), f"{source}: the link {target} names no file"
    if anchor and path.suffix == ".md":
        assert anchor in anchors(path), f"{source}: {path.name} has no heading #{anchor}"


# --- the README ---------------------------------------------------------------------------------


def test_the_readme_starts_with_the_two_commands() -> None:
    top = README[: README.index("\n## ", README.index("## The two commands") + 1)]
    assert "scripts/run demo" in top
    assert "scripts/test" in top


def test_the_readme_is_short_enough_to_read_top_to_bottom() -> None:
    assert len(README.splitlines()) <= 320, "README.md: move long sections under docs/"


@pytest.mark.parametrize("doc", ["README.md", "docs/configuration.md"])
def test_every_service_map_shown_is_valid(doc: str) -> None:
    blocks = re.findall(r"^( *)```yaml\n(.*?)^ *```", read(ROOT / doc), re.M | re.S)
    assert blocks, f"{doc}: no yaml block"
    for indent, block in blocks:
        lines = [line.removeprefix(indent) for line in block.splitlines()]
        assert parse_service_map("\n".join(lines), doc).services


def test_the_readmes_picture_of_an_answer_is_what_the_demo_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    picture = re.search(r"<!-- from scripts/run demo -->\n```text\n(.*?)```", README, re.S)
    assert picture, "README.md: no ```text block after <!-- from scripts/run demo -->"
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert picture.group(1) in out, "README.md: the picture is not what `scripts/run demo` prints"

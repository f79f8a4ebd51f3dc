"""GitHub App settings: a usable App reads GitHub with its installation token; an unusable one
stops the CLI (exit 2) and ``serve`` before any work, with one line naming what to set."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import freezegun
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from freezegun import freeze_time
from freezegun.api import FrozenDateTimeFactory
from github import Auth, Github

from bot.cli import main
from bot.config import load_service_map, load_settings
from bot.engine import open_engine
from bot.sandbox.github import GitHubEmulator
from tests.scenarios import shop

APP_ID = "123456"
INSTALLATION = 7890
INSTALLATION_TOKEN = "ghs_installationtoken"


def rsa_key() -> tuple[str, str]:
    """A fresh RSA key as GitHub generates one for an App: (private PEM, public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture
def key() -> tuple[str, str]:
    return rsa_key()


@pytest.fixture
def app(
    github: GitHubEmulator, monkeypatch: pytest.MonkeyPatch, workdir: Path, key: tuple[str, str]
) -> Callable[..., None]:
    """GitHub knows the App; the environment names it instead of a token."""
    github.add_app(APP_ID, key[1], INSTALLATION, token=INSTALLATION_TOKEN)
    monkeypatch.delenv("GITHUB_TOKEN")

    def configure(**env: str | None) -> None:
        values = {
            "GITHUB_APP_ID": APP_ID,
            "GITHUB_APP_PRIVATE_KEY": key[0],
            "GITHUB_APP_INSTALLATION_ID": str(INSTALLATION),
            **env,
        }
        for name, value in values.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)

    return configure


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "internal error" not in err
    return lines[0]


@pytest.mark.parametrize("as_path", [False, True], ids=["pem-text", "pem-file"])
def test_an_app_key_as_text_or_as_a_file_reads_github_as_the_installation(
    cli: Any,
    github: GitHubEmulator,
    app: Callable[..., None],
    key: tuple[str, str],
    workdir: Path,
    as_path: bool,
) -> None:
    shop.build(github)
    if as_path:
        pem = workdir / "github-app.pem"
        pem.write_text(key[0])
        app(GITHUB_APP_PRIVATE_KEY=str(pem))
    else:
        app()
    result = cli("where", "acme/shop#12", "--json")
    assert result.code == 0, result.err
    assert result.json["change"]["sha"]
    [exchange] = [r for r in github.requests if r.method == "POST"]
    assert exchange.path == f"/app/installations/{INSTALLATION}/access_tokens"
    assert exchange.status == 201
    gets = [r for r in github.requests if r.method == "GET"]
    assert gets and all(r.headers["Authorization"] == f"token {INSTALLATION_TOKEN}" for r in gets)


def test_a_key_with_escaped_newlines_from_an_env_file_works(
    cli: Any, github: GitHubEmulator, app: Callable[..., None], key: tuple[str, str]
) -> None:
    shop.build(github)
    app(GITHUB_APP_PRIVATE_KEY=key[0].strip().replace("\n", "\\n"))
    result = cli("where", "acme/shop#12")
    assert result.code == 0, result.err


def pem_of_an_ec_key() -> str:
    return (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def encrypted_pem() -> str:
    return (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
        .decode()
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"GITHUB_APP_PRIVATE_KEY": "{workdir}/missing.pem"},
            "GITHUB_APP_PRIVATE_KEY: no file {workdir}/missing.pem",
        ),
        (
            {"GITHUB_APP_PRIVATE_KEY": "{workdir}"},  # a directory: not readable as a file
            "GITHUB_APP_PRIVATE_KEY: cannot read {workdir}",
        ),
        (
            {"GITHUB_APP_PRIVATE_KEY": "{workdir}/garbage.pem"},
            "GITHUB_APP_PRIVATE_KEY: {workdir}/garbage.pem is not a PEM private key",
        ),
        (
            {"GITHUB_APP_PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----\nnot a key\n"},
            "GITHUB_APP_PRIVATE_KEY: the value is not a PEM private key",
        ),
        (
            {"GITHUB_APP_PRIVATE_KEY": "{ec}"},
            "GITHUB_APP_PRIVATE_KEY: the value is not an RSA key",
        ),
        (
            {"GITHUB_APP_PRIVATE_KEY": "{encrypted}"},
            "GITHUB_APP_PRIVATE_KEY: the value is an encrypted key",
        ),
        (
            {"GITHUB_APP_PRIVATE_KEY": None, "GITHUB_APP_INSTALLATION_ID": None},
            "GITHUB_APP_ID is set but not GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID",
        ),
        (
            {"GITHUB_APP_ID": None},
            "GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID are set but not GITHUB_APP_ID",
        ),
        (
            {"GITHUB_APP_INSTALLATION_ID": None},
            "GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY are set but not GITHUB_APP_INSTALLATION_ID",
        ),
    ],
    ids=[
        "missing-file",
        "unreadable",
        "file-not-pem",
        "text-not-pem",
        "not-rsa",
        "encrypted",
        "id-alone",
        "no-id",
        "no-installation",
    ],
)
@pytest.mark.parametrize("command", ["where", "digest", "serve"])
def test_unusable_app_settings_exit_2_with_one_line_naming_them(
    github: GitHubEmulator,
    app: Callable[..., None],
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str | None],
    expected: str,
    command: str,
) -> None:
    shop.build(github)
    (workdir / "garbage.pem").write_text("this is not a key\n")
    fill = {"workdir": str(workdir), "ec": pem_of_an_ec_key(), "encrypted": encrypted_pem()}
    app(**{k: v.format(**fill) if v else v for k, v in env.items()})
    args = {"where": ["where", "acme/shop#12"], "digest": ["digest"], "serve": ["serve"]}
    capsys.readouterr()
    code = main([*args[command], "--port", "0"] if command == "serve" else args[command])
    err = capsys.readouterr().err
    assert code == 2, err
    line = one_line(err)
    assert expected.format(workdir=workdir) in line
    assert "see README" in line or "set " in line  # says what to do
    assert "MII" not in line and "not a key" not in line  # never the value itself
    assert github.requests == []  # refused before any look-up


def test_an_unknown_installation_exits_4_naming_the_variable(
    cli: Any, github: GitHubEmulator, app: Callable[..., None]
) -> None:
    shop.build(github)
    app(GITHUB_APP_INSTALLATION_ID="1111")
    result = cli("where", "acme/shop#12")
    assert result.code == 4, result.err
    line = one_line(result.err)
    assert "installation 1111" in line and "GITHUB_APP_INSTALLATION_ID" in line


def test_a_key_github_does_not_know_exits_4_naming_the_app_variables(
    cli: Any, github: GitHubEmulator, app: Callable[..., None]
) -> None:
    shop.build(github)
    app(GITHUB_APP_PRIVATE_KEY=rsa_key()[0])  # a valid key, but not the App's
    result = cli("where", "acme/shop#12")
    assert result.code == 4, result.err
    line = one_line(result.err)
    assert "GITHUB_APP_ID" in line and "GITHUB_APP_PRIVATE_KEY" in line
    assert "GITHUB_TOKEN" not in line


# --- the installation token expires: a long-running shiptrace gets a new one -----------------


@contextlib.contextmanager
def one_clock() -> Iterator[FrozenDateTimeFactory]:
    """One clock, moved by the test, for shiptrace, PyGithub and the emulator alike.

    freezegun leaves modules named "gi…" (PyGObject) on the real clock, PyGithub's `github`
    among them: not here. kubernetes' client imports its models lazily, which a frozen clock
    breaks: it is left alone (shiptrace reads no time through it)."""
    previous = list(freezegun.config.settings.default_ignore_list)
    freezegun.configure(default_ignore_list=[m for m in previous if m != "gi"])
    try:
        with freeze_time(datetime.now(UTC), real_asyncio=True, ignore=["kubernetes"]) as clock:
            yield clock
    finally:
        freezegun.configure(default_ignore_list=previous)


def bearer(r: Any) -> str:
    return str(r.headers["Authorization"]).removeprefix("token ")


@pytest.mark.parametrize(
    "later",
    [timedelta(minutes=59, seconds=50), timedelta(hours=2)],
    ids=["about-to-expire", "expired"],
)
async def test_an_installation_token_is_replaced_when_it_expires_without_a_refusal(
    github: GitHubEmulator, app: Callable[..., None], workdir: Path, later: timedelta
) -> None:
    """What `serve` does all day: one client, tokens that last an hour."""
    shop.build(github)
    app()
    settings = load_settings()
    services = load_service_map(workdir / "shiptrace.yaml")
    with one_clock() as clock:
        async with open_engine(settings, services) as engine:
            ref = await engine.web.parse("acme/shop#12")
            first = await engine.tracer.trace(ref)
            before = len(github.requests)
            clock.tick(later)
            again = await engine.tracer.trace(ref)
        after = len(github.requests)
    assert again.change.sha == first.change.sha and not again.errors
    exchanges = [r for r in github.requests[:after] if r.method == "POST"]
    assert [r.status for r in exchanges] == [201, 201]  # one each hour, however many threads
    early = [r for r in github.requests[:before] if r.method == "GET"]
    late = [r for r in github.requests[before:after] if r.method == "GET"]
    assert early and {bearer(r) for r in early} == {INSTALLATION_TOKEN}
    assert late and {bearer(r) for r in late} == {f"{INSTALLATION_TOKEN}_2"}
    assert all(r.status in (200, 304) for r in early + late)  # never refused


def test_the_emulator_refuses_an_expired_installation_token_with_401(
    github: GitHubEmulator, key: tuple[str, str]
) -> None:
    shop.build(github)
    github.add_app(APP_ID, key[1], INSTALLATION, token=INSTALLATION_TOKEN)
    auth = Auth.AppAuth(APP_ID, key[0]).get_installation_auth(INSTALLATION)
    with one_clock() as clock:
        client = Github(base_url=github.url, auth=auth, retry=None)  # gives auth its requester
        token = auth.token
        assert token == INSTALLATION_TOKEN
        url = f"{github.url}/repos/acme/shop"
        header = {"Authorization": f"token {token}"}
        assert requests.get(url, headers=header, timeout=5).status_code == 200
        clock.tick(timedelta(hours=1))
        refused = requests.get(url, headers=header, timeout=5)
        assert (refused.status_code, refused.json()["message"]) == (401, "Bad credentials")
        assert auth.token == f"{INSTALLATION_TOKEN}_2"  # PyGithub asks again by expires_at
        client.close()

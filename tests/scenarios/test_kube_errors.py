"""A cluster that cannot be read says what to fix: the kubeconfig's path, the certificate, the
context. The rest of the trace goes on (exit 0); the `where` JSON's errors and the unknown
stages' details carry the reason, and `shiptrace drift` names it on stderr."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from bot.sandbox.github import GitHubEmulator
from bot.sandbox.kube import KubeEmulator, write_kubeconfig
from bot.sandbox.threaded import ThreadedServer
from tests.scenarios import shop
from tests.scenarios.fleet import env_stages, live_staging


def self_signed(directory: Path) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 that no CA signed."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "server.crt", directory / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


@pytest.fixture
def untrusted(tmp_path: Path) -> Iterator[ThreadedServer]:
    """An HTTPS server whose certificate the kubeconfig does not trust."""

    def app() -> web.Application:
        async def anything(_request: web.Request) -> web.Response:
            return web.json_response({})

        application = web.Application()
        application.router.add_route("*", "/{tail:.*}", anything)
        return application

    with ThreadedServer(app, ssl_context=self_signed(tmp_path)) as server:
        yield server


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def point_prod_at(kubeconfig: Path, server: str) -> None:
    config = yaml.safe_load(kubeconfig.read_text())
    [prod] = [c for c in config["clusters"] if c["name"] == "prod"]
    prod["cluster"] = {"server": server}  # no certificate-authority(-data): the system's CAs
    kubeconfig.write_text(yaml.safe_dump(config))


@pytest.fixture
def traced(github: GitHubEmulator, clusters: dict[str, KubeEmulator]) -> shop.Shop:
    s = shop.build(github)
    live_staging(clusters["staging"], s.merged)
    return s


def production_errors(data: dict[str, Any]) -> tuple[str, list[str]]:
    """The one errors entry of production, and the details of its stages."""
    [error] = [e for e in data["errors"] if e["environment"] == "production"]
    assert error["source"] == "kubernetes"
    prod = env_stages(data, "production")
    assert {s["status"] for s in prod.values()} == {"unknown"}
    assert env_stages(data, "staging")["rollout"]["status"] == "succeeded"  # the rest goes on
    return error["message"], [s["detail"] for s in prod.values()]


def test_an_untrusted_certificate_says_certificate(
    cli: Any, traced: shop.Shop, untrusted: ThreadedServer, workdir: Path
) -> None:
    point_prod_at(workdir / "kubeconfig", untrusted.url)
    result = cli("where", "acme/shop#12", "--json")
    assert result.code == 0, result.err
    message, details = production_errors(result.json)
    for text in (message, *details):
        assert "certificate" in text, text
        assert "MaxRetryError" not in text and "SSLError" not in text
    assert "'prod'" in message and untrusted.url in message
    assert "certificate-authority" in message  # what to fix in the kubeconfig


def test_an_unreachable_cluster_names_its_context(
    cli: Any, traced: shop.Shop, workdir: Path
) -> None:
    point_prod_at(workdir / "kubeconfig", f"https://127.0.0.1:{closed_port()}")
    result = cli("where", "acme/shop#12", "--json")
    assert result.code == 0, result.err
    message, details = production_errors(result.json)
    for text in (message, *details):
        assert "context 'prod'" in text, text
    assert "connection refused" in message


def test_a_missing_kubeconfig_names_its_path(
    cli: Any, traced: shop.Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", "/nonexistent")
    result = cli("where", "acme/shop#12", "--json")
    assert result.code == 0, result.err
    errors = result.json["errors"]
    assert {e["environment"] for e in errors} == {"staging", "production"}
    for e in errors:
        assert "/nonexistent" in e["message"] and "KUBECONFIG" in e["message"], e
        assert "No configuration found" not in e["message"]
    drift = cli("drift")
    assert drift.code == 4
    lines = drift.err.strip().splitlines()
    assert len(lines) == 2 and all("/nonexistent" in line for line in lines), drift.err


def test_a_kubeconfig_without_the_context_names_both(
    cli: Any, traced: shop.Shop, workdir: Path, clusters: dict[str, KubeEmulator]
) -> None:
    write_kubeconfig(workdir / "kubeconfig", {"staging": clusters["staging"]})
    result = cli("where", "acme/shop#12", "--json")
    assert result.code == 0, result.err
    message, _ = production_errors(result.json)
    assert "context 'prod'" in message and str(workdir / "kubeconfig") in message

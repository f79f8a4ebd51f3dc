"""Image references and the tag pattern, table-driven."""

import pytest

from bot.kube.tags import compile_tag, parse_image

DIGEST = "sha256:" + "4e" * 32


@pytest.mark.parametrize(
    ("image", "name", "tag", "digest"),
    [
        pytest.param("ghcr.io/acme/api:sha-3f2c1ab", "ghcr.io/acme/api", "sha-3f2c1ab", None,
                     id="tag"),
        pytest.param(f"ghcr.io/acme/api@{DIGEST}", "ghcr.io/acme/api", None, DIGEST, id="digest"),
        pytest.param(f"ghcr.io/acme/api:v1@{DIGEST}", "ghcr.io/acme/api", "v1", DIGEST,
                     id="tag-and-digest"),
        pytest.param("ghcr.io/acme/api", "ghcr.io/acme/api", None, None, id="bare"),
        pytest.param("localhost:5000/acme/api", "localhost:5000/acme/api", None, None,
                     id="port-is-not-a-tag"),
        pytest.param(f"localhost:5000/acme/api:v2@{DIGEST}", "localhost:5000/acme/api", "v2",
                     DIGEST, id="port-tag-and-digest"),
        pytest.param(" nginx:1.27 ", "nginx", "1.27", None, id="docker-hub-short"),
    ],
)  # fmt: skip
def test_parse_image(image: str, name: str, tag: str | None, digest: str | None) -> None:
    ref = parse_image(image)
    assert (ref.name, ref.tag, ref.digest) == (name, tag, digest)


@pytest.mark.parametrize(
    ("image", "service_image", "same"),
    [
        pytest.param("ghcr.io/acme/api:v1", "ghcr.io/acme/api", True, id="tag"),
        pytest.param(f"ghcr.io/acme/api@{DIGEST}", "ghcr.io/acme/api", True, id="digest"),
        pytest.param(f"ghcr.io/acme/api:v1@{DIGEST}", "ghcr.io/acme/api", True,
                     id="tag-and-digest"),
        pytest.param("mirror.example.com/acme/api:v1", "ghcr.io/acme/api", True,
                     id="registry-host-not-compared"),
        pytest.param("GHCR.io/Acme/API:v1", "ghcr.io/acme/api", True, id="case"),
        pytest.param("ghcr.io/acme/api-worker:v1", "ghcr.io/acme/api", False, id="other-image"),
        pytest.param(f"ghcr.io/acme/web@{DIGEST}", "ghcr.io/acme/api", False,
                     id="other-image-by-digest"),
    ],
)  # fmt: skip
def test_same_repository(image: str, service_image: str, same: bool) -> None:
    assert parse_image(image).same_repository(service_image) is same


def test_tag_pattern_both_ways() -> None:
    pattern = compile_tag("sha-{sha7}")
    assert pattern.tag_for("3f2c1ab" + "0" * 33) == "sha-3f2c1ab"
    assert pattern.sha_prefix("sha-3F2C1AB") == "3f2c1ab"
    assert pattern.sha_prefix("latest") is None

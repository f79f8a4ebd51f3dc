"""Every Flux / Argo CD revision shape, table-driven."""

import pytest

from bot.gitops.revisions import Revision, parse_revision

SHA = "1eabc9a41ca088515cab83f1cce49eb43e84b67f"
DIGEST = "f105fc5f3b58605631dc25497773d0a392b807cb220f32635fada3ce0dd81ad6"

# raw, kind, pointer, algo, digest, commit
CASES = [
    pytest.param(f"main/{SHA}", "git", "main", "sha1", SHA, SHA, id="old-branch"),
    pytest.param(f"feature/x/{SHA}", "git", "feature/x", "sha1", SHA, SHA, id="old-slash-branch"),
    pytest.param(f"HEAD/{SHA}", "git", "HEAD", "sha1", SHA, SHA, id="old-head"),
    pytest.param(f"v1.0.0/{SHA}", "git", "v1.0.0", "sha1", SHA, SHA, id="old-tag"),
    pytest.param(f"main@sha1:{SHA}", "git", "main", "sha1", SHA, SHA, id="new-branch"),
    pytest.param(
        f"refs/heads/main@sha1:{SHA}", "git", "refs/heads/main", "sha1", SHA, SHA, id="refname"
    ),
    pytest.param(
        f"feature/a@b@sha1:{SHA}", "git", "feature/a@b", "sha1", SHA, SHA, id="last-at-wins"
    ),
    pytest.param(f"v1.0.0@sha1:{SHA}", "git", "v1.0.0", "sha1", SHA, SHA, id="new-tag"),
    pytest.param(f"sha1:{SHA}", "git", None, "sha1", SHA, SHA, id="commit-only"),
    pytest.param(SHA, "git", None, "sha1", SHA, SHA, id="argocd-bare-sha"),
    pytest.param(SHA.upper(), "git", None, "sha1", SHA, SHA, id="upper-case-hex"),
    pytest.param(f"  main@sha1:{SHA}\n", "git", "main", "sha1", SHA, SHA, id="surrounding-space"),
    pytest.param(
        f"refs/heads/main@sha256:{DIGEST}",
        "git",
        "refs/heads/main",
        "sha256",
        DIGEST,
        None,
        id="sha256-git-repo-no-commit",
    ),
    pytest.param(f"latest@sha256:{DIGEST}", "oci", "latest", "sha256", DIGEST, None, id="oci-tag"),
    pytest.param(f"sha256:{DIGEST}", "oci", None, "sha256", DIGEST, None, id="oci-digest"),
    pytest.param(f"latest/{DIGEST}", "oci", "latest", "sha256", DIGEST, None, id="old-oci-tag"),
    pytest.param(DIGEST, "oci", None, "sha256", DIGEST, None, id="old-bare-digest"),
    pytest.param("6.3.5", "chart", "6.3.5", None, None, None, id="chart-version"),
    pytest.param("0.1.0-rc.1", "chart", "0.1.0-rc.1", None, None, None, id="chart-prerelease"),
    pytest.param(
        "1.2.3+1234567890ab",
        "chart",
        "1.2.3+1234567890ab",
        "sha256",
        "1234567890ab",
        None,
        id="chart-oci-suffix",
    ),
    pytest.param("1.2.3+build.7", "chart", "1.2.3+build.7", None, None, None, id="chart-build"),
    # garbage: only raw survives, never an exception
    pytest.param("", "unknown", None, None, None, None, id="empty"),
    pytest.param("main", "unknown", None, None, None, None, id="word"),
    pytest.param("HEAD", "unknown", None, None, None, None, id="symbolic-ref"),
    pytest.param("3f2c1ab", "unknown", None, None, None, None, id="short-sha"),
    pytest.param(f"main@{SHA}", "unknown", None, None, None, None, id="at-without-algo"),
    pytest.param("main@sha1:abc", "unknown", None, None, None, None, id="short-digest"),
    pytest.param(f"main@md5:{SHA}", "unknown", None, None, None, None, id="unknown-algo"),
    pytest.param(f"sha1:{DIGEST}", "unknown", None, None, None, None, id="wrong-length"),
    pytest.param(f"/{SHA}", "unknown", None, None, None, None, id="empty-pointer"),
    pytest.param("feature/x", "unknown", None, None, None, None, id="branch-no-sha"),
    pytest.param(f"main sha1:{SHA}", "unknown", None, None, None, None, id="inner-space"),
    pytest.param(f"main@sha1:{SHA[:-1]}g", "unknown", None, None, None, None, id="not-hex"),
]


@pytest.mark.parametrize(("raw", "kind", "pointer", "algo", "digest", "commit"), CASES)
def test_parse_revision(
    raw: str,
    kind: str,
    pointer: str | None,
    algo: str | None,
    digest: str | None,
    commit: str | None,
) -> None:
    rev = parse_revision(raw)
    assert rev == Revision(raw, pointer, algo, digest, kind)  # type: ignore[arg-type]
    assert rev.commit == commit


@pytest.mark.parametrize(
    ("raw", "short"),
    [
        pytest.param(f"main@sha1:{SHA}", "1eabc9a", id="commit"),
        pytest.param("6.3.5", "6.3.5", id="chart"),
        pytest.param(f"latest@sha256:{DIGEST}", "latest@sha256:f105fc5f3b58", id="oci"),
        pytest.param(f"sha256:{DIGEST}", "sha256:f105fc5f3b58", id="oci-digest"),
        pytest.param("garbage", "garbage", id="unknown"),
    ],
)
def test_short(raw: str, short: str) -> None:
    assert parse_revision(raw).short == short

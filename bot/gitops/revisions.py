"""Parse the revision strings Flux and Argo CD report. Pure.

Flux changed its artifact revision format in source-controller v0.35 (RFC-0005); objects in
both formats live in real clusters, so every shape is accepted:

- ``main@sha1:<40 hex>``, ``refs/heads/main@sha1:…``, ``v1.0.0@sha1:…`` -> git, pointer =
  the part before the LAST ``@``, algo sha1, digest = the commit;
- ``sha1:<40 hex>`` -> git, no pointer;
- old format ``main/<40 hex>``, ``feature/x/<40 hex>``, ``HEAD/<40 hex>`` -> git, pointer = the
  part before the LAST ``/`` (branch names contain ``/``);
- bare ``<40 hex>`` (Argo CD's ``sync.revision`` for Git sources) -> git, no pointer;
- ``latest@sha256:<64 hex>``, ``sha256:<64 hex>``, old ``latest/<64 hex>`` and bare
  ``<64 hex>`` -> oci;
- chart versions ``6.3.5``, ``1.2.3+1234567890ab`` -> chart, pointer = the version; a 12-hex
  build suffix (Flux appends the first 12 hex of the source digest) becomes the digest;
- anything else -> unknown (only ``raw`` set).

A value with ``@`` is the new format; one with ``/`` and no ``@`` the old one. Hex is
normalised to lower case; ``raw`` keeps the input. A ``sha256:`` value with a ``refs/…`` or ``HEAD`` pointer is a SHA-256 Git repository (kind
git), any other ``sha256``/``sha384``/``sha512`` value is taken for an OCI digest. The same
string can mean different things for different sources (a HelmRepository index checksum is
``sha1:…`` in old test data): a caller that knows the source kind should trust that over this
shape-only guess. ``commit`` is only ever a full 40-hex SHA-1 (GitHub has no SHA-256 repos).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

RevisionKind = Literal["git", "oci", "chart", "unknown"]

_ALGO_HEX = re.compile(r"(?P<algo>sha1|sha256|sha384|sha512|blake3):(?P<hex>[0-9a-fA-F]+)")
_HEX40 = re.compile(r"[0-9a-fA-F]{40}")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
# Helm chart versions are SemVer 2; Argo CD also reports the chart version for Helm sources.
_CHART = re.compile(
    r"v?\d+\.\d+(?:\.\d+)?(?:-[0-9A-Za-z.-]+)?(?:\+(?P<build>[0-9A-Za-z.-]+))?",
)
_HEX12 = re.compile(r"[0-9a-fA-F]{12}")
_SPACE = re.compile(r"\s")
_HEX_LENGTH = {"sha1": 40, "sha256": 64, "sha384": 96, "sha512": 128, "blake3": 64}


@dataclass(frozen=True)
class Revision:
    raw: str
    pointer: str | None = None
    algo: str | None = None
    digest: str | None = None
    kind: RevisionKind = "unknown"

    @property
    def commit(self) -> str | None:
        """The Git commit SHA (40 hex, lower case) this revision names, else None."""
        if self.kind == "git" and self.algo == "sha1":  # sha1 digests are always 40 hex
            return self.digest
        return None

    @property
    def short(self) -> str:
        """A short form for messages: 7 hex of a commit, else the version or 12 hex."""
        if self.commit:
            return self.commit[:7]
        if self.kind == "chart" or self.digest is None:
            return self.raw
        head = f"{self.pointer}@" if self.pointer else ""
        return f"{head}{self.algo}:{self.digest[:12]}" if self.algo else head + self.digest[:12]


@lru_cache(maxsize=4096)
def parse_revision(raw: str) -> Revision:
    """Parse any Flux / Argo CD revision string; garbage gives kind ``unknown``, never raises.

    A fleet repeats the same revisions (one per commit, in many objects): each is parsed once."""
    text = (raw or "").strip()
    if not text or _SPACE.search(text):
        return Revision(raw)
    if "@" in text:
        pointer, _, rest = text.rpartition("@")
        return _with_algo(raw, pointer or None, rest)
    if _ALGO_HEX.fullmatch(text):
        return _with_algo(raw, None, text)
    if "/" in text:
        pointer, _, last = text.rpartition("/")
        if not pointer:
            return Revision(raw)
        return _bare_hex(raw, pointer, last)
    bare = _bare_hex(raw, None, text)
    if bare.kind != "unknown":
        return bare
    m = _CHART.fullmatch(text)
    if m:
        build = m.group("build")
        if build and _HEX12.fullmatch(build):
            # Flux appends the first 12 hex of the OCI (or Git, with reconcileStrategy
            # Revision) digest to the chart version: keep it to match against the source.
            return Revision(raw, text, "sha256", build.lower(), "chart")
        return Revision(raw, text, None, None, "chart")
    return Revision(raw)


def _with_algo(raw: str, pointer: str | None, rest: str) -> Revision:
    m = _ALGO_HEX.fullmatch(rest)
    if not m or len(m.group("hex")) != _HEX_LENGTH[m.group("algo")]:
        return Revision(raw)
    algo, digest = m.group("algo"), m.group("hex").lower()
    if algo == "sha1":
        return Revision(raw, pointer, algo, digest, "git")
    git_pointer = pointer is not None and (pointer.startswith("refs/") or pointer == "HEAD")
    return Revision(raw, pointer, algo, digest, "git" if git_pointer else "oci")


def _bare_hex(raw: str, pointer: str | None, text: str) -> Revision:
    if _HEX40.fullmatch(text):
        return Revision(raw, pointer, "sha1", text.lower(), "git")
    if _HEX64.fullmatch(text):
        return Revision(raw, pointer, "sha256", text.lower(), "oci")
    return Revision(raw)

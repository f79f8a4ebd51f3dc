"""Image references, and the service's image ``tag`` pattern. Pure.

The tag pattern is used both ways: change -> expected tag, tag -> commit. ``sha-{sha7}`` means
"sha-" followed by the first 7 hex digits of the commit; ``{sha}`` is the full 40. Exactly one
placeholder is allowed.

An image reference is ``name[:tag][@digest]``; a digest pins the image but names no commit, so
``ghcr.io/acme/api@sha256:…`` and ``ghcr.io/acme/api:sha-3f2c1ab@sha256:…`` are both the image
``ghcr.io/acme/api``, the second with a tag that can name a commit. A ``:`` in the registry
host (``localhost:5000/…``) is a port, not a tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PLACEHOLDER = re.compile(r"\{sha(\d*)\}")


@dataclass(frozen=True)
class ImageRef:
    name: str  # registry host and path, e.g. "ghcr.io/acme/api"
    tag: str | None = None
    digest: str | None = None  # e.g. "sha256:4e4e…"

    @property
    def path(self) -> str:
        """The repository path without the registry host, lower-case: "acme/api"."""
        first, sep, rest = self.name.lower().partition("/")
        is_host = sep and ("." in first or ":" in first or first == "localhost")
        return rest if is_host else self.name.lower()

    def same_repository(self, image: str) -> bool:
        """Whether ``image`` is the same image (registry host, tag and digest not compared)."""
        return self.path == parse_image(image).path


def parse_image(image: str) -> ImageRef:
    """Split ``name[:tag][@digest]``; never raises."""
    text = image.strip()
    name, _, digest = text.partition("@")
    head, sep, tag = name.rpartition(":")
    if sep and "/" not in tag:
        name = head
    else:
        tag = ""
    return ImageRef(name, tag or None, digest or None)


@dataclass(frozen=True)
class TagPattern:
    pattern: str
    length: int  # hex digits of the SHA the tag carries
    regex: re.Pattern[str]

    def tag_for(self, sha: str) -> str:
        return _PLACEHOLDER.sub(sha[: self.length], self.pattern)

    def sha_prefix(self, tag: str) -> str | None:
        """The (possibly abbreviated) commit SHA a tag names, or None if it doesn't match."""
        m = self.regex.fullmatch(tag)
        return m.group("sha").lower() if m else None


def compile_tag(pattern: str) -> TagPattern:
    """Compile a tag pattern or raise ValueError saying what is wrong with it."""
    found = list(_PLACEHOLDER.finditer(pattern))
    if len(found) != 1:
        raise ValueError("needs exactly one {sha} or {shaN} placeholder, e.g. 'sha-{sha7}'")
    m = found[0]
    length = int(m.group(1)) if m.group(1) else 40
    if not 7 <= length <= 40:
        raise ValueError("{shaN} needs N between 7 and 40")
    prefix, suffix = pattern[: m.start()], pattern[m.end() :]
    if any(ch in prefix + suffix for ch in "{}"):
        raise ValueError("has a brace that is not part of {sha} / {shaN}")
    if not re.fullmatch(r"[A-Za-z0-9_.-]*", prefix + suffix):
        raise ValueError(
            "may contain only letters, digits, '_', '.' and '-' besides the placeholder"
        )
    regex = re.compile(re.escape(prefix) + f"(?P<sha>[0-9a-fA-F]{{{length}}})" + re.escape(suffix))
    return TagPattern(pattern=pattern, length=length, regex=regex)

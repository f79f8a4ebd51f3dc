"""The service's image ``tag`` pattern, used both ways: change -> expected tag, tag -> commit.

``sha-{sha7}`` means "sha-" followed by the first 7 hex digits of the commit; ``{sha}`` is the
full 40. Exactly one placeholder is allowed. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PLACEHOLDER = re.compile(r"\{sha(\d*)\}")


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

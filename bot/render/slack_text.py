"""What a person sees of a Slack message, as terminal text: Block Kit blocks and mrkdwn with
the markup taken out (links show their label, dates their fallback, emoji as emoji). Pure.

The demo prints the bot's Slack messages with it; Slack itself renders the blocks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

RULE = "─" * 40
EMOJI = {
    "white_check_mark": "✅",
    "x": "❌",
    "warning": "⚠️",
    "white_circle": "⚪",
    "hourglass_flowing_sand": "⏳",
    "heavy_minus_sign": "➖",
    "grey_question": "❔",
    "mag": "🔍",
    "no_entry": "⛔",
    "zzz": "💤",
}

# <url|label>, <url>, <@U…>, <#C…|name>, <!here>, <!date^…|fallback>: everything in <…>.
_TOKEN = re.compile(r"<([^<>\n]+)>")
_EMOJI = re.compile(r":([a-z0-9_+-]+):")
_CODE = re.compile(r"```\n?(.*?)\n?```|`([^`\n]+)`", re.DOTALL)


def _marks(mark: str) -> re.Pattern[str]:
    """``*bold*``, ``_italic_``, ``~struck~``: only at word edges, as Slack reads them."""
    m = re.escape(mark)
    return re.compile(rf"(?<![\w{m}]){m}(?=\S)([^{m}\n]+?)(?<=\S){m}(?![\w{m}])")


_FORMATS = [_marks("*"), _marks("_"), _marks("~")]


def _token(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("!"):
        if label:
            return label  # <!date^…|fallback>, <!subteam^…|@team>
        return "@" + target[1:].split("^")[0]
    if target.startswith(("@", "#")):
        return target[0] + label if label else target
    return label or target


def _plain(text: str) -> str:
    text = _TOKEN.sub(_token, text)
    text = _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)
    for pattern in _FORMATS:
        text = pattern.sub(r"\1", text)
    return text


def mrkdwn_text(text: str) -> str:
    """One mrkdwn text as it reads in Slack (code is shown as written)."""
    out, at = [], 0
    for m in _CODE.finditer(text):
        out.append(_plain(text[at : m.start()]))
        out.append(m.group(1) if m.group(1) is not None else m.group(2))
        at = m.end()
    out.append(_plain(text[at:]))
    return _unescape("".join(out))


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _object_text(obj: Any) -> str:
    """A text object: plain_text as is, mrkdwn as it reads."""
    if not isinstance(obj, dict):
        return ""
    text = str(obj.get("text", ""))
    return mrkdwn_text(text) if obj.get("type") == "mrkdwn" else text


def _element_text(element: Any) -> str:
    if not isinstance(element, dict):
        return ""
    kind = element.get("type")
    if kind == "button":
        return f"[{_object_text(element.get('text'))}]"
    if kind == "image":
        return ""  # a context's icon
    return _object_text(element)


def _block_lines(block: dict[str, Any]) -> list[str]:
    kind = block.get("type")
    if kind == "divider":
        return [RULE]
    if kind == "image":
        return [f"[image: {block.get('alt_text', '')}]"]
    if kind in ("context", "actions"):
        parts = [t for t in (_element_text(e) for e in block.get("elements") or []) if t]
        return ["  ".join(parts)] if parts else []
    lines = []
    text = _object_text(block.get("text"))
    accessory = _element_text(block.get("accessory"))
    if accessory:
        text = f"{text}  {accessory}" if text else accessory
    if text:
        lines.append(text)
    lines += [t for t in (_object_text(f) for f in block.get("fields") or []) if t]
    return lines


def blocks_text(blocks: Sequence[dict[str, Any]]) -> str:
    """Every block as a person sees it, one or more lines each, top to bottom."""
    return "\n".join(line for block in blocks for line in _block_lines(block))

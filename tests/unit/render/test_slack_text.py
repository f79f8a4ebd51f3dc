"""What a person sees of a Slack message, as terminal text. Pure, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.render.blocks import tracing_message
from bot.render.mrkdwn import context, date_token, link, plain, section
from bot.render.slack_text import blocks_text, mrkdwn_text


@pytest.mark.parametrize(
    ("mrkdwn", "shown"),
    [
        ("plain words", "plain words"),
        ("*bold* and _italic_ and ~struck~", "bold and italic and struck"),
        ("snake_case_name and 2*3*4", "snake_case_name and 2*3*4"),  # not formatting
        ("`code *not bold*` then *bold*", "code *not bold* then bold"),
        (link("https://github.com/acme/shop/pull/412", "acme/shop#412"), "acme/shop#412"),
        ("<https://example.com/a_b_c>", "https://example.com/a_b_c"),
        (date_token(datetime(2026, 11, 26, 9, 1, tzinfo=UTC)), "2026-11-26 09:01 UTC"),
        ("<@U0ALICE> in <#C0DEPLOYS|deploys>, <#C0OTHER>", "@U0ALICE in #deploys, #C0OTHER"),
        ("<!here> and <!channel>", "@here and @channel"),
        ("a &lt;b&gt; &amp; c", "a <b> & c"),
        ("&lt;https://x|not a link&gt;", "<https://x|not a link>"),  # escaped: shown as is
        (":white_check_mark: :x: :warning: :white_circle:", "✅ ❌ ⚠️ ⚪"),
        (":hourglass_flowing_sand: :mag: :zzz: :no_entry:", "⏳ 🔍 💤 ⛔"),
        (":heavy_minus_sign: :grey_question:", "➖ ❔"),
        (":no_such_emoji: stays", ":no_such_emoji: stays"),
        ("```\nkubectl get pods\n```", "kubectl get pods"),
    ],
)
def test_mrkdwn_as_seen(mrkdwn: str, shown: str) -> None:
    assert mrkdwn_text(mrkdwn) == shown


def button(label: str) -> dict[str, Any]:
    return {"type": "button", "action_id": label.lower(), "text": plain(label), "value": "v"}


@pytest.mark.parametrize(
    ("blocks", "shown"),
    [
        ([], ""),
        (
            [{"type": "header", "text": plain("Drift: shop in production")}],
            "Drift: shop in production",
        ),
        ([section("s", "*Where:* Live in staging")], "Where: Live in staging"),
        ([context("c", "*Merged* · by alice")], "Merged · by alice"),
        (
            [{"type": "context", "elements": [{"type": "mrkdwn", "text": "a"}, plain("b")]}],
            "a  b",
        ),
        (
            [{"type": "section", "fields": [plain("one"), {"type": "mrkdwn", "text": "*two*"}]}],
            "one\ntwo",
        ),
        (
            [{"type": "actions", "elements": [button("Refresh"), button("Follow")]}],
            "[Refresh]  [Follow]",
        ),
        (
            [
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": "x"},
                    "accessory": button("Go"),
                }
            ],
            "x  [Go]",
        ),
        ([{"type": "divider"}], "─" * 40),
        (
            [{"type": "image", "image_url": "https://x/c.png", "alt_text": "chart"}],
            "[image: chart]",
        ),
        (
            [section("a", "first"), {"type": "divider"}, section("b", "line 1\nline 2")],
            "first\n" + "─" * 40 + "\nline 1\nline 2",
        ),
        (tracing_message("acme/shop#412").blocks, "🔍 Tracing acme/shop#412…"),
    ],
)
def test_blocks_as_seen(blocks: list[dict[str, Any]], shown: str) -> None:
    assert blocks_text(blocks) == shown

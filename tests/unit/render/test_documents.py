"""Machine-readable answers (bot.render.documents), the digest's record as data, and the
progress line's words: YAML reads back as the JSON it mirrors, key order included."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from bot.render.digest import digest_dict
from bot.render.documents import as_json, as_yaml
from bot.render.text import progress_text
from tests.unit.render.test_digest import BUSY

TRICKY: list[Any] = [
    "2026-11-26T09:01:02Z",  # a time: YAML would read it as a timestamp unless quoted
    "1234567",  # a short SHA of digits: an int unless quoted
    "1e10",  # a float unless quoted
    "0e12345",
    "0x1f",
    "012",
    "yes",
    "no",
    "on",
    "null",
    "~",
    "",
    " leading and trailing ",
    "a: b",
    "- dash",
    "#comment",
    "line one\nline two",
    "Live in staging — production syncing (2/3 pods on the new version) …",
    "x" * 300,  # no folding: one line, as in the JSON
    None,
    True,
    0,
    7,
    0.25,
    1 / 30,
    [],
    {},
]


@pytest.mark.parametrize("value", TRICKY, ids=[repr(v)[:30] for v in TRICKY])
def test_a_value_reads_back_as_the_same_json_value(value: Any) -> None:
    data = {"value": value, "in_a_list": [value]}
    text = as_yaml(data)
    loaded = yaml.safe_load(text)
    assert loaded == data
    assert json.dumps(loaded) == json.dumps(data)


def test_keys_keep_their_order_and_long_lines_are_not_folded() -> None:
    data = {"z": 1, "a": {"y": [{"b": 2, "a": 3}], "x": None}, "m": "x " * 200}
    text = as_yaml(data)
    assert list(yaml.safe_load(text)) == ["z", "a", "m"]
    assert json.dumps(yaml.safe_load(text)) == json.dumps(data)
    assert len(text.splitlines()) == 7
    assert not text.endswith("\n")  # printed with print(): no blank line after it


def test_json_is_indented_and_keeps_unicode() -> None:
    assert as_json({"where": "live — now", "n": [1]}) == (
        '{\n  "where": "live — now",\n  "n": [\n    1\n  ]\n}'
    )


def test_the_digest_as_data_formats_times_durations_and_statuses() -> None:
    data = digest_dict(BUSY)
    assert json.loads(as_json(data)) == data  # plain JSON all through
    assert list(data) == [
        "channel",
        "start",
        "end",
        "services",
        "window",
        "trailing",
        "late",
        "errors",
    ]
    assert (data["start"], data["end"]) == ("2026-11-26T09:00:00Z", "2026-11-27T09:00:00Z")
    shop = data["services"][0]
    assert shop["service"] == "shop" and shop["repo"] == "acme/shop" and shop["unread"] is None
    assert shop["shipped"][0] == {
        "ref": "acme/shop#1",
        "title": "Add cart",
        "url": "https://github.com/acme/shop/pull/1",
        "author": "alice",
        "merged_at": "2026-11-26T10:00:00Z",
        "badges": [
            {"label": "CI", "status": "succeeded"},
            {"label": "staging", "status": "succeeded"},
            {"label": "production", "status": "succeeded"},
        ],
        "where": "where",
    }
    assert shop["stuck"][0]["stuck_for"] == 3 * 3600 + 5 * 60  # whole seconds
    assert shop["stuck"][0]["status"] == "running"
    assert shop["incidents"][0]["resolved_at"] is None
    window = data["window"]
    assert window["lead_time_median"] == 3 * 3600 + 5 * 60
    assert window["lead_times"][0] == {"ref": "acme/shop#1", "seconds": 7200}
    assert window["deployments"] == {"production": 3, "staging": 4}
    assert window["change_failure_rate"] == 0.25
    assert window["time_to_restore_median"] == 25 * 60
    assert data["trailing"]["start"] == "2026-10-28T09:00:00Z"
    assert data["errors"] == ["github: rate limited"]


@pytest.mark.parametrize(
    ("github", "clusters", "elapsed", "text"),
    [
        (True, 0, 0.0, "shiptrace: reading GitHub…"),
        (True, 0, 0.99, "shiptrace: reading GitHub…"),
        (True, 1, 0.5, "shiptrace: reading GitHub… 1 cluster…"),
        (True, 2, 3.7, "shiptrace: reading GitHub… 2 clusters… 3s"),
        (False, 0, 0.0, "shiptrace: reading the clusters…"),
        (False, 3, 12.0, "shiptrace: reading 3 clusters… 12s"),
    ],
)
def test_the_progress_line_says_what_is_being_read(
    github: bool, clusters: int, elapsed: float, text: str
) -> None:
    assert progress_text(github=github, clusters=clusters, elapsed=elapsed) == text

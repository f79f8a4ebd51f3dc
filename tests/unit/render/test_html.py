"""The timeline page: roles, labels, data attributes, escaping, legend, now line, refresh. Pure.

The page is parsed back with html.parser (and its SVG with xml.etree, which also proves it is
well-formed XML) rather than matched as text, so the checks are about what a browser sees.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest

from bot.model import Change, ChangeState, Item, SourceProblem, Stage, Status, Trace
from bot.render.html import commit_url, render_html
from bot.render.timeline import IncidentSpan

SHA = "3f2c1ab9" * 5
PR_URL = "https://github.com/acme/shop/pull/412"
T0 = datetime(2026, 11, 26, 9, 0, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=2)
VOID = {"meta", "link", "br", "img", "input", "hr", "col", "source", "wbr", "area", "base"}
EVIL = "<script>alert(1)</script>"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@dataclass
class El:
    tag: str
    attrs: dict[str, str]
    parent: El | None = None
    parts: list[El | str] = field(default_factory=list)  # children and text, in order

    @property
    def children(self) -> list[El]:
        return [p for p in self.parts if isinstance(p, El)]

    def text(self) -> str:
        return "".join(p if isinstance(p, str) else p.text() for p in self.parts)

    def walk(self) -> list[El]:
        return [self, *(d for c in self.children for d in c.walk())]

    def ancestors(self) -> list[El]:
        out, node = [], self.parent
        while node is not None:
            out.append(node)
            node = node.parent
        return out


class Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = El("#root", {})
        self.node = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = El(tag, {k: v or "" for k, v in attrs}, self.node)
        self.node.parts.append(el)
        if tag not in VOID:
            self.node = el

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.node.parts.append(El(tag, {k: v or "" for k, v in attrs}, self.node))

    def handle_endtag(self, tag: str) -> None:
        assert self.node.tag == tag, f"</{tag}> closes <{self.node.tag}>"
        assert self.node.parent is not None
        self.node = self.node.parent

    def handle_data(self, data: str) -> None:
        self.node.parts.append(data)


def parse(page: str) -> El:
    tree = Tree()
    tree.feed(page)
    tree.close()
    assert tree.node is tree.root, "every element is closed"
    return tree.root


def change(**kw: Any) -> Change:
    fields: dict[str, Any] = {
        "repo": "acme/shop",
        "sha": SHA,
        "requested": "acme/shop#412",
        "state": ChangeState.MERGED,
        "pr": 412,
        "title": "Add cart",
        "author": "alice",
        "url": PR_URL,
        "merged_at": T0,
    }
    return Change(**(fields | kw))


def full_trace(**kw: Any) -> Trace:
    """CI failed on one job; staging live; production's rollout still running."""
    stages = (
        Stage("merge", Status.SUCCEEDED, "merged as 3f2c1ab", finished_at=T0, url=PR_URL),
        Stage(
            "ci", Status.FAILED, "1 of 2 checks failed: test", started_at=at(2),
            finished_at=at(6), url=PR_URL + "/checks",
            items=(Item("test", Status.FAILED, "failure", "https://github.com/acme/shop/runs/1"),
                   Item("lint", Status.SUCCEEDED, "success")),
        ),
        Stage("promote", Status.SUCCEEDED, "config commit 9c1e2f0", "staging", finished_at=at(10)),
        Stage("sync", Status.SUCCEEDED, "Argo CD app shop-staging synced", "staging",
              started_at=at(11), finished_at=at(12),
              url="https://argocd.example/applications/shop-staging"),
        Stage("rollout", Status.SUCCEEDED, "1/1 pods", "staging", started_at=at(12),
              finished_at=at(15), items=(Item("Deployment shop/shop", Status.SUCCEEDED,
                                              url="https://k8s.example/shop"),)),
        Stage("sync", Status.SUCCEEDED, "Flux Kustomization shop synced", "production",
              started_at=at(40), finished_at=at(41)),
        Stage("rollout", Status.RUNNING, "2/3 pods on the new version", "production",
              started_at=at(41)),
    )  # fmt: skip
    fields: dict[str, Any] = {
        "change": change(),
        "service": "shop",
        "stages": stages,
        "where": "Live in staging; production rolling out (2/3 pods on the new version)",
    }
    return Trace(**(fields | kw))


INCIDENT = IncidentSpan(
    "staging", at(20), at(30), "Deployment shop/shop crash-looping",
    "https://slack.com/archives/C0DEPLOYS/p1700000000000100",
)  # fmt: skip


def images(root: El) -> list[El]:
    return [e for e in root.walk() if e.attrs.get("role") == "img"]


def by(root: El, **attrs: str) -> list[El]:
    want = {k.replace("_", "-"): v for k, v in attrs.items()}
    return [e for e in root.walk() if all(e.attrs.get(k) == v for k, v in want.items())]


def svg_of(page: str) -> ET.Element:
    match = re.search(r"<svg xmlns=.*?</svg>", page, re.S)
    assert match is not None
    return ET.fromstring(match.group(0))


# --- structure -----------------------------------------------------------------------------


def test_every_drawn_thing_has_a_role_a_label_and_its_data_attributes() -> None:
    root = parse(render_html(full_trace(), now=NOW, incidents=[INCIDENT]))
    drawn = [e for e in images(root) if e.attrs.get("data-kind") != "now"]
    assert drawn
    for el in drawn:
        assert el.tag == "g"
        assert el.attrs["aria-label"]
        for key in ("data-stage", "data-environment", "data-kind", "data-status", "data-shape"):
            assert key in el.attrs, (key, el.attrs)
        (title,) = [c for c in el.children if c.tag == "title"]
        assert title.text().startswith(el.attrs["aria-label"])
    kinds = {
        (e.attrs["data-stage"], e.attrs["data-environment"], e.attrs["data-shape"]) for e in drawn
    }
    assert kinds >= {
        ("merge", "", "mark"),
        ("ci", "", "bar"),
        ("promote", "staging", "mark"),
        ("sync", "staging", "bar"),
        ("sync", "staging", "band"),
        ("rollout", "production", "bar"),
        ("drift", "staging", "incident"),
    }


@pytest.mark.parametrize(
    ("attrs", "label"),
    [
        ({"data_stage": "ci", "data_shape": "bar", "data_kind": "one-shot",
          "data_status": "failed"},
         "CI: failed (test) 2026-11-26T09:02:00Z–2026-11-26T09:06:00Z"),
        ({"data_stage": "sync", "data_environment": "staging", "data_shape": "band",
          "data_kind": "continuous", "data_status": "succeeded"},
         "sync in staging: holding since 2026-11-26T09:12:00Z"),
        ({"data_stage": "rollout", "data_environment": "production", "data_shape": "bar",
          "data_status": "running", "data_open_ended": "true"},
         "rollout in production: running since 2026-11-26T09:41:00Z (open-ended, to now)"),
        ({"data_stage": "promote", "data_shape": "mark"},
         "promote in staging: succeeded at 2026-11-26T09:10:00Z"),
        ({"data_stage": "ci", "data_item": "test"},
         "CI job test: failed; no times reported"),
    ],
)  # fmt: skip
def test_bars_bands_and_marks_say_what_status_and_when(attrs: dict[str, str], label: str) -> None:
    root = parse(render_html(full_trace(), now=NOW))
    (el,) = [e for e in by(root, **attrs) if e.attrs.get("role") == "img"]
    assert el.attrs["aria-label"] == label


def test_the_incident_band_links_to_its_slack_thread() -> None:
    root = parse(render_html(full_trace(), now=NOW, incidents=[INCIDENT]))
    (band,) = by(root, role="img", data_kind="incident")
    assert band.attrs["data-status"] == "resolved"
    assert band.attrs["aria-label"] == (
        "drift in staging: detected 2026-11-26T09:20:00Z, resolved 2026-11-26T09:30:00Z"
        " — Deployment shop/shop crash-looping"
    )
    assert band.parent is not None and band.parent.tag == "a"
    assert band.parent.attrs["href"] == INCIDENT.url
    (listed,) = by(root, data_kind="incident", data_environment="staging")[1:]
    assert [a.attrs["href"] for a in listed.walk() if a.tag == "a"] == [INCIDENT.url]


def test_stage_and_item_links_go_to_the_tools() -> None:
    root = parse(render_html(full_trace(), now=NOW))
    hrefs = {a.attrs["href"] for a in root.walk() if a.tag == "a"}
    assert hrefs >= {
        PR_URL,
        f"https://github.com/acme/shop/commit/{SHA}",
        "https://argocd.example/applications/shop-staging",
        "https://k8s.example/shop",
        "https://github.com/acme/shop/runs/1",
    }


def test_the_change_and_where_are_in_the_header() -> None:
    root = parse(render_html(full_trace(), now=NOW))
    (header,) = [e for e in root.walk() if e.tag == "header"]
    text = " ".join(header.text().split())
    assert "acme/shop#412 Add cart" in text
    assert "by alice" in text and "PR #412" in text and "3f2c1ab" in text
    assert "Where: Live in staging; production rolling out (2/3 pods on the new version)" in text
    (title,) = [e for e in root.walk() if e.tag == "title" and e.parent and e.parent.tag == "head"]
    assert title.text() == "acme/shop#412 · Add cart — shiptrace"


def test_status_is_written_as_text_beside_each_row_and_in_the_table() -> None:
    root = parse(render_html(full_trace(), now=NOW))
    statuses = [e.text() for e in root.walk() if e.attrs.get("class") == "status"]
    assert statuses == [
        "succeeded", "failed (test)", "failed", "succeeded",
        "live", "succeeded", "holding since 2026-11-26T09:12:00Z",
        "holding since 2026-11-26T09:15:00Z",
        "not live yet", "holding since 2026-11-26T09:41:00Z",
        "running since 2026-11-26T09:41:00Z",
    ]  # fmt: skip
    cells = [r.children[3].text() for r in by(root, data_kind="continuous") if r.tag == "tr"]
    assert cells == ["succeeded", "succeeded", "succeeded", "running"]


def test_a_stage_with_no_start_is_a_labelled_marker_with_no_bar() -> None:
    t = full_trace(stages=(Stage("sync", Status.PENDING, "waiting for CI (failed: test)", "prod"),))
    root = parse(render_html(t, now=NOW))
    (marker,) = by(root, role="img", data_stage="sync")
    assert marker.attrs["data-shape"] == "marker"
    assert marker.attrs["aria-label"] == "sync in prod: pending; no start time"
    assert not [e for e in marker.walk() if e.tag == "rect"]
    assert "pending — no start time" in marker.text()


def test_a_skipped_stage_says_skipped_and_nothing_more() -> None:
    t = full_trace(stages=(Stage("sync", Status.SKIPPED, "closed without merging", "prod"),))
    (marker,) = by(parse(render_html(t, now=NOW)), role="img", data_stage="sync")
    assert marker.attrs["aria-label"] == "sync in prod: skipped"
    assert marker.text().endswith("skipped")


def test_extra_links_are_in_the_header_and_only_when_http() -> None:
    links = [("Slack message", "https://slack.com/archives/C1/p1"), (EVIL, "javascript:x()"),
             ("JSON <raw>", "https://shiptrace.example/x.json")]  # fmt: skip
    root = parse(render_html(full_trace(), now=NOW, links=links))
    (nav,) = by(root, aria_label="Links")
    assert [(a.text(), a.attrs["href"]) for a in nav.walk() if a.tag == "a"] == [
        ("Slack message", "https://slack.com/archives/C1/p1"),
        ("JSON <raw>", "https://shiptrace.example/x.json"),
    ]
    assert "alert" not in nav.text()


def test_the_legend_names_one_shot_continuous_incident_and_now() -> None:
    root = parse(render_html(full_trace(), now=NOW))
    (legend,) = by(root, aria_label="Legend")
    keys = [e.attrs["data-legend"] for e in legend.walk() if "data-legend" in e.attrs]
    assert keys[:7] == ["one-shot", "continuous", "running", "mark", "marker", "incident", "now"]
    assert {f"status-{s.value}" for s in Status} <= set(keys)
    text = legend.text()
    assert "one-shot: a bar" in text and "holding since" in text and "Slack thread" in text


def test_the_now_line_is_at_the_right_edge_and_says_when() -> None:
    page = render_html(full_trace(), now=NOW)
    (now,) = by(parse(page), data_kind="now", role="img")
    assert now.attrs["aria-label"] == "now 2026-11-26T11:00:00Z"
    svg = svg_of(page)
    ns = "{http://www.w3.org/2000/svg}"
    line = svg.find(f".//{ns}g[@data-kind='now']/{ns}line")
    assert line is not None
    assert line.get("x1") == line.get("x2") == "960.0"  # left gutter 200 + plot 760
    assert '<time datetime="2026-11-26T11:00:00Z">' in page


# --- refresh -------------------------------------------------------------------------------


LIVE = full_trace(
    stages=(Stage("sync", Status.SUCCEEDED, "synced", "prod", at(1), at(2)),
            Stage("rollout", Status.SUCCEEDED, "rolled out", "prod", at(2), at(3))),
)  # fmt: skip


@pytest.mark.parametrize(
    ("trace", "seconds", "refreshes"),
    [
        (full_trace(), 30, True),
        (full_trace(), None, False),
        (full_trace(), 0, False),
        (LIVE, 30, False),
        (full_trace(change=change(state=ChangeState.CLOSED)), 30, False),
    ],
)
def test_the_page_refreshes_only_while_not_live_everywhere(
    trace: Trace, seconds: int | None, refreshes: bool
) -> None:
    root = parse(render_html(trace, now=NOW, refresh_seconds=seconds))
    metas = by(root, http_equiv="refresh")
    assert [m.attrs["content"] for m in metas] == ([str(seconds)] if refreshes else [])


# --- escaping and self-containment ---------------------------------------------------------


def test_strings_from_github_and_kubernetes_render_inert() -> None:
    t = full_trace(
        change=change(title=EVIL, author='"><img src=x onerror=alert(1)>'),
        where=EVIL,
        errors=(SourceProblem("kubernetes", EVIL, "prod"),),
        stages=(
            Stage("ci", Status.FAILED, EVIL, started_at=at(1), finished_at=at(2),
                  items=(Item(EVIL, Status.FAILED, EVIL, "javascript:alert(1)"),)),
            Stage("sync", Status.RUNNING, EVIL, '<b onmouseover="x">', started_at=at(3),
                  url="javascript:alert(2)"),
        ),
    )  # fmt: skip
    incident = IncidentSpan('<b onmouseover="x">', at(4), None, EVIL, "javascript:alert(3)")
    page = render_html(t, now=NOW, incidents=[incident])
    root = parse(page)
    tags = {e.tag for e in root.walk()}
    assert not tags & {"script", "img", "b", "iframe", "object"}
    assert not [e for e in root.walk() for k in e.attrs if k.startswith("on")]
    assert all(
        not a.attrs["href"].lower().startswith("javascript") for a in by(root) if a.tag == "a"
    )
    assert "alert(1)" in root.text()  # shown, as text
    labels = [e.attrs["aria-label"] for e in images(root)]
    assert f"CI: failed ({EVIL}) 2026-11-26T09:01:00Z–2026-11-26T09:02:00Z" in labels
    svg_of(page)  # still well-formed XML


def test_control_characters_are_dropped() -> None:
    t = full_trace(change=change(title="Add\x00 cart\x1b[31m"))
    root = parse(render_html(t, now=NOW))
    assert "Add cart[31m" in root.text()
    assert "\x00" not in root.text() and "\x1b" not in root.text()


def test_the_page_is_one_file_with_no_external_resources() -> None:
    page = render_html(full_trace(), now=NOW, incidents=[INCIDENT])
    root = parse(page)
    tags = {e.tag for e in root.walk()}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed"}
    assert not [e for e in root.walk() if "src" in e.attrs]
    styles = " ".join(e.text() for e in root.walk() if e.tag == "style")
    assert "@import" not in styles and "url(http" not in styles and "@font-face" not in styles
    refs = [v for e in root.walk() for k, v in e.attrs.items() if k in ("href", "xlink:href")]
    assert all(v.startswith(("https://", "http://")) for v in refs)  # links out, never loaded
    assert page.startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("url", "sha", "expected"),
    [
        (PR_URL, SHA, f"https://github.com/acme/shop/commit/{SHA}"),
        (f"https://ghe.example/acme/shop/commit/{SHA[:7]}", SHA,
         f"https://ghe.example/acme/shop/commit/{SHA}"),
        (None, SHA, None),
        ("https://github.com/acme/shop", SHA, None),
    ],
)  # fmt: skip
def test_commit_url_comes_from_the_changes_own_link(
    url: str | None, sha: str, expected: str | None
) -> None:
    assert commit_url(change(url=url, sha=sha)) == expected


def test_a_commit_without_pr_or_times_still_renders() -> None:
    t = full_trace(
        change=change(pr=None, state=ChangeState.COMMIT, merged_at=None, url=None, title=None),
        stages=(Stage("merge", Status.PENDING, "3f2c1ab is not on main"),),
    )
    root = parse(render_html(t, now=NOW))
    (h1,) = [e for e in root.walk() if e.tag == "h1"]
    assert h1.text() == "acme/shop@3f2c1ab"
    assert [e.attrs["data-shape"] for e in images(root) if "data-shape" in e.attrs] == ["marker"]

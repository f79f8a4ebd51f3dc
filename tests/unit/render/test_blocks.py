"""Block Kit rendering: layout, Slack's limits, escaping, buttons. Pure, table-driven."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.model import (
    STAGE_KINDS,
    Change,
    ChangeState,
    Item,
    SourceProblem,
    Stage,
    Status,
    Trace,
)
from bot.render.blocks import (
    ACTION_FOLLOW,
    ACTION_REFRESH,
    ACTION_SHARE,
    ACTION_TIMELINE,
    ACTION_UNFOLLOW,
    Message,
    change_ref,
    problem_message,
    trace_message,
    tracing_message,
    usage_message,
)
from bot.sandbox.slack import block_errors

SHA = "3f2c1ab9" * 5
PR_URL = "https://github.com/acme/shop/pull/412"
T0 = datetime(2026, 11, 26, 9, 1, 2, tzinfo=UTC)
T1 = datetime(2026, 11, 26, 10, 30, 0, tzinfo=UTC)


def change(pr: int | None = 412, title: str | None = "Add cart", **kw: Any) -> Change:
    state = ChangeState.MERGED if pr is not None else ChangeState.COMMIT
    fields: dict[str, Any] = {
        "repo": "acme/shop",
        "sha": SHA,
        "requested": "acme/shop#412",
        "state": state,
        "pr": pr,
        "title": title,
        "author": "alice",
        "url": PR_URL,
    }
    return Change(**(fields | kw))


def trace(*stages: Stage, where: str = "Live in staging", **kw: Any) -> Trace:
    fields: dict[str, Any] = {"change": change(), "service": "shop", "where": where}
    return Trace(stages=stages, **(fields | kw))


def stage(id_: str, env: str | None = None, status: Status = Status.SUCCEEDED, **kw: Any) -> Stage:
    return Stage(
        id=id_, status=status, detail=kw.pop("detail", f"{id_} detail"), environment=env, **kw
    )


def envs(*names: str) -> list[Stage]:
    return [stage(s, n) for n in names for s in ("promote", "sync", "rollout")]


def valid(message: Message) -> Message:
    """Slack's limits (emulator check) plus what it does not check."""
    assert block_errors(message.blocks) == []
    assert 0 < len(message.text) <= 3000
    ids = [b["block_id"] for b in message.blocks if "block_id" in b]
    assert len(ids) == len(set(ids))
    assert all(len(i) <= 255 for i in ids)
    for b in message.blocks:
        if b["type"] == "context":
            assert 0 < len(b["elements"]) <= 10
            assert all(0 < len(e["text"]) <= 3000 for e in b["elements"])
        if b["type"] == "section":
            assert b["text"]["text"]
    assert message.kwargs() == {"text": message.text, "blocks": message.blocks}
    return message


def texts(message: Message) -> list[str]:
    """The mrkdwn of every section and context block, in order."""
    out = []
    for b in message.blocks:
        if b["type"] == "section":
            out.append(b["text"]["text"])
        elif b["type"] == "context":
            out += [e["text"] for e in b["elements"]]
    return out


def stage_texts(message: Message) -> list[str]:
    return [t for t in texts(message) if re.match(r":[a-z_]+: \*\w+\* · _", t)]


def header(message: Message) -> str:
    (block,) = [b for b in message.blocks if b["type"] == "header"]
    assert block["text"]["type"] == "plain_text"
    text: str = block["text"]["text"]
    return text


def buttons(message: Message) -> list[dict[str, Any]]:
    blocks = [b for b in message.blocks if b["type"] == "actions"]
    assert len(blocks) <= 1
    return [e for b in blocks for e in b["elements"]]


@pytest.mark.parametrize(("pr", "ref"), [(412, "acme/shop#412"), (None, f"acme/shop@{SHA}")])
def test_change_ref(pr: int | None, ref: str) -> None:
    assert change_ref(change(pr)) == ref


@pytest.mark.parametrize(
    ("pr", "title", "expected"),
    [
        (412, "Add cart", "acme/shop#412 · Add cart"),
        (None, "Fix checkout", "acme/shop@3f2c1ab · Fix checkout"),
        (412, None, "acme/shop#412"),
        (412, "Add\n  cart", "acme/shop#412 · Add cart"),
        # plain_text is not parsed by Slack, so it is shown as typed, not escaped.
        (412, "<script>&", "acme/shop#412 · <script>&"),
        (412, "x" * 300, "acme/shop#412 · " + "x" * 133 + "…"),
    ],
)
def test_header(pr: int | None, title: str | None, expected: str) -> None:
    message = valid(trace_message(trace(change=change(pr, title))))
    assert header(message) == expected
    assert len(header(message)) <= 150


@pytest.mark.parametrize(
    ("chg", "service", "parts", "absent"),
    [
        (
            change(),
            "shop",
            ["*merged*", "by alice", f"<{PR_URL}|acme/shop#412>", "service *shop*"],
            [],
        ),
        (
            change(None, url=None, author=None),
            None,
            ["*commit*", "acme/shop@3f2c1ab"],
            ["by ", "service", "<"],
        ),
        (change(state=ChangeState.OPEN), "shop", ["*open*"], []),
        (change(state=ChangeState.CLOSED), "shop", ["*closed*"], []),
    ],
)
def test_change_context(
    chg: Change, service: str | None, parts: list[str], absent: list[str]
) -> None:
    message = valid(trace_message(trace(change=chg, service=service)))
    assert message.blocks[1]["type"] == "context"
    line = texts(message)[0]
    assert all(p in line for p in parts)
    assert not any(a in line for a in absent)


@pytest.mark.parametrize(
    ("stages", "expected"),
    [
        (
            [
                stage("merge"),
                stage("ci"),
                stage("sync", "staging"),
                stage("sync", "production"),
                stage("rollout", "staging"),
                stage("rollout", "production"),
            ],
            ["merge", "ci", "[staging]", "sync", "rollout", "[production]", "sync", "rollout"],
        ),
        (
            # Stages without environment come first even when listed later.
            [stage("sync", "prod"), stage("merge"), stage("rollout", "prod"), stage("ci")],
            ["merge", "ci", "[prod]", "sync", "rollout"],
        ),
        ([stage("merge"), stage("ci")], ["merge", "ci"]),
    ],
)
def test_stage_order_and_environment_grouping(stages: list[Stage], expected: list[str]) -> None:
    message = valid(trace_message(trace(*stages)))
    shape = []
    for block in message.blocks[2:]:
        text = texts(Message("x", [block]))
        if block["type"] == "context" and text[0].startswith("*"):
            shape.append(f"[{text[0].strip('*')}]")
        elif block["type"] == "section" and " · _" in text[0]:
            shape.append(re.findall(r"\*(\w+)\*", text[0])[0])
    assert shape == expected
    assert len(stage_texts(message)) == len(stages)  # one section per stage


@pytest.mark.parametrize(
    ("status", "emoji"),
    [
        (Status.SUCCEEDED, ":white_check_mark:"),
        (Status.FAILED, ":x:"),
        (Status.RUNNING, ":hourglass_flowing_sand:"),
        (Status.PENDING, ":white_circle:"),
        (Status.DRIFTED, ":warning:"),
        (Status.SKIPPED, ":heavy_minus_sign:"),
        (Status.UNKNOWN, ":grey_question:"),
    ],
)
def test_status_emoji_and_word(status: Status, emoji: str) -> None:
    s = stage("sync", "prod", status, items=(Item("shop", status),))
    (text,) = stage_texts(valid(trace_message(trace(s))))
    assert text.startswith(f"{emoji} *sync* · _continuous_ · {status.value}")
    assert f"• {emoji} shop — {status.value}" in text


@pytest.mark.parametrize(("stage_id", "kind"), sorted(STAGE_KINDS.items()))
def test_kind_word_for_every_stage(stage_id: str, kind: str) -> None:
    env = None if stage_id in ("merge", "ci") else "prod"
    (text,) = stage_texts(valid(trace_message(trace(stage(stage_id, env)))))
    assert f"*{stage_id}* · _{kind}_ ·" in text


DATE = "<!date^{}^{{date_short_pretty}} {{time}}|{}>"


@pytest.mark.parametrize(
    ("started", "finished", "token"),
    [
        (T0, T1, DATE.format(int(T1.timestamp()), "2026-11-26 10:30 UTC")),
        (T0, None, DATE.format(int(T0.timestamp()), "2026-11-26 09:01 UTC")),
        (None, None, None),
    ],
)
def test_stage_time_link_and_detail(
    started: datetime | None, finished: datetime | None, token: str | None
) -> None:
    s = stage("ci", started_at=started, finished_at=finished, url="https://ci/1", detail="3 checks")
    (text,) = stage_texts(valid(trace_message(trace(s))))
    head, detail = text.split("\n")
    assert detail == "3 checks"
    assert head.endswith(" · <https://ci/1|details>")
    if token is None:
        assert "<!date" not in head
    else:
        assert f"succeeded · {token} · <https" in head


@pytest.mark.parametrize(
    ("items", "order"),
    [
        (
            [
                Item("a", Status.SUCCEEDED),
                Item("b", Status.FAILED),
                Item("c", Status.RUNNING),
                Item("d", Status.FAILED),
            ],
            "bdac",
        ),
        ([Item("a", Status.SUCCEEDED), Item("b", Status.PENDING)], "ab"),
        ([Item(n, Status.SUCCEEDED) for n in "abcdefg"] + [Item("z", Status.FAILED)], "zabcdefg"),
    ],
)
def test_failed_items_first(items: list[Item], order: str) -> None:
    (text,) = stage_texts(valid(trace_message(trace(stage("ci", items=tuple(items))))))
    names = re.findall(r"^• :[a-z_]+: (\w+) — ", text, re.M)
    assert "".join(names) == order


@pytest.mark.parametrize(
    ("item", "line"),
    [
        (
            Item("lint", Status.FAILED, "failure", "https://ci/lint"),
            "• :x: <https://ci/lint|lint> — failure",
        ),
        (Item("shop", Status.RUNNING), "• :hourglass_flowing_sand: shop — running"),
        (
            Item("a<b>&c", Status.SUCCEEDED, "ok&<"),
            "• :white_check_mark: a&lt;b&gt;&amp;c — ok&amp;&lt;",
        ),
    ],
)
def test_item_line(item: Item, line: str) -> None:
    (text,) = stage_texts(valid(trace_message(trace(stage("ci", items=(item,))))))
    assert text.splitlines()[-1] == line


@pytest.mark.parametrize(
    ("count", "url", "more"),
    [
        (8, "https://ci/all", None),
        (9, "https://ci/all", "+1 more — <https://ci/all|see all>"),
        (40, "https://ci/all", "+32 more — <https://ci/all|see all>"),
        (12, None, "+4 more"),
    ],
)
def test_more_items(count: int, url: str | None, more: str | None) -> None:
    items = tuple(
        Item(f"check-{i}", Status.SUCCEEDED, "success", f"https://ci/{i}") for i in range(count)
    )
    (text,) = stage_texts(valid(trace_message(trace(stage("ci", items=items, url=url)))))
    assert len(re.findall(r"^• ", text, re.M)) == min(count, 8)
    if more is None:
        assert "more" not in text
    else:
        assert text.splitlines()[-1] == more


LONG_URL = "https://github.com/acme/shop/actions/runs/1234567890/job/" + "9" * 60


@pytest.mark.parametrize(
    ("detail", "items"),
    [
        ("x" * 10_000, ()),
        ("&" * 2_000, ()),  # escaping grows it fivefold
        ("d" * 900, tuple(Item("n" * 250, Status.FAILED, "failure", LONG_URL) for _ in range(8))),
        ("ok", tuple(Item("<" * 300, Status.FAILED, "f" * 80, "u" * 400) for _ in range(30))),
        ("ok", tuple(Item("n", Status.FAILED, None, "https://x/" + "p" * 600) for _ in range(30))),
    ],
)
def test_section_never_exceeds_3000(detail: str, items: tuple[Item, ...]) -> None:
    s = stage("ci", detail=detail, items=items, url=LONG_URL, finished_at=T0)
    (text,) = stage_texts(valid(trace_message(trace(s))))
    assert len(text) <= 3000
    shown = len(re.findall(r"^• ", text, re.M))
    if shown < len(items):
        assert text.splitlines()[-1].startswith(f"+{len(items) - shown} more — <{LONG_URL}|")
    if len(detail) > 1000:
        assert text.splitlines()[1].endswith("…")
    assert not re.search(r"&(?!amp;|lt;|gt;)", text)  # no entity cut in half


def test_big_change_within_limits() -> None:
    checks = tuple(
        Item(
            f"check-{i}", Status.FAILED if i % 13 == 5 else Status.SUCCEEDED, "x", f"https://ci/{i}"
        )
        for i in range(40)
    )
    workloads = tuple(Item(f"deploy-{i}", Status.SUCCEEDED) for i in range(5))
    env_names = ["dev", "staging", "canary", "production"]
    stages = [stage("merge"), stage("ci", Status.FAILED, items=checks, url="https://ci")] + [
        stage(s, env, items=workloads if s == "rollout" else ())
        for env in env_names
        for s in ("promote", "sync", "rollout")
    ]
    message = valid(trace_message(trace(*stages)))
    ci = stage_texts(message)[1]
    assert ci.splitlines()[-1] == "+32 more — <https://ci|see all>"
    assert ci.splitlines()[2].startswith("• :x: <https://ci/5|check-5>")
    assert len(stage_texts(message)) == 14
    for env in env_names:
        assert f"*{env}*" in texts(message)


@pytest.mark.parametrize(("count", "buttons_"), [(12, (ACTION_REFRESH,)), (60, ()), (13, None)])
def test_many_environments_fold_into_50_blocks(
    count: int, buttons_: tuple[str, ...] | None
) -> None:
    names = [f"region-{i:02d}" for i in range(count)]
    kw = {} if buttons_ is None else {"buttons": buttons_}
    t = trace(
        stage("merge"),
        stage("ci"),
        *envs(*names),
        errors=(SourceProblem("github", "down"),),
    )
    message = valid(trace_message(t, note="note", **kw))
    assert len(message.blocks) <= 50
    everything = "\n".join(texts(message))
    for name in names:
        assert f"*{name}*" in everything
    for s in ("promote", "sync", "rollout"):
        assert everything.count(f"*{s}*") == count  # every stage still mentioned
    assert "*Where:* Live in staging" in everything
    assert "Could not read: github: down" in everything


def test_escaping_user_text() -> None:
    evil = "<script>&"
    s = stage(
        "sync", evil, Status.FAILED, detail=f"bad {evil}", items=(Item(evil, Status.FAILED, evil),)
    )
    t = trace(
        s,
        change=change(title=evil, author=evil),
        service=evil,
        where=f"where {evil}",
        errors=(SourceProblem("kubernetes", evil, evil),),
    )
    message = valid(trace_message(t))
    everything = "\n".join(texts(message))
    assert "<script>" not in everything and "&lt;script&gt;&amp;" in everything
    assert not re.search(r"&(?!amp;|lt;|gt;)", everything)
    assert "bad &lt;script&gt;&amp;" in stage_texts(message)[0]
    assert "<script>" not in message.text
    for m in (tracing_message(evil), usage_message(evil), problem_message(evil, next_step=evil)):
        assert "<script>" not in "\n".join(texts(valid(m))) + m.text


@pytest.mark.parametrize(
    ("errors", "expected"),
    [
        ((), None),
        (
            (
                SourceProblem("github", "rate limited"),
                SourceProblem("kubernetes", "timeout", "production"),
            ),
            "Could not read: github: rate limited; kubernetes (production): timeout",
        ),
    ],
)
def test_errors_context(errors: tuple[SourceProblem, ...], expected: str | None) -> None:
    message = valid(trace_message(trace(stage("ci"), errors=errors)))
    found = [b for b in message.blocks if b["type"] == "context" and "Could not read" in str(b)]
    assert [b["elements"][0]["text"] for b in found] == ([expected] if expected else [])


def test_long_errors_are_cut_to_3000() -> None:
    errors = tuple(SourceProblem("kubernetes", "x" * 500, f"env-{i}") for i in range(20))
    message = valid(trace_message(trace(stage("ci"), errors=errors)))
    (text,) = [t for t in texts(message) if t.startswith("Could not read:")]
    assert text.endswith("…")


@pytest.mark.parametrize(
    ("note", "shown"), [(None, False), ("", False), ("Following: <@U1> will be told", True)]
)
def test_note(note: str | None, shown: bool) -> None:
    message = valid(trace_message(trace(stage("ci")), note=note))
    contexts = [b["elements"][0]["text"] for b in message.blocks if b["type"] == "context"]
    assert (note in contexts) is shown


@pytest.mark.parametrize(
    ("pr", "given", "expected"),
    [
        (
            412,
            None,
            [
                (ACTION_REFRESH, "Refresh"),
                (ACTION_SHARE, "Share in channel"),
                (ACTION_FOLLOW, "Follow"),
            ],
        ),
        (
            None,
            (ACTION_UNFOLLOW, ACTION_REFRESH),
            [(ACTION_UNFOLLOW, "Stop following"), (ACTION_REFRESH, "Refresh")],
        ),
        (412, (), []),
    ],
)
def test_buttons(
    pr: int | None, given: tuple[str, ...] | None, expected: list[tuple[str, str]]
) -> None:
    t = trace(stage("ci"), change=change(pr))
    message = valid(trace_message(t) if given is None else trace_message(t, buttons=given))
    got = buttons(message)
    assert [(b["action_id"], b["text"]["text"]) for b in got] == expected
    assert all(b["type"] == "button" and b["value"] == change_ref(t.change) for b in got)
    assert all(b.get("style") in (None, "primary") for b in got)
    if got:
        assert message.blocks[-1]["block_id"] == "shiptrace_actions"


TIMELINE = "https://st.example.com/changes/acme/shop/pull/412?exp=1764892800&sig=" + "a" * 43


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, [ACTION_REFRESH, ACTION_SHARE, ACTION_FOLLOW, ACTION_TIMELINE]),
        ((ACTION_REFRESH,), [ACTION_REFRESH, ACTION_TIMELINE]),
        ((), [ACTION_TIMELINE]),  # no other button: the link still has its row
    ],
)
def test_open_timeline_is_a_link_button_after_the_others(
    given: tuple[str, ...] | None, expected: list[str]
) -> None:
    t = trace(stage("ci"))
    kw: dict[str, Any] = {} if given is None else {"buttons": given}
    message = valid(trace_message(t, timeline_url=TIMELINE, **kw))
    got = buttons(message)
    assert [b["action_id"] for b in got] == expected
    [link] = [b for b in got if b["action_id"] == ACTION_TIMELINE]
    assert link["text"]["text"] == "Open timeline"
    assert link["url"] == TIMELINE
    assert "value" not in link and "style" not in link


def test_no_timeline_url_no_timeline_button() -> None:
    got = buttons(valid(trace_message(trace(stage("ci")))))
    assert ACTION_TIMELINE not in [b["action_id"] for b in got]
    assert all("url" not in b for b in got)


@pytest.mark.parametrize(
    ("chg", "where", "text"),
    [
        (
            change(),
            "Live in staging; production syncing",
            "acme/shop#412: Live in staging; production syncing",
        ),
        (change(None), "Merged; CI passed", "acme/shop@3f2c1ab: Merged; CI passed"),
        (change(), "", "acme/shop#412: "),
    ],
)
def test_fallback_text(chg: Change, where: str, text: str) -> None:
    assert valid(trace_message(trace(change=chg, where=where))).text == text


def test_fallback_text_capped() -> None:
    message = valid(trace_message(trace(where="w" * 5000)))
    assert len(message.text) <= 3000 and message.text.endswith("…")


@pytest.mark.parametrize(
    ("ref", "text", "shown"),
    [
        ("acme/shop#412", "Tracing acme/shop#412…", "Tracing *acme/shop#412*…"),
        ("  3f2c1ab ", "Tracing 3f2c1ab…", "Tracing *3f2c1ab*…"),
        ("a<b>", "Tracing a&lt;b&gt;…", "Tracing *a&lt;b&gt;*…"),
    ],
)
def test_tracing_message(ref: str, text: str, shown: str) -> None:
    message = valid(tracing_message(ref))
    assert message.text == text
    assert shown in texts(message)[0]


@pytest.mark.parametrize(
    ("reason", "first"), [(None, "*Usage:*"), ("No PR #9 in acme/shop.", ":warning: No PR #9")]
)
def test_usage_message(reason: str | None, first: str) -> None:
    message = valid(usage_message(reason, [("help", "shows this message")]))
    assert texts(message)[0].startswith(first)
    usage = texts(message)[-1]
    for form in (
        "owner/repo#123",
        "#123",
        "URL",
        "owner/repo@sha",
        "SHA",
        "commit URL",
        "/where help",
    ):
        assert form in usage
    assert message.text.startswith(reason or "Usage:")
    assert buttons(message) == []


@pytest.mark.parametrize(("retry", "values"), [(None, []), ("acme/shop#412", ["acme/shop#412"])])
def test_problem_message(retry: str | None, values: list[str]) -> None:
    message = valid(
        problem_message(
            "GitHub did not answer.", next_step="Try again in a minute.", retry_ref=retry
        )
    )
    assert texts(message)[0] == ":warning: GitHub did not answer.\nTry again in a minute."
    assert message.text == "GitHub did not answer. Try again in a minute."
    got = buttons(message)
    assert [b["value"] for b in got] == values
    assert all(b["action_id"] == ACTION_REFRESH for b in got)


def test_absurd_trace_still_50_blocks() -> None:
    names = [f"region-{i:03d}" for i in range(400)]
    stages = [stage(s, n, detail="d" * 200) for n in names for s in ("promote", "sync", "rollout")]
    message = valid(trace_message(trace(stage("ci"), *stages)))
    assert len(message.blocks) == 50
    assert "Too many stages to show" in texts(message)[-2]

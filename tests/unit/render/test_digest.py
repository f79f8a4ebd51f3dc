"""The delivery digest's rendering (bot.render.digest): content, Block Kit limits, escaping."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.digest.dora import Figures
from bot.digest.records import (
    Badge,
    Digest,
    IncidentLine,
    ServiceDigest,
    ShippedChange,
    StuckChange,
)
from bot.model import Status
from bot.render.blocks import Message
from bot.render.digest import (
    DIGEST_EVENT,
    NOTE_EVENT,
    digest_message,
    digest_metadata,
    digest_text,
    note_message,
    note_metadata,
)
from bot.sandbox.slack import block_errors

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
END = START + timedelta(days=1)
H = timedelta(hours=1)
MIN = timedelta(minutes=1)
OK, FAILED, RUNNING, PENDING = Status.SUCCEEDED, Status.FAILED, Status.RUNNING, Status.PENDING
DATE = "<!date^{}^{{date_short_pretty}} {{time}}|{}>"


def token(when: datetime) -> str:
    return DATE.format(int(when.timestamp()), f"{when.astimezone(UTC):%Y-%m-%d %H:%M} UTC")


def figures(start: datetime = START, **kw: Any) -> Figures:
    fields: dict[str, Any] = {
        "start": start,
        "end": END,
        "deployments": {},
        "deploys_per_day": {},
        "lead_time_median": None,
        "lead_time_p90": None,
        "lead_times": [],
        "change_failure_rate": None,
        "failed_deployments": 0,
        "total_deployments": 0,
        "time_to_restore_median": None,
        "restored": 0,
        "open_incidents": 0,
        # The drift scan has watched since before both windows: its "none"s are facts.
        "watched_since": START - timedelta(days=60),
    }
    return Figures(**(fields | kw))


BUSY_WINDOW = figures(
    deployments={"production": 3, "staging": 4},
    deploys_per_day={"production": 3.0, "staging": 4.0},
    lead_time_median=3 * H + 5 * MIN,
    lead_time_p90=5 * H,
    lead_times=[("acme/shop#1", 2 * H), ("acme/shop#2", 5 * H), ("acme/cart#4", 3 * H)],
    change_failure_rate=0.25,
    failed_deployments=1,
    total_deployments=4,
    time_to_restore_median=25 * MIN,
    restored=1,
    open_incidents=1,
)
BUSY_TRAILING = figures(
    END - timedelta(days=30),
    deployments={"production": 1},
    deploys_per_day={"production": 1 / 30},
    lead_time_median=26 * H,
    lead_time_p90=50 * H + 3 * MIN,
    lead_times=[("acme/shop#1", 26 * H)],
    change_failure_rate=0.0,
    total_deployments=1,
)


def badges(*statuses: Status) -> tuple[Badge, ...]:
    return tuple(
        Badge(label, s) for label, s in zip(("CI", "staging", "production"), statuses, strict=True)
    )


def shipped(ref: str, title: str, *statuses: Status, url: str | None = None) -> ShippedChange:
    url = url or f"https://github.com/{ref.replace('#', '/pull/')}"
    return ShippedChange(ref, title, url, "alice", START + H, badges(*statuses), "where")


def stuck(ref: str, stage: str, status: Status, after: timedelta, **kw: Any) -> StuckChange:
    url = kw.pop("url", f"https://github.com/{ref.replace('#', '/pull/')}")
    return StuckChange(ref, kw.pop("title", "Slow"), url, START + H, stage, status, after)


def incident(key: str, restored: timedelta | None, thread: str | None = None) -> IncidentLine:
    opened = START + 2 * H
    return IncidentLine(
        key, "2 resources drift", opened, opened + restored if restored else None, thread
    )


def service(name: str, *, shipped_: tuple[ShippedChange, ...] = (), **kw: Any) -> ServiceDigest:
    return ServiceDigest(
        name,
        f"acme/{name}",
        shipped_,
        kw.get("stuck", ()),
        kw.get("incidents", ()),
        kw.get("unread"),
    )


def digest(*services: ServiceDigest, **kw: Any) -> Digest:
    fields: dict[str, Any] = {"window": BUSY_WINDOW, "trailing": BUSY_TRAILING}
    return Digest("C0123", START, END, services, **(fields | kw))


THREAD = "https://acme.slack.com/archives/C0123/p1795690800000100"
SHOP = service(
    "shop",
    shipped_=(
        shipped("acme/shop#1", "Add cart", OK, OK, OK),
        shipped("acme/shop#2", "Faster search", OK, OK, OK),
        shipped("acme/shop#3", "New checkout", OK, OK, RUNNING),
    ),
    stuck=(
        stuck("acme/shop#3", "sync in production", RUNNING, 3 * H + 5 * MIN, title="New checkout"),
    ),
    incidents=(incident("shop/staging", None),),
)
CART = service(
    "cart",
    shipped_=(
        shipped("acme/cart#4", "Bump deps", OK, OK, OK),
        shipped("acme/cart#5", "Broken test", FAILED, PENDING, PENDING),
    ),
    incidents=(incident("cart/production", 25 * MIN, THREAD),),
)
BUSY = digest(SHOP, service("search"), CART, errors=("github: rate limited",))


def valid(message: Message) -> Message:
    """Slack's limits (emulator check) plus what it does not check."""
    assert block_errors(message.blocks) == []
    assert 0 < len(message.text) <= 3000
    ids = [b["block_id"] for b in message.blocks]
    assert len(ids) == len(set(ids))
    for b in message.blocks:
        if b["type"] == "context":
            assert all(0 < len(e["text"]) <= 3000 for e in b["elements"])
        if b["type"] == "section":
            assert b["text"]["text"]
    return message


def texts(message: Message) -> list[str]:
    """The mrkdwn of every section, field and context, in order."""
    out = []
    for b in message.blocks:
        if b["type"] == "section":
            out += [b["text"]["text"]] + [f["text"] for f in b.get("fields", [])]
        elif b["type"] == "context":
            out += [e["text"] for e in b["elements"]]
    return out


def block(message: Message, block_id: str) -> dict[str, Any]:
    (found,) = [b for b in message.blocks if b["block_id"] == block_id]
    return found


def lines(message: Message) -> list[str]:
    return "\n".join(texts(message)).splitlines()


# --- a busy day ---------------------------------------------------------------------------------


def test_busy_day_layout() -> None:
    message = valid(digest_message(BUSY))
    assert [b["block_id"] for b in message.blocks] == [
        "digest_header",
        "digest_errors",  # what could not be read comes first
        "digest_window",
        "digest_service_0",
        "digest_service_1",
        "digest_idle",
        "digest_dora_window",
        "digest_dora_trailing",
    ]
    assert message.blocks[0]["text"] == {
        "type": "plain_text",
        "text": "Delivery digest",
        "emoji": True,
    }
    assert texts(message)[0] == "Could not read: github: rate limited"
    assert texts(message)[1] == f"Window: {token(START)} → {token(END)}"
    assert texts(message)[2].startswith("*shop* · acme/shop\n")
    assert texts(message)[3].startswith("*cart* · acme/cart\n")
    assert block(message, "digest_idle")["elements"][0]["text"] == "Nothing shipped: search"
    assert message.text == (
        "Delivery digest: some sources could not be read, 5 changes shipped, 1 stuck, "
        "2 drift incidents"
    )


@pytest.mark.parametrize(
    ("ref", "line"),
    [
        (
            "acme/shop#1",
            "• <https://github.com/acme/shop/pull/1|acme/shop#1> Add cart — :white_check_mark: CI"
            "  :white_check_mark: staging  :white_check_mark: production",
        ),
        (
            "acme/shop#3",
            "• <https://github.com/acme/shop/pull/3|acme/shop#3> New checkout — :white_check_mark: CI"
            "  :white_check_mark: staging  :hourglass_flowing_sand: production",
        ),
        (
            "acme/cart#5",
            "• <https://github.com/acme/cart/pull/5|acme/cart#5> Broken test — :x: CI"
            "  :white_circle: staging  :white_circle: production",
        ),
    ],
)
def test_badges_per_change(ref: str, line: str) -> None:
    found = [
        x for x in lines(valid(digest_message(BUSY))) if x.startswith("• <") and f"|{ref}>" in x
    ]
    assert found == [line]


def timeline(ref: str) -> str:
    return f"https://st.example.com/changes/{ref.replace('#', '/pull/')}?exp=1&sig=" + "s" * 43


def test_change_lines_link_their_timeline_when_given() -> None:
    links = {ref: timeline(ref) for ref in ("acme/shop#1", "acme/shop#3")}
    message = valid(digest_message(BUSY, links.get))
    shop = block(message, "digest_service_0")["text"]["text"].splitlines()

    def linked(ref: str) -> str:  # mrkdwn escapes the query's &
        return f" · <{timeline(ref).replace('&', '&amp;')}|Open timeline>"

    assert shop[1].endswith(linked("acme/shop#1"))
    assert " · <" not in shop[2]  # acme/shop#2 has no link: none shown
    assert shop[3].endswith(linked("acme/shop#3"))
    assert shop[4].endswith(linked("acme/shop#3"))  # stuck too
    assert "Open timeline" not in block(message, "digest_service_1")["text"]["text"]
    assert "Open timeline" not in "\n".join(texts(valid(digest_message(BUSY))))


def test_links_still_fit_a_busy_digest() -> None:
    d = huge(30, 20)
    links = {c.ref: timeline(c.ref) for s in d.services for c in (*s.shipped, *s.stuck)}
    message = valid(digest_message(d, links.get))
    assert all(len(t) <= 3000 for t in texts(message))
    assert "Open timeline" in block(message, "digest_service_0")["text"]["text"]


def test_stuck_and_drift_lines() -> None:
    message = valid(digest_message(BUSY))
    shop = block(message, "digest_service_0")["text"]["text"].splitlines()
    cart = block(message, "digest_service_1")["text"]["text"].splitlines()
    opened = token(START + 2 * H)
    assert shop[4:] == [
        ":hourglass_flowing_sand: <https://github.com/acme/shop/pull/3|acme/shop#3> New checkout"
        " — stuck at sync in production for 3 h 5 min",
        f":warning: drift in *shop/staging* since {opened}: 2 resources drift — still open",
    ]
    assert cart[3:] == [
        f":white_check_mark: drift in *cart/production* since {opened}: 2 resources drift"
        f" — restored in 25 min · <{THREAD}|thread>",
    ]
    assert sum(x.startswith("• ") for x in shop) == 3 and sum(x.startswith("• ") for x in cart) == 2


FIELDS = [
    (
        BUSY_WINDOW,
        [
            "*Deployment frequency*\nproduction 3 (3.0/day)\nstaging 4 (4.0/day)",
            "*Lead time*\nmedian 3 h 5 min, p90 5 h over 3 changes",
            "*Change failure rate*\n25% (1/4)",
            "*Time to restore*\nmedian 25 min over 1 incident\n1 still open",
        ],
    ),
    (
        BUSY_TRAILING,
        [
            "*Deployment frequency*\nproduction 1 (0.03/day)",
            "*Lead time*\nmedian 26 h, p90 50 h 3 min over 1 change",
            "*Change failure rate*\n0% (0/1)",
            "*Time to restore*\nno incident resolved",
        ],
    ),
    (
        figures(),
        [
            "*Deployment frequency*\nno deployments",
            "*Lead time*\nno change went live",
            "*Change failure rate*\nno deployments",
            "*Time to restore*\nno incident resolved",
        ],
    ),
    (
        figures(
            deployments={f"env-{i:02d}": 1 for i in range(12)},
            deploys_per_day={f"env-{i:02d}": 1.0 for i in range(12)},
            change_failure_rate=2 / 3,
            failed_deployments=8,
            total_deployments=12,
            open_incidents=2,
        ),
        [
            "*Deployment frequency*\n"
            + "".join(f"env-{i:02d} 1 (1.0/day)\n" for i in range(10))
            + "+2 more",
            "*Lead time*\nno change went live",
            "*Change failure rate*\n67% (8/12)",
            "*Time to restore*\nno incident resolved\n2 still open",
        ],
    ),
]


@pytest.mark.parametrize("where", ["digest_dora_window", "digest_dora_trailing"])
@pytest.mark.parametrize(("figs", "expected"), FIELDS)
def test_dora_fields(where: str, figs: Figures, expected: list[str]) -> None:
    d = digest(SHOP, window=figs) if where == "digest_dora_window" else digest(SHOP, trailing=figs)
    found = block(valid(digest_message(d)), where)
    assert found["text"]["text"] == (
        "*This window*" if where.endswith("window") else "*Last 30 days*"
    )
    assert [f["text"] for f in found["fields"]] == expected


# --- a quiet day, late, fallback ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("services", "errors", "count"),
    [
        ((), (), 3),
        ((service("shop"), service("cart")), (), 3),
    ],
)
def test_quiet_day_is_one_line(
    services: tuple[ServiceDigest, ...], errors: tuple[str, ...], count: int
) -> None:
    d = digest(*services, window=figures(), errors=errors)
    assert d.quiet
    message = valid(digest_message(d))
    assert len(message.blocks) == count
    assert [b["type"] for b in message.blocks[:3]] == ["header", "section", "context"]
    assert texts(message)[0] == (
        f":zzz: Nothing shipped since {token(START)}: nothing stuck, no drift."
    )
    assert texts(message)[1] == (
        "*Last 30 days:* Deployment frequency: production 1 (0.03/day) · Lead time: median 26 h,"
        " p90 50 h 3 min over 1 change · Change failure rate: 0% (0/1) · Time to restore: no"
        " incident resolved"
    )
    assert message.text == "Delivery digest: nothing shipped"


@pytest.mark.parametrize(
    ("late", "title"), [(False, "Delivery digest"), (True, "Delivery digest (late)")]
)
@pytest.mark.parametrize("d", [BUSY, digest()], ids=["busy", "quiet"])
def test_late_marker(d: Digest, late: bool, title: str) -> None:
    d = Digest(d.channel, d.start, d.end, d.services, d.window, d.trailing, late=late)
    message = valid(digest_message(d))
    assert message.blocks[0]["text"]["text"] == title
    assert message.text.startswith(f"{title}: ")
    assert digest_text(d).splitlines()[0] == title


@pytest.mark.parametrize(
    ("services", "text"),
    [
        ((SHOP,), "Delivery digest: 3 changes shipped, 1 stuck, 1 drift incident"),
        ((CART,), "Delivery digest: 2 changes shipped, 1 drift incident"),
        ((service("a", shipped_=SHOP.shipped[:1]),), "Delivery digest: 1 change shipped"),
        ((service("a", stuck=SHOP.stuck),), "Delivery digest: nothing shipped, 1 stuck"),
        ((service("a"),), "Delivery digest: nothing shipped"),
    ],
)
def test_fallback_text(services: tuple[ServiceDigest, ...], text: str) -> None:
    assert valid(digest_message(digest(*services))).text == text


def test_window_in_utc_whatever_the_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    d = Digest(
        "C0123",
        START.astimezone(berlin),
        END.astimezone(berlin),
        (SHOP,),
        BUSY_WINDOW,
        BUSY_TRAILING,
    )
    message = valid(digest_message(d))
    assert texts(message)[0] == f"Window: {token(START)} → {token(END)}"
    assert "2026-11-26 09:00 UTC|" not in texts(message)[0]  # fallback shows UTC, not Berlin time
    assert "2026-11-26 09:00 UTC – 2026-11-27 09:00 UTC" in digest_text(d)


# --- escaping and limits --------------------------------------------------------------------------

EVIL = "<script>&"


def test_escaping_user_text() -> None:
    d = digest(
        ServiceDigest(
            EVIL,
            EVIL,
            (ShippedChange(EVIL, f"t {EVIL}", None, EVIL, START, (Badge(EVIL, OK),), EVIL),),
            (StuckChange(EVIL, f"s {EVIL}", "https://x/a|b>c", START, EVIL, FAILED, H),),
            (IncidentLine(EVIL, f"i {EVIL}", START, None, "https://x/<t>"),),
        ),
        service(EVIL),
        window=figures(deployments={EVIL: 1}, deploys_per_day={EVIL: 1.0}),
        errors=(EVIL,),
    )
    message = valid(digest_message(d))
    everything = "\n".join(texts(message))
    assert "<script>" not in everything and "<script>" not in message.text
    assert not re.search(r"&(?!amp;|lt;|gt;)", everything)  # every & starts an entity
    for shown in ("t &lt;script&gt;&amp;", "s &lt;script&gt;&amp;", "i &lt;script&gt;&amp;"):
        assert shown in everything
    assert "<https://x/a%7Cb&gt;c|&lt;script&gt;&amp;>" in everything  # the link stays one link
    assert "Nothing shipped: &lt;script&gt;&amp;" in everything
    assert "Could not read: &lt;script&gt;&amp;" in everything


def huge(services: int, changes: int, *, size: int = 60) -> Digest:
    def one(s: int) -> ServiceDigest:
        name = f"service-{s:03d}"
        return ServiceDigest(
            name,
            f"acme/{name}",
            tuple(
                shipped(
                    f"acme/{name}#{n}",
                    f"{'&' * size} {n}",
                    OK,
                    FAILED,
                    RUNNING,
                    url=f"https://gh/{'p' * size}/{n}",
                )
                for n in range(changes)
            ),
            tuple(
                stuck(f"acme/{name}#{n}", "sync " * size, RUNNING, 2 * H, title="x" * 400)
                for n in range(changes)
            ),
            tuple(
                incident(f"{name}/env-{n}", MIN if n % 2 else None, THREAD) for n in range(changes)
            ),
        )

    many = figures(
        deployments={f"e{'n' * 300}{i}": i for i in range(40)},
        deploys_per_day={f"e{'n' * 300}{i}": i / 3 for i in range(40)},
    )
    return digest(
        *(one(s) for s in range(services)), service("idle"), window=many, errors=("x" * 5000,)
    )


@pytest.mark.parametrize(
    ("services", "changes", "size", "full"),
    [
        (30, 20, 60, 30),  # the case: every service in full, lists cut
        (60, 20, 60, 43),  # 50 blocks: the rest folded into one section
        (1, 500, 600, 1),  # absurd titles and URLs
        (400, 1, 10, 43),  # the folded section itself says "+N more services"
        (2, 3, 10, 2),  # everything fits: no "+N more"
    ],
)
def test_huge_digest_within_limits(services: int, changes: int, size: int, full: int) -> None:
    message = valid(digest_message(huge(services, changes, size=size)))
    assert len(message.blocks) <= 50
    sections = [
        b["text"]["text"] for b in message.blocks if b["block_id"].startswith("digest_service_")
    ]
    assert len(sections) == full
    for text in sections:
        assert len(text) <= 3000
        body = text.splitlines()[1:]
        merged = sum(x.startswith("• ") for x in body)
        stuck_ = sum(" — stuck at sync " in x for x in body)
        drift = sum(bool(re.match(r":\w+: drift in ", x)) for x in body)
        assert min(merged, stuck_, drift) > 0 and max(merged, stuck_, drift) <= 10  # a fair share
        for count, noun in ((merged, "merged"), (stuck_, "stuck"), (drift, "drift incidents")):
            assert (f"+{changes - count} more {noun}" in body) is (count < changes)
    if full < services:
        folded = block(message, "digest_folded")["text"]["text"]
        assert folded.startswith(f"*service-{full:03d}* — {changes} merged, {changes} stuck, ")
        shown = len(sections) + len(re.findall(r"^\*service-", folded, re.M))
        assert (shown == services) is (not folded.endswith(f"\n+{services - shown} more services"))
    else:
        assert "digest_folded" not in [b["block_id"] for b in message.blocks]
    assert [b["block_id"] for b in message.blocks[-3:]] == [
        "digest_idle",
        "digest_dora_window",
        "digest_dora_trailing",
    ]
    assert message.blocks[1]["block_id"] == "digest_errors"
    assert block(message, "digest_errors")["elements"][0]["text"].endswith("…")


def test_many_idle_services_are_cut() -> None:
    idle = [service(f"idle-{'x' * 40}-{i:03d}") for i in range(500)]
    message = valid(digest_message(digest(SHOP, *idle)))
    (text,) = block(message, "digest_idle")["elements"][0]["text"].splitlines()
    shown = text.count("idle-")
    assert 0 < shown < 500 and text.endswith(f", +{500 - shown} more services")
    assert text.startswith(f"Nothing shipped: idle-{'x' * 40}-000, ")


# --- metadata and the terminal text ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("end", "stamp"),
    [
        (END, "2026-11-27T09:00:00Z"),
        (END.astimezone(ZoneInfo("America/New_York")), "2026-11-27T09:00:00Z"),
        (
            datetime(2026, 3, 29, 7, 0, 0, 123, tzinfo=ZoneInfo("Europe/Berlin")),
            "2026-03-29T05:00:00Z",
        ),
    ],
)
def test_metadata(end: datetime, stamp: str) -> None:
    assert digest_metadata("C0123", end) == {
        "event_type": DIGEST_EVENT,
        "event_payload": {"channel": "C0123", "window_end": stamp},
    }
    assert DIGEST_EVENT == "shiptrace_digest"


FACTS = [
    "acme/shop#1  Add cart — ✓ CI  ✓ staging  ✓ production  https://github.com/acme/shop/pull/1",
    "acme/shop#3  New checkout — ✓ CI  ✓ staging  … production",
    "acme/cart#5  Broken test — ✗ CI  · staging  · production",
    "… acme/shop#3  New checkout — stuck at sync in production for 3 h 5 min",
    "shop/staging since 2026-11-26 11:00 UTC: 2 resources drift — still open",
    f"cart/production since 2026-11-26 11:00 UTC: 2 resources drift — restored in 25 min  {THREAD}",
    "Nothing shipped: search",
    "Deployment frequency: production 3 (3.0/day), staging 4 (4.0/day)",
    "Lead time: median 3 h 5 min, p90 5 h over 3 changes",
    "Change failure rate: 25% (1/4)",
    "Time to restore: median 25 min over 1 incident, 1 still open",
    "Deployment frequency: production 1 (0.03/day)",
    "Lead time: median 26 h, p90 50 h 3 min over 1 change",
    "Time to restore: no incident resolved",
    "Could not read: github: rate limited",
]


@pytest.mark.parametrize("fact", FACTS)
def test_text_has_the_same_facts(fact: str) -> None:
    text = digest_text(BUSY)
    assert fact in text
    slack = "\n".join(texts(digest_message(BUSY)))
    for word in re.findall(r"[\w/#.%()]+(?: (?:h|min|more|still open))?", fact.split("  https")[0]):
        if word not in ("✓", "✗", "…", "·"):
            assert word in slack, word


def test_text_layout() -> None:
    text = digest_text(BUSY)
    assert text.splitlines()[:6] == [
        "Delivery digest",
        "Could not read: github: rate limited",  # first
        "",
        "2026-11-26 09:00 UTC – 2026-11-27 09:00 UTC",
        "",
        "shop (acme/shop)",
    ]
    assert "\nDORA, this window:\n" in text and "\nDORA, last 30 days:\n" in text
    assert digest_text(digest(window=figures())).splitlines() == [
        "Delivery digest",
        "Nothing shipped since 2026-11-26 09:00 UTC: nothing stuck, no drift.",
        "Last 30 days: Deployment frequency: production 1 (0.03/day) · Lead time: median 26 h,"
        " p90 50 h 3 min over 1 change · Change failure rate: 0% (0/1) · Time to restore: no"
        " incident resolved",
    ]


# --- what the bot could not see -------------------------------------------------------------

NEVER = "the drift scan (shiptrace serve) has not watched these environments"
SINCE_11 = "the drift scan has watched only since 2026-11-26 11:00 UTC"
UNREAD = service("shop", unread="GitHub answered 503")


@pytest.mark.parametrize(
    ("figs", "services", "expected"),
    [
        (
            figures(watched_since=None),
            (SHOP,),
            [
                f"*Deployment frequency*\nnot measured yet: {NEVER}",
                "*Lead time*\nno change went live",
                f"*Change failure rate*\nnot measured yet: {NEVER}",
                f"*Time to restore*\nnot measured yet: {NEVER}",
            ],
        ),
        (
            figures(
                watched_since=START + 2 * H,
                deployments={"production": 1},
                deploys_per_day={"production": 1.0},
                change_failure_rate=0.0,
                total_deployments=1,
                open_incidents=1,
            ),
            (SHOP,),
            [
                f"*Deployment frequency*\nproduction 1 (1.0/day)\npartial: {SINCE_11}",
                "*Lead time*\nno change went live",
                "*Change failure rate*\n0% (0/1)",
                f"*Time to restore*\nnot measured yet: {SINCE_11}\n1 still open",
            ],
        ),
        (
            figures(),
            (UNREAD, service("cart")),
            [
                "*Deployment frequency*\nno deployments",
                "*Lead time*\nnot measured yet: GitHub could not be read",
                "*Change failure rate*\nno deployments",
                "*Time to restore*\nno incident resolved",
            ],
        ),
        (  # measured lead times stand even when one repo could not be read
            BUSY_WINDOW,
            (UNREAD, CART),
            [
                "*Deployment frequency*\nproduction 3 (3.0/day)\nstaging 4 (4.0/day)",
                "*Lead time*\nmedian 3 h 5 min, p90 5 h over 3 changes",
                "*Change failure rate*\n25% (1/4)",
                "*Time to restore*\nmedian 25 min over 1 incident\n1 still open",
            ],
        ),
    ],
    ids=["never-scanned", "scanned-since-inside", "github-unread", "github-partly-read"],
)
def test_a_figure_not_measured_says_so_and_why(
    figs: Figures, services: tuple[ServiceDigest, ...], expected: list[str]
) -> None:
    d = digest(*services, window=figs)
    found = block(valid(digest_message(d)), "digest_dora_window")
    assert [f["text"] for f in found["fields"]] == expected
    plain = digest_text(d)
    for field in expected:
        name, *values = field.split("\n")
        assert f"  {name.strip('*')}: {', '.join(values)}" in plain


def test_unread_sources_come_first_and_no_quiet_day_is_claimed() -> None:
    errors = ("github: merged PRs of acme/shop: GitHub answered 503",)
    d = digest(UNREAD, service("cart"), window=figures(), trailing=figures(), errors=errors)
    assert not d.quiet and d.unread and d.unreadable is None
    message = valid(digest_message(d))
    assert [b["block_id"] for b in message.blocks[:3]] == [
        "digest_header",
        "digest_errors",
        "digest_window",
    ]
    assert texts(message)[0] == f"Could not read: {errors[0]}"
    assert block(message, "digest_idle")["elements"][0]["text"] == "Nothing shipped: cart"
    assert message.text == "Delivery digest: some sources could not be read"
    everything = "\n".join(texts(message)) + digest_text(d)
    assert "Nothing shipped since" not in everything and "no drift" not in everything
    assert "Nothing shipped: shop" not in everything
    assert digest_text(d).splitlines()[1] == f"Could not read: {errors[0]}"


def test_a_quiet_day_with_a_source_error_is_not_quiet() -> None:
    d = digest(service("shop"), window=figures(), errors=("kubernetes (production): timeout",))
    assert not d.quiet
    text = "\n".join(texts(valid(digest_message(d))))
    assert ":zzz:" not in text and "no drift" not in text
    assert texts(digest_message(d))[0] == "Could not read: kubernetes (production): timeout"


@pytest.mark.parametrize(
    ("services", "why"),
    [
        ((UNREAD,), "GitHub answered 503"),
        ((UNREAD, service("cart", unread="timed out")), "GitHub answered 503"),
        ((UNREAD, service("cart")), None),
        ((), None),
    ],
)
def test_unreadable_means_no_service_could_be_read(
    services: tuple[ServiceDigest, ...], why: str | None
) -> None:
    assert digest(*services).unreadable == why


def test_a_quiet_day_the_scan_did_not_watch_claims_no_drift_only_when_it_did() -> None:
    unwatched = digest(service("shop"), window=figures(watched_since=None))
    assert unwatched.quiet
    assert texts(valid(digest_message(unwatched)))[0] == (
        f":zzz: Nothing shipped since {token(START)}, nothing stuck; drift not measured yet: "
        f"{NEVER}."
    )
    assert digest_text(unwatched).splitlines()[1] == (
        "Nothing shipped since 2026-11-26 09:00 UTC, nothing stuck; drift not measured yet: "
        f"{NEVER}."
    )


def test_a_merged_pr_that_could_not_be_traced_is_listed_as_such() -> None:
    untraced = ShippedChange(
        "acme/shop#9", "Hotfix", None, "bob", START + H, (), "could not be traced"
    )
    d = digest(service("shop", shipped_=(untraced,)), window=figures())
    section_ = block(valid(digest_message(d)), "digest_service_0")["text"]["text"]
    assert "• acme/shop#9 Hotfix — :grey_question: could not be traced" in section_
    assert "  merged  acme/shop#9  Hotfix — ? could not be traced" in digest_text(d)


def test_the_could_not_be_built_note() -> None:
    message = note_message(START, END, "GitHub answered 503 for acme/shop/pulls after retries")
    assert block_errors(message.blocks) == []
    [line] = texts(message)
    assert line == (
        f":warning: The delivery digest for {token(START)} → {token(END)} could not be built: "
        "GitHub answered 503 for acme/shop/pulls after retries. The next digest covers this "
        "window too."
    )
    assert message.text == (
        "Delivery digest could not be built: GitHub answered 503 for acme/shop/pulls after retries"
    )
    assert note_metadata("C0123", END) == {
        "event_type": NOTE_EVENT,
        "event_payload": {"channel": "C0123", "window_end": "2026-11-27T09:00:00Z"},
    }
    assert NOTE_EVENT != DIGEST_EVENT  # a note is never taken for the digest itself

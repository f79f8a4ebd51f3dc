"""The log formats and set-up: one JSON object per line, the request id, quiet libraries."""

from __future__ import annotations

import contextvars
import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from bot.observe.logging import (
    MASK,
    JsonFormatter,
    TextFormatter,
    configure,
    new_request_id,
    request_id,
)


def record(
    message: str = "hello %s", args: tuple[Any, ...] = ("world",), **extra: Any
) -> logging.LogRecord:
    rec = logging.LogRecord("shiptrace", logging.INFO, __file__, 1, message, args, None)
    rec.created = 1795687200.123456  # 2026-11-26T10:00:00.123Z
    rec.__dict__.update(extra)
    return rec


def in_context(fn: Any) -> Any:
    """Run ``fn`` in a context of its own: a request id set there stays there."""
    return contextvars.copy_context().run(fn)


def test_a_json_line_has_the_fields_in_order() -> None:
    out = JsonFormatter().format(record())
    assert "\n" not in out
    assert json.loads(out) == {
        "time": "2026-11-26T10:00:00.123Z",
        "level": "INFO",
        "logger": "shiptrace",
        "message": "hello world",
        "request_id": None,
    }
    assert list(json.loads(out)) == ["time", "level", "logger", "message", "request_id"]


def test_the_request_id_of_the_context_is_on_each_line() -> None:
    def logged() -> tuple[str, dict[str, Any]]:
        rid = new_request_id("drift")
        return rid, json.loads(JsonFormatter().format(record()))

    rid, line = in_context(logged)
    assert rid.startswith("drift-") and len(rid) == len("drift-") + 12
    assert line["request_id"] == rid
    assert request_id.get() is None  # another context's id does not leak here


@pytest.mark.parametrize(
    ("extra", "shown"),
    [
        ({"channel": "C0DEPLOYS"}, {"channel": "C0DEPLOYS"}),
        ({"attempt": 2, "took": 0.5}, {"attempt": 2, "took": 0.5}),
        ({"when": object}, {"when": str(object)}),  # anything else as text
        (
            {"slack_token": "xoxb-1", "signing_secret": "s"},
            {"slack_token": MASK, "signing_secret": MASK},
        ),
        ({"Authorization": "Bearer x", "password": "p"}, {"Authorization": MASK, "password": MASK}),
        ({"private_key": "-----BEGIN"}, {"private_key": MASK}),
        ({"key": "shop/staging"}, {"key": "shop/staging"}),  # an incident's key is no secret
    ],
)
def test_extras_follow_and_secrets_are_masked(extra: dict[str, Any], shown: dict[str, Any]) -> None:
    line = json.loads(JsonFormatter().format(record(**extra)))
    assert {k: line[k] for k in extra} == shown


def test_an_exception_is_one_line_with_its_traceback() -> None:
    try:
        raise RuntimeError("cluster gone\nreally")
    except RuntimeError:
        rec = logging.LogRecord(
            "shiptrace",
            logging.ERROR,
            __file__,
            1,
            "unexpected error %s",
            ("ab12",),
            sys.exc_info(),
        )
    out = JsonFormatter().format(rec)
    assert "\n" not in out
    line = json.loads(out)
    assert line["message"] == "unexpected error ab12" and line["level"] == "ERROR"
    assert (
        line["exception"].startswith("Traceback")
        and "RuntimeError: cluster gone" in line["exception"]
    )


def test_a_multi_line_message_stays_one_line() -> None:
    out = JsonFormatter().format(record("first\nsecond", ()))
    assert out.count("\n") == 0 and json.loads(out)["message"] == "first\nsecond"


def test_text_lines_carry_the_request_id_when_there_is_one() -> None:
    plain = TextFormatter().format(record())
    assert plain.endswith(" INFO shiptrace: hello world")

    def with_id() -> str:
        new_request_id()
        return str(TextFormatter().format(record()))

    line = in_context(with_id)
    assert " INFO shiptrace [" in line and line.endswith("]: hello world")


@pytest.fixture
def root() -> Iterator[logging.Logger]:
    """The root logger and the libraries' loggers, as they were, afterwards."""
    logger = logging.getLogger()
    handlers, level = list(logger.handlers), logger.level
    names = ("apscheduler", "slack_bolt", "urllib3", "github", "shiptrace")
    levels = {name: logging.getLogger(name).level for name in names}
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def emitted(monkeypatch: pytest.MonkeyPatch, fmt: str, level: str, *calls: Any) -> list[str]:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)  # the handler writes to sys.stderr of the moment
    configure(fmt, level)
    for logger, lvl, message, kwargs in calls:
        logging.getLogger(logger).log(lvl, message, **kwargs)
    return stream.getvalue().splitlines()


def test_configure_again_replaces_its_handler(root: logging.Logger) -> None:
    configure("text", "INFO")
    configure("json", "DEBUG")
    ours = [h for h in root.handlers if isinstance(h.formatter, (JsonFormatter, TextFormatter))]
    assert len(ours) == 1 and isinstance(ours[0].formatter, JsonFormatter)
    assert root.level == logging.DEBUG


def test_the_libraries_are_quiet_and_their_two_useless_warnings_gone(
    root: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = emitted(
        monkeypatch,
        "json",
        "DEBUG",
        ("apscheduler.executors.default", logging.INFO, 'Job "drift" executed successfully', {}),
        (
            "slack_bolt.AsyncApp",
            logging.WARNING,
            "As you gave `client` as well, `token` will be unused.",
            {},
        ),
        (
            "urllib3.connectionpool",
            logging.WARNING,
            "Retrying (Retry(total=1))",
            {"extra": {"__urllib3-retry-warning": {}}},
        ),
        (
            "github.Requester",
            logging.DEBUG,
            "GET https://api.github.com/x {'Authorization': '(token removed)'}",
            {},
        ),
        ("slack_bolt.AsyncApp", logging.WARNING, "Unhandled request", {}),
        ("shiptrace", logging.DEBUG, "ours", {}),
    )
    assert [json.loads(line)["message"] for line in lines] == ["Unhandled request", "ours"]


def test_a_higher_level_quiets_the_libraries_too(
    root: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = emitted(
        monkeypatch,
        "text",
        "error",
        ("slack_bolt.AsyncApp", logging.WARNING, "a warning", {}),
        ("shiptrace", logging.WARNING, "another", {}),
        ("shiptrace", logging.ERROR, "an error", {}),
    )
    assert [line.rsplit(": ", 1)[1] for line in lines] == ["an error"]

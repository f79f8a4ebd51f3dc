"""The process's logs: text or JSON lines on stderr, a request id per Slack request or job.

Quiet by default: the libraries' own chatter (APScheduler's "executed successfully", Bolt's
warning about the token it does not use, urllib3's warning at each retry, PyGithub's notes)
stays out; the clients note a retry in one debug line of their own instead. The libraries log
at WARNING or above whatever ``SHIPTRACE_LOG_LEVEL`` says: at DEBUG they would print request
and response bodies, and headers that carry credentials.

A request id (:func:`new_request_id`) is set in a context variable when a Slack request
passes the gate or a job starts; every line logged while it is handled carries it, the lines
of the clients' worker threads too (they run in the caller's context).
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import traceback
import uuid
from datetime import UTC, datetime
from typing import Any, TextIO

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "shiptrace_request_id", default=None
)

# Loggers of libraries that say too much below WARNING (and, at DEBUG, bodies and headers).
QUIET = (
    "apscheduler",
    "github",
    "urllib3",
    "kubernetes",
    "slack_bolt",
    "slack_sdk",
    "aiohttp",
    "asyncio",
    "opentelemetry",
)

# Bolt warns at each start that SLACK_BOT_TOKEN "will be unused": we hand it a client built
# from that very token (bot.app), so the warning says nothing.
_BOLT_TOKEN_WARNING = "As you gave `client` as well, `token` will be unused."  # noqa: S105
# urllib3 marks its warning at each retry so it can be told apart (pip rewrites it).
_URLLIB3_RETRY = "__urllib3-retry-warning"

# Attributes every LogRecord has: anything else on a record is an ``extra`` of the call.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
}
# Extras whose name says they hold a credential are never written out.
_SECRET_WORDS = ("token", "secret", "password", "authorization", "cookie", "private_key")
MASK = "***"

_HANDLER_MARK = "_shiptrace_handler"


def new_request_id(prefix: str | None = None) -> str:
    """Start a request (a Slack request, a job run): a fresh id for every line it logs."""
    rid = uuid.uuid4().hex[:12]
    value = f"{prefix}-{rid}" if prefix else rid
    request_id.set(value)
    return value


class _RequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class _Chatter(logging.Filter):
    """Drops the two warnings that come at every start or retry and say nothing useful."""

    def filter(self, record: logging.LogRecord) -> bool:
        if hasattr(record, _URLLIB3_RETRY):
            return False
        return not (record.name.startswith("slack_bolt") and record.msg == _BOLT_TOKEN_WARNING)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, then the extras."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": _time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id.get(),
        }
        for key, value in vars(record).items():
            if key in _STANDARD or key.startswith("_") or key in out:
                continue
            out[key] = MASK if _secret(key) else value
        if record.exc_info:
            out["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        elif record.exc_text:
            out["exception"] = record.exc_text
        if record.stack_info:
            out["stack"] = record.stack_info
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``2026-11-26 10:00:00,123 INFO shiptrace [3f2c1ab9e0d4]: message``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(rid)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None) or request_id.get()
        record.__dict__["rid"] = f" [{rid}]" if rid else ""
        try:
            return super().format(record)
        finally:
            del record.__dict__["rid"]


class _Stderr(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is when a line is written (tests capture it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure(fmt: str = "text", level: str = "INFO") -> logging.Handler:
    """Log to stderr as ``fmt`` (``text`` | ``json``) at ``level``; calling it again replaces
    what it set up before. Returns the handler it installed."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    handler = _Stderr()
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(JsonFormatter() if fmt.lower() == "json" else TextFormatter())
    handler.addFilter(_RequestId())
    handler.addFilter(_Chatter())
    root.addHandler(handler)
    logging.captureWarnings(True)  # a Python warning is a log line too (JSON stays JSON)
    numeric = logging.getLevelName(level.upper())
    root.setLevel(numeric if isinstance(numeric, int) else logging.INFO)
    quiet = max(logging.WARNING, root.level)
    for name in QUIET:
        logging.getLogger(name).setLevel(quiet)
    # Bolt gives the loggers it makes the root's level of the moment: those made before now
    # take the library's level again.
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and name.startswith(tuple(f"{q}." for q in QUIET)):
            logger.setLevel(logging.NOTSET)
    return handler


def _time(created: float) -> str:
    moment = datetime.fromtimestamp(created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _secret(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)

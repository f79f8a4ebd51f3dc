"""The ``shiptrace`` command.

Exit codes of ``where`` (DESIGN §4): 0 resolved (even when stages failed or a source was
unreadable), 2 bad input or config, 3 the change does not exist, 4 GitHub unreachable or auth
refused; with ``--otlp``, a collector that does not take the trace is one warning on stderr,
not an exit code. ``drift``: 0 no drift, 1 drift found, 2 bad config, 4 no drift found but
some environment could not be checked. ``digest``: 0 built (what could not be read is said first),
2 bad config or an unknown --channel, 4 GitHub could not be read at all (nothing is printed
or posted). No answer within ``--timeout`` is 4 as well. Every ``--help`` ends with its
command's codes. Errors are one line on stderr, never a traceback.

The habits of kubectl, argocd and flux: ``-o/--output`` picks a renderer from a table per
command (``WHERE_OUTPUTS``, ...), ``--kubeconfig`` wins over ``KUBECONFIG``, ``--timeout``
bounds the whole answer, and a progress line shows on stderr when it is a terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import math
import os
import sys
import textwrap
import time
import uuid
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot import __version__
from bot.errors import BadInput, ConfigError, GitHubUnavailable, ShiptraceError, SourceError
from bot.refs import USAGE, parse_ref
from bot.render.documents import as_json, as_yaml
from bot.render.json import render_json, trace_dict
from bot.render.text import progress_text, render_text
from bot.timefmt import format_time, utcnow

# Each command imports what it uses when it runs: `--help` (and the parser) need none of the
# clients, Slack's libraries, the scheduler, the database or the chart.
if TYPE_CHECKING:
    from bot.config import ServiceMap, Settings
    from bot.digest.records import Digest
    from bot.drift.findings import Finding, Unchecked
    from bot.export.otlp import ExportResult
    from bot.export.spans import SpanRecord
    from bot.model import Trace
    from bot.sources.cluster import Clusters


def _later(module: str, name: str) -> Callable[..., Any]:
    """``module.name``, imported when first called (the output tables name them)."""

    def call(*args: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args)

    return call


finding_dict = _later("bot.drift.findings", "finding_dict")
digest_dict = _later("bot.render.digest", "digest_dict")
digest_text = _later("bot.render.digest", "digest_text")

log = logging.getLogger("shiptrace")

# -o/--output of each command: a renderer by name (the first is the default).
WHERE_OUTPUTS: dict[str, Callable[[Trace], str]] = {
    "text": render_text,
    "json": render_json,  # the JSON trace contract
    "yaml": lambda trace: as_yaml(trace_dict(trace)),  # the same contract as YAML
}
DRIFT_OUTPUTS: dict[str, Callable[[list[Finding]], str]] = {
    "text": lambda findings: "\n".join(finding_line(f) for f in findings),
    "json": lambda findings: json.dumps([finding_dict(f) for f in findings], indent=2),
    "yaml": lambda findings: as_yaml([finding_dict(f) for f in findings]),
}
DIGEST_OUTPUTS: dict[str, Callable[[Digest], str]] = {
    "text": digest_text,
    "json": lambda digest: as_json(digest_dict(digest)),
    "yaml": lambda digest: as_yaml(digest_dict(digest)),
}

TIMEOUT_CODE = "or no answer within --timeout"
EXIT_CODES: dict[str, dict[int, str]] = {
    "shiptrace": {
        0: "answered (see each command's --help)",
        1: "a check found a problem (drift, doctor), or the demo did not get through",
        2: "bad input or bad configuration",
        3: "the change does not exist",
        4: f"GitHub unreachable or refusing the credentials, {TIMEOUT_CODE}",
    },
    "where": {
        0: "resolved, even when stages failed or a source could not be read (the errors say which)",
        2: "bad input or bad configuration",
        3: "the change does not exist",
        4: "GitHub unreachable, answering 5xx, refusing the credentials or rate-limited, "
        f"{TIMEOUT_CODE}",
    },
    "drift": {
        0: "no drift, and every environment was checked",
        1: "drift found",
        2: "bad configuration",
        4: f"no drift found, but some environment could not be checked, {TIMEOUT_CODE}",
    },
    "digest": {
        0: "printed or posted (what could not be read is said first)",
        2: "bad configuration, an unknown --channel, or Slack refused the post",
        4: f"GitHub could not be read at all, {TIMEOUT_CODE} (nothing printed or posted)",
    },
    "doctor": {
        0: "every check passed",
        1: "some check failed (each ✗ says what to fix)",
        2: "bad usage or bad configuration",
    },
    "demo": {
        0: "the change reached production and the drift incident opened and resolved "
        "(with --serve: stopped cleanly)",
        1: "the walk-through did not get there (stderr says where it stopped)",
    },
    "serve": {
        0: "stopped cleanly (SIGTERM or SIGINT)",
        2: "bad configuration, a refused Slack token, or the address in use",
    },
}


def exit_codes(codes: dict[int, str]) -> str:
    """The end of a command's --help: its exit codes, one per line."""
    lines = ["exit codes:"]
    for code, meaning in codes.items():
        lines += textwrap.wrap(meaning, 78, initial_indent=f"  {code}  ", subsequent_indent=" " * 5)
    return "\n".join(lines)


DRIFT_HELP = """\
Scan every environment of every configured service once and print what drifts, one line
per finding: "service/environment: subject: what — since <time or unknown>". No grace
period: a drift that began a moment ago shows up too (a rollout in progress does not,
until its controller gives up). Environments that could not be checked (a
cluster unreachable, a kind forbidden) are named on stderr."""

DIGEST_HELP = """\
The delivery digest since the channel's last digest (else the last 24 h): merged PRs and
where they are, stuck changes, drift incidents, DORA figures. Without --channel it covers
every service; --post posts it to the channel (recorded, so the scheduled digest continues
from it)."""

SERVE_HELP = """\
Run the Slack bot: HTTP on /slack/events, or Socket Mode when SLACK_APP_TOKEN is set;
/healthz, /readyz and /metrics either way."""


DOCTOR_HELP = """\
Check that everything the bot needs is in place, and print one row per check, ✓ or ✗, with a
fix for each ✗: the config; Slack (the bot token and its scopes, Socket Mode or the signing
secret); GitHub (the token or GitHub App, the rate limit left, each configured repo); each
kubeconfig context (reachable, allowed to get and list what the bot reads, the CRDs the
configured kinds need, every configured GitOps object and workload found)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shiptrace",
        description="Where is this change in its delivery? CI, GitOps, sync and rollout.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=exit_codes(EXIT_CODES["shiptrace"]),
    )
    parser.add_argument("--version", action="version", version=f"shiptrace {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    where = sub.add_parser(
        "where",
        help="trace one PR or commit",
        description=USAGE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=exit_codes(EXIT_CODES["where"]),
    )
    where.add_argument(
        "ref",
        metavar="REF",
        help="owner/repo#123, #123, a PR URL, owner/repo@sha, a SHA or a commit URL",
    )
    where.add_argument(
        "--config", type=Path, help="service map (default: $SHIPTRACE_CONFIG or shiptrace.yaml)"
    )
    add_output(
        where,
        [*WHERE_OUTPUTS, "html", "otlp-json"],
        "text, json (the trace contract), yaml (the same), html (the timeline page, one "
        "standalone file: shiptrace where REF -o html > change.html) or otlp-json (the trace's "
        "finished spans as an OTLP/JSON export request)",
    )
    where.add_argument(
        "--otlp",
        action="store_true",
        help="also export the trace's finished spans to the OpenTelemetry collector the "
        "OTEL_EXPORTER_OTLP_* environment names (default http://localhost:4318)",
    )
    add_kubeconfig(where)
    add_timeout(where)

    drift = sub.add_parser(
        "drift",
        help="print the drift found now, once",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=DRIFT_HELP,
        epilog=exit_codes(EXIT_CODES["drift"]),
    )
    drift.add_argument(
        "--config", type=Path, help="service map (default: $SHIPTRACE_CONFIG or shiptrace.yaml)"
    )
    add_output(drift, DRIFT_OUTPUTS, "text (one line per finding), json or yaml (one list)")
    add_kubeconfig(drift)
    add_timeout(drift)

    digest = sub.add_parser(
        "digest",
        help="print (or post) the delivery digest",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=DIGEST_HELP,
        epilog=exit_codes(EXIT_CODES["digest"]),
    )
    digest.add_argument(
        "--config", type=Path, help="service map (default: $SHIPTRACE_CONFIG or shiptrace.yaml)"
    )
    digest.add_argument("--channel", help="the Slack channel id whose services and window to use")
    digest.add_argument("--post", action="store_true", help="post it to --channel")
    add_output(digest, DIGEST_OUTPUTS, "text, json or yaml (the digest's record)", default=None)
    add_kubeconfig(digest)
    add_timeout(digest, "seconds to build the digest in at most (the post is not cut short)")

    doctor = sub.add_parser(
        "doctor",
        help="check the config, Slack, GitHub and every cluster the bot reads",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=DOCTOR_HELP,
        epilog=exit_codes(EXIT_CODES["doctor"]),
    )
    doctor.add_argument(
        "--config", type=Path, help="service map (default: $SHIPTRACE_CONFIG or shiptrace.yaml)"
    )
    doctor.add_argument(
        "--json", action="store_true", help="print one JSON list of {check, ok, detail, hint}"
    )

    serve = sub.add_parser(
        "serve",
        help="run the Slack bot",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=SERVE_HELP,
        epilog=exit_codes(EXIT_CODES["serve"]),
    )
    serve.add_argument(
        "--config", type=Path, help="service map (default: $SHIPTRACE_CONFIG or shiptrace.yaml)"
    )
    serve.add_argument("--host", help="address to listen on (default: $SHIPTRACE_HOST or 0.0.0.0)")
    serve.add_argument(
        "--port", type=_port, help="port to listen on (default: $SHIPTRACE_PORT or 3000)"
    )
    demo = sub.add_parser(
        "demo",
        help="see it work: one change traced on local emulators, no accounts",
        description="Walk one change (acme/shop#412) from merge through CI, Argo CD in staging "
        "and Flux in production, then a drift incident and the daily digest: the real bot "
        "against emulators of GitHub, Kubernetes and Slack on 127.0.0.1. No network, no "
        "accounts, no config. Exit 0 when the change reached production and the incident "
        "opened and resolved, else 1.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=exit_codes(EXIT_CODES["demo"]),
    )
    demo.add_argument(
        "--serve",
        action="store_true",
        help="keep the sandbox running (the change live everywhere) and print its environment "
        "for shiptrace in another terminal; Ctrl-C stops it",
    )
    return parser


def add_output(
    parser: argparse.ArgumentParser,
    outputs: Collection[str],
    what: str,
    default: str | None = "text",
) -> None:
    """``-o/--output NAME`` from the command's renderer table; ``--json`` stays as ``-o json``."""
    parser.add_argument(
        "-o",
        "--output",
        choices=list(outputs),
        default=default,
        metavar="|".join(outputs),
        help=f"how to print the answer: {what} (default: text)",
    )
    parser.add_argument(
        "--json", action="store_const", dest="output", const="json", help="same as -o json"
    )


def add_kubeconfig(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        metavar="PATH",
        help="the kubeconfig file to use, instead of $KUBECONFIG (or ~/.kube/config)",
    )


def add_timeout(
    parser: argparse.ArgumentParser,
    help: str = "seconds to answer in at most (default: no limit but GitHub's and the "
    "clusters' own timeouts)",
) -> None:
    parser.add_argument("--timeout", type=_seconds, metavar="SECONDS", help=help)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds (more than 0)")
    return value


def _kubeconfig(path: Path | None) -> str | None:
    """``--kubeconfig`` names one file, as kubectl's does: one that is not there is bad input."""
    if path is None:
        return None
    if not path.exists():
        raise ConfigError(f"--kubeconfig {path}: no such file")
    if not path.is_file():
        raise ConfigError(f"--kubeconfig {path}: not a file")
    return str(path)


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port (0-65535)")
    return int(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":  # its own settings: nothing from this environment
            from bot import demo  # the sandbox loads only for the demo

            return demo.main(serve=args.serve)
        from bot.config import load_service_map, load_settings
        from bot.observe.logging import configure as configure_logging

        settings = load_settings()
        configure_logging(settings.shiptrace_log_format, settings.shiptrace_log_level)
        if args.command == "where":
            # Everything but a link's host, before anything is opened: a typo costs nothing.
            parse_ref(args.ref, None)
            services = load_service_map(args.config or settings.shiptrace_config)
            args.kubeconfig = _kubeconfig(args.kubeconfig)
            return asyncio.run(_where(settings, services, args))
        if args.command == "drift":
            services = load_service_map(args.config or settings.shiptrace_config)
            args.kubeconfig = _kubeconfig(args.kubeconfig)
            return asyncio.run(_drift(settings, services, args))
        if args.command == "digest":
            config = args.config or settings.shiptrace_config
            services = load_service_map(config)
            if args.post and not args.channel:
                parser.error("digest --post needs --channel (the Slack channel id to post to)")
            if args.post and args.output is not None:
                parser.error("digest --post posts the digest; -o is for printing it")
            if args.channel is not None and args.channel not in services.slack.channels:
                known = ", ".join(services.slack.channels) or "none"
                raise ConfigError(
                    f"--channel {args.channel}: no such channel under slack.channels in "
                    f"{config} (configured: {known})"
                )
            args.kubeconfig = _kubeconfig(args.kubeconfig)
            return asyncio.run(_digest(settings, services, args))
        if args.command == "doctor":
            from bot.doctor.run import run_doctor

            return asyncio.run(
                run_doctor(settings, args.config or settings.shiptrace_config, args.json)
            )
        if args.command == "serve":
            from bot.app import serve

            services = load_service_map(args.config or settings.shiptrace_config)
            host = args.host or settings.shiptrace_host
            port = settings.shiptrace_port if args.port is None else args.port
            asyncio.run(serve(settings, services, host, port))
            return 0
    except ShiptraceError as exc:
        print(f"shiptrace: {exc.message}", file=sys.stderr)
        if isinstance(exc, BadInput):
            print(USAGE, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception:
        error_id = uuid.uuid4().hex[:8]
        log.debug("unexpected error %s", error_id, exc_info=True)
        print(
            f"shiptrace: internal error {error_id}; rerun with SHIPTRACE_LOG_LEVEL=DEBUG "
            "and report it",
            file=sys.stderr,
        )
        return 1
    parser.error(f"unknown command {args.command}")


async def _where(settings: Settings, services: ServiceMap, args: argparse.Namespace) -> int:
    from bot.drift.store import Incidents
    from bot.engine import open_engine
    from bot.export.follow import change_spans
    from bot.export.otlp import SpanSink, otlp_json
    from bot.web.pages import page_html

    # A bad OTEL_* setting is exit 2 before any look-up.
    sink = SpanSink() if args.otlp else None
    exporting = sink is not None or args.output == "otlp-json"
    try:
        async with (
            bounded(args.timeout),
            open_engine(settings, services, kubeconfig=args.kubeconfig) as engine,
            Progress(engine.clusters, github=True),
        ):
            ref = await engine.web.parse(args.ref)
            trace = await engine.tracer.trace(ref)
            spans = change_spans(trace, engine.store, utcnow()) if exporting else []
            # The page with the drift incidents this database knows.
            html = (
                page_html(trace, Incidents(engine.store), utcnow()) if args.output == "html" else ""
            )
        if args.output == "otlp-json":
            print(json.dumps(otlp_json(spans), indent=2))
        elif args.output == "html":
            print(html, end="")
        else:
            print(WHERE_OUTPUTS[args.output](trace))
        if sink is not None:  # after the answer: a slow collector never holds it up
            _exported(trace, spans, await sink.export_async(spans))
    finally:
        if sink is not None:
            sink.shutdown()
    return 0


def _exported(trace: Trace, spans: list[SpanRecord], result: ExportResult) -> None:
    """One line on stderr saying what went where (a failure was logged by the sink)."""
    from bot.export.otlp import endpoint_from_env
    from bot.export.spans import trace_id_for

    if not result.ok:
        return
    trace_id = f"{trace_id_for(trace.change.repo, trace.change.sha):032x}"
    if not spans:
        print(
            f"shiptrace: nothing to export yet: no stage of {trace.change.requested} has ended",
            file=sys.stderr,
        )
    elif not result.keys:
        print("shiptrace: nothing exported: OTEL_SDK_DISABLED is true", file=sys.stderr)
    else:
        print(
            f"shiptrace: exported {len(result.keys)} spans of trace {trace_id} "
            f"to {endpoint_from_env()}",
            file=sys.stderr,
        )


async def _drift(settings: Settings, services: ServiceMap, args: argparse.Namespace) -> int:
    # Only the clusters are read: no database, no GitHub (cron-friendly).
    from bot.drift.scan import scan
    from bot.engine import open_clusters

    clusters = open_clusters(settings, args.kubeconfig)
    try:
        async with bounded(args.timeout), Progress(clusters, github=False):
            findings, unchecked = await scan(clusters, services)
    finally:
        clusters.close()
    text = DRIFT_OUTPUTS[args.output](findings)
    if text:  # no line at all when nothing drifts
        print(text)
    for u in unchecked:
        print(unchecked_line(u), file=sys.stderr)
    if findings:
        return 1
    return 4 if unchecked else 0


async def _digest(settings: Settings, services: ServiceMap, args: argparse.Namespace) -> int:
    from slack_sdk.errors import SlackApiError

    from bot.app import slack_client
    from bot.digest.gather import DigestBuilder
    from bot.digest.store import Deliveries
    from bot.drift.store import Incidents
    from bot.engine import open_engine
    from bot.web.links import links_from_settings
    from handlers.deps import no_timeline
    from handlers.jobs.digest import DigestJob

    channel: str | None = args.channel
    async with open_engine(settings, services, kubeconfig=args.kubeconfig) as engine:
        deliveries = Deliveries(engine.store)
        builder = DigestBuilder(
            engine.github,
            engine.tracer,
            services,
            deliveries,
            Incidents(engine.store),
            utcnow,
        )
        now = utcnow()
        start = deliveries.window_start(channel, now)
        if not args.post:
            async with bounded(args.timeout), Progress(engine.clusters, github=True):
                digest = await builder.build(channel, start, now)
            _check_built(digest)
            print(DIGEST_OUTPUTS[args.output or "text"](digest))
            return 0
        assert channel is not None
        client = slack_client(settings)  # a missing or malformed token fails before any work
        timeline = links_from_settings(settings, services, utcnow) or no_timeline  # as serve's
        job = DigestJob(
            client, builder, deliveries, [channel], services.slack.digest, utcnow, timeline
        )
        async with bounded(args.timeout), Progress(engine.clusters, github=True):
            digest = await builder.build(channel, start, now)
        _check_built(digest)
        deliveries.digest_intent(channel, start, now, late=False)  # before posting, as serve does
        try:
            ts = await job.send(channel, digest, now, posted=job.record_posted)
        except SlackApiError as exc:
            raise ConfigError(
                f"Slack refused the digest in {channel} ({exc.response.get('error')}); "
                "invite the bot to the channel (/invite @shiptrace) and check its scopes"
            ) from None
        print(f"shiptrace: digest posted in {channel} (ts {ts})", file=sys.stderr)
        return 0


# Set when --timeout gave up on requests still running in worker threads (which nothing can
# stop): ``run`` then leaves without waiting for them to time out on their own.
_abandoned = False


@asynccontextmanager
async def bounded(seconds: float | None) -> AsyncIterator[None]:
    """The whole answer within ``seconds`` (``--timeout``), else exit 4."""
    global _abandoned
    if seconds is None:
        yield
        return
    try:
        async with asyncio.timeout(seconds) as scope:
            yield
    except TimeoutError:
        if not scope.expired():
            raise
        _abandoned = True
        raise SourceError(
            f"no answer within {seconds:g} s (GitHub or a cluster is slow); "
            "try again, or with a longer --timeout"
        ) from None


class Progress:
    """What is being read, on one stderr line rewritten in place while an answer is read.

    Only when stderr is a terminal: never in a pipe, a log file or a test's captured output.
    The line is erased before the answer (or an error) is printed.
    """

    INTERVAL = 0.1  # seconds between looks at what is being read
    ERASE = "\r\x1b[K"  # back to the start of the line, then clear it

    def __init__(self, clusters: Clusters, *, github: bool, stream: TextIO | None = None) -> None:
        self.clusters = clusters
        self.github = github
        self.stream = stream or sys.stderr
        self._task: asyncio.Task[None] | None = None
        self._shown = ""
        self._started = 0.0

    async def __aenter__(self) -> Progress:
        if _is_terminal(self.stream):
            self._started = time.monotonic()
            self._show()
            self._task = asyncio.create_task(self._tick())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()  # it is asleep: it writes nothing more
            self.stream.write(self.ERASE)
            self.stream.flush()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.INTERVAL)
            self._show()

    def _show(self) -> None:
        text = progress_text(
            github=self.github,
            clusters=self.clusters.opened,
            elapsed=time.monotonic() - self._started,
        )
        text = text[: _columns(self.stream) - 1]  # a wrapped line could not be rewritten
        if text != self._shown:
            self.stream.write(self.ERASE + text)
            self.stream.flush()
            self._shown = text


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no such method, or closed
        return False


def _columns(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def _check_built(digest: Digest) -> None:
    """With GitHub unreadable there is no digest, only a guess: exit 4, as ``where`` does."""
    why = digest.unreadable
    if why is not None:
        raise GitHubUnavailable(f"no digest: GitHub could not be read ({why})")


def finding_line(f: Finding) -> str:
    return f"{f.key}: {f.subject}: {f.summary} — since {format_time(f.since) or 'unknown'}"


def unchecked_line(u: Unchecked) -> str:
    return f"shiptrace: could not check {u.service}/{u.environment}: {u.message}"


def run() -> None:
    code = main()
    if _abandoned:
        # The answer is given; requests cut short by --timeout still hold worker threads,
        # which a normal exit would wait for. Nothing else is pending: leave now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()

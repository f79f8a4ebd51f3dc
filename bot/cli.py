"""The ``shiptrace`` command.

Exit codes of ``where`` (DESIGN §4): 0 resolved (even when stages failed or a source was
unreadable), 2 bad input or config, 3 the change does not exist, 4 GitHub unreachable or auth
refused. ``drift``: 0 no drift, 1 drift found, 2 bad config, 4 no drift found but some
environment could not be checked. ``digest``: 0 built (what could not be read is said first),
2 bad config or an unknown --channel, 4 GitHub could not be read at all (nothing is printed
or posted). Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from slack_sdk.errors import SlackApiError

from bot import __version__
from bot.app import serve, slack_client
from bot.config import ServiceMap, Settings, load_service_map, load_settings
from bot.digest.gather import DigestBuilder
from bot.digest.records import Digest
from bot.digest.store import Deliveries
from bot.drift.findings import Finding, Unchecked, finding_dict
from bot.drift.scan import scan
from bot.drift.store import Incidents
from bot.engine import open_clusters, open_engine
from bot.errors import BadInput, ConfigError, GitHubUnavailable, ShiptraceError
from bot.refs import USAGE, parse_ref
from bot.render.digest import digest_text
from bot.render.json import render_json
from bot.render.text import render_text
from bot.timefmt import format_time, utcnow
from bot.web.links import links_from_settings
from bot.web.pages import page_html
from handlers.deps import no_timeline
from handlers.jobs.digest import DigestJob

log = logging.getLogger("shiptrace")


OUTPUTS = ("text", "json", "html")

DRIFT_HELP = """\
Scan every environment of every configured service once and print what drifts, one line
per finding: "service/environment: subject: what — since <time or unknown>". No grace
period: a drift that began a moment ago shows up too (a rollout in progress does not,
until its controller gives up). Environments that could not be checked (a
cluster unreachable, a kind forbidden) are named on stderr.

exit status: 0 no drift, 1 drift found, 2 bad config, 4 no drift found but some
environment could not be checked"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shiptrace",
        description="Where is this change in its delivery? CI, GitOps, sync and rollout.",
    )
    parser.add_argument("--version", action="version", version=f"shiptrace {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    where = sub.add_parser("where", help="trace one PR or commit", description=USAGE)
    where.add_argument(
        "ref",
        metavar="REF",
        help="owner/repo#123, #123, a PR URL, owner/repo@sha, a SHA or a commit URL",
    )
    where.add_argument(
        "--config", type=Path, help="service map (default: $SHIPTRACE_CONFIG or shiptrace.yaml)"
    )
    where.add_argument(
        "-o",
        "--output",
        choices=OUTPUTS,
        default="text",
        help="text (default), json (the trace contract) or html (the timeline page, one "
        "standalone file: shiptrace where REF -o html > change.html)",
    )
    where.add_argument("--json", action="store_true", help="the same as -o json")

    drift = sub.add_parser(
        "drift",
        help="print the drift found now, once",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=DRIFT_HELP,
    )
    drift.add_argument(
        "--config", type=Path, help="service map (default: $SHIPTRACE_CONFIG or shiptrace.yaml)"
    )
    drift.add_argument(
        "--json", action="store_true", help="print one JSON list of findings instead of lines"
    )

    digest = sub.add_parser(
        "digest",
        help="print (or post) the delivery digest",
        description="The delivery digest since the channel's last digest (else the last 24 h): "
        "merged PRs and where they are, stuck changes, drift incidents, DORA figures. Without "
        "--channel it covers every service; --post posts it to the channel (recorded, so the "
        "scheduled digest continues from it).",
    )
    digest.add_argument(
        "--config", type=Path, help="service map (default: $SHIPTRACE_CONFIG or shiptrace.yaml)"
    )
    digest.add_argument("--channel", help="the Slack channel id whose services and window to use")
    digest.add_argument("--post", action="store_true", help="post it to --channel")

    serve = sub.add_parser(
        "serve",
        help="run the Slack bot",
        description="Run the Slack bot: HTTP on /slack/events, or Socket Mode when "
        "SLACK_APP_TOKEN is set; /healthz and /readyz either way.",
    )
    serve.add_argument(
        "--config", type=Path, help="service map (default: $SHIPTRACE_CONFIG or shiptrace.yaml)"
    )
    serve.add_argument("--host", help="address to listen on (default: $SHIPTRACE_HOST or 0.0.0.0)")
    serve.add_argument(
        "--port", type=_port, help="port to listen on (default: $SHIPTRACE_PORT or 3000)"
    )
    return parser


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port (0-65535)")
    return int(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        logging.basicConfig(
            level=settings.shiptrace_log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
        if args.command == "where":
            # Everything but a link's host, before anything is opened: a typo costs nothing.
            parse_ref(args.ref, None)
            services = load_service_map(args.config or settings.shiptrace_config)
            output = "json" if args.json else args.output
            return asyncio.run(_where(settings, services, args.ref, output))
        if args.command == "drift":
            services = load_service_map(args.config or settings.shiptrace_config)
            return asyncio.run(_drift(settings, services, args.json))
        if args.command == "digest":
            config = args.config or settings.shiptrace_config
            services = load_service_map(config)
            if args.post and not args.channel:
                parser.error("digest --post needs --channel (the Slack channel id to post to)")
            if args.channel is not None and args.channel not in services.slack.channels:
                known = ", ".join(services.slack.channels) or "none"
                raise ConfigError(
                    f"--channel {args.channel}: no such channel under slack.channels in "
                    f"{config} (configured: {known})"
                )
            return asyncio.run(_digest(settings, services, args.channel, args.post))
        if args.command == "serve":
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


async def _where(settings: Settings, services: ServiceMap, text: str, output: str) -> int:
    async with open_engine(settings, services) as engine:
        ref = await engine.web.parse(text)
        trace = await engine.tracer.trace(ref)
        if output == "html":  # with the drift incidents this database knows
            print(page_html(trace, Incidents(engine.store), utcnow()), end="")
            return 0
    print(render_json(trace) if output == "json" else render_text(trace))
    return 0


async def _drift(settings: Settings, services: ServiceMap, as_json: bool) -> int:
    # Only the clusters are read: no database, no GitHub (cron-friendly).
    clusters = open_clusters(settings)
    try:
        findings, unchecked = await scan(clusters, services)
    finally:
        clusters.close()
    if as_json:
        print(json.dumps([finding_dict(f) for f in findings], indent=2))
    else:
        for f in findings:
            print(finding_line(f))
    for u in unchecked:
        print(unchecked_line(u), file=sys.stderr)
    if findings:
        return 1
    return 4 if unchecked else 0


async def _digest(settings: Settings, services: ServiceMap, channel: str | None, post: bool) -> int:
    async with open_engine(settings, services) as engine:
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
        if not post:
            digest = await builder.build(channel, start, now)
            _check_built(digest)
            print(digest_text(digest))
            return 0
        assert channel is not None
        client = slack_client(settings)  # a missing or malformed token fails before any work
        timeline = links_from_settings(settings, services, utcnow) or no_timeline  # as serve's
        job = DigestJob(
            client, builder, deliveries, [channel], services.slack.digest, utcnow, timeline
        )
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
    sys.exit(main())


if __name__ == "__main__":
    run()

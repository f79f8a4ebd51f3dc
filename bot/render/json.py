"""The JSON trace contract (DESIGN §4): every key always present, unknown values null."""

from __future__ import annotations

import json
from typing import Any

from bot.model import Item, SourceProblem, Stage, Trace
from bot.timefmt import format_time


def trace_dict(trace: Trace) -> dict[str, Any]:
    c = trace.change
    return {
        "change": {
            "repo": c.repo,
            "pr": c.pr,
            "sha": c.sha,
            "head_sha": c.head_sha,
            "requested": c.requested,
            "title": c.title,
            "author": c.author,
            "url": c.url,
            "state": c.state.value,
            "merged_at": format_time(c.merged_at),
        },
        "service": trace.service,
        "stages": [stage_dict(s) for s in trace.stages],
        "where": trace.where,
        "errors": [error_dict(e) for e in trace.errors],
    }


def stage_dict(stage: Stage) -> dict[str, Any]:
    return {
        "id": stage.id,
        "kind": stage.kind.value,
        "environment": stage.environment,
        "status": stage.status.value,
        "started_at": format_time(stage.started_at),
        "finished_at": format_time(stage.finished_at),
        "url": stage.url,
        "detail": stage.detail,
        "items": [item_dict(i) for i in stage.items],
    }


def item_dict(item: Item) -> dict[str, Any]:
    return {
        "name": item.name,
        "status": item.status.value,
        "conclusion": item.conclusion,
        "url": item.url,
    }


def error_dict(problem: SourceProblem) -> dict[str, Any]:
    return {
        "source": problem.source,
        "environment": problem.environment,
        "message": problem.message,
    }


def render_json(trace: Trace) -> str:
    return json.dumps(trace_dict(trace), ensure_ascii=False, indent=2)

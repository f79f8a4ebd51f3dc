"""The one-shot stage sources, by config key: what reports a change's ``ci`` stage.

GitHub CI (check runs, commit statuses, Actions) is the one source today and is always on.
The Tracer reads every registered source at once and joins the sources that report the same
stage into one (:func:`combined`), so the JSON keeps one ``ci`` stage.

Adding a source (Argo Workflows, Jenkins): write one module here with a class that has
``key``, ``label``, ``stage_id``, ``async observe(ctx)`` (its reads, through the clients in
:class:`StageContext`) and a pure ``stage(observation)``; keep its rules pure and table-tested;
register it in :data:`SOURCES`. Nothing outside its module names the source's endpoints or words.
"""

from __future__ import annotations

from typing import Any

from bot.stages.github_ci import GitHubCI
from bot.stages.source import Observation, StageContext, StageSource, Unreadable, combined

SOURCES: dict[str, StageSource[Any]] = {GitHubCI.key: GitHubCI()}

__all__ = [
    "SOURCES",
    "Observation",
    "StageContext",
    "StageSource",
    "Unreadable",
    "combined",
]

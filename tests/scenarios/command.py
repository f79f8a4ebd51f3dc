"""The ``cli`` fixture's type: ``shiptrace`` run in-process, with what it printed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


class Cli(Protocol):
    """``cli("where", "acme/shop#12")``: the exit code and the captured stdout and stderr."""

    def __call__(self, *args: str) -> Result: ...

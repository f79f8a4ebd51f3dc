"""The CLI's machine-readable answers: the same data as JSON or as YAML. Pure.

YAML is the JSON contract in another syntax (``-o yaml``, as kubectl's): the same keys in the
same order, and every value reads back as the same JSON value — a time or a SHA of digits
stays a string (PyYAML quotes what would otherwise read as another type).
"""

from __future__ import annotations

import json
from typing import Any

import yaml


def as_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


def as_yaml(data: Any) -> str:
    text = yaml.safe_dump(
        data,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=2**31 - 1,  # a long detail stays on one line, as in the JSON
    )
    return text.rstrip("\n")

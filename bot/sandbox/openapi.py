"""Validate response bodies against GitHub's own OpenAPI description.

The reference file (``bot/sandbox/reference/github/rest-openapi-subset.json``) is a subset of
``@octokit/openapi`` with every ``$ref`` already inlined, so each operation's 200 schema is
self-contained. OpenAPI 3.0 marks optional-null values with ``nullable: true``, which JSON
Schema ignores; the schema is converted before use, otherwise every ``null`` GitHub really
sends would fail (GitHub's own README for the description, "Validating a body").
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match

SPEC_PATH = Path(__file__).resolve().parent / "reference" / "github" / "rest-openapi-subset.json"

# Keys whose values are subschemas. Everything else (``example``, ``default``, ``enum``…) is
# data and must not be rewritten, or a ``nullable`` key inside an example would be dropped.
_SUBSCHEMA_MAPS = ("properties", "patternProperties")
_SUBSCHEMA_KEYS = ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf")
_MAX_REPORTED = 5


class ResponseValidationError(AssertionError):
    """A response body does not match the operation's 200 schema.

    An ``AssertionError`` so that pytest reports it as a test failure, not as an error in the
    test's setup.
    """

    def __init__(self, operation_id: str, path_template: str, errors: list[ValidationError]):
        self.operation_id = operation_id
        self.path_template = path_template
        self.errors = errors
        first = errors[0]
        self.json_path = first.json_path
        self.reason = first.message
        lines = [
            f"GET {path_template} ({operation_id}): 200 body does not match the schema: "
            f"{len(errors)} error(s)"
        ]
        for err in errors[:_MAX_REPORTED]:
            lines.append(f"  at {err.json_path}: {_short(err.message)}")
        if len(errors) > _MAX_REPORTED:
            lines.append(f"  … and {len(errors) - _MAX_REPORTED} more")
        super().__init__("\n".join(lines))


def _short(message: str, limit: int = 300) -> str:
    # Messages quote the failing instance, which can be a whole repository object.
    return message if len(message) <= limit else message[:limit] + "…"


def to_json_schema(schema: Any) -> Any:
    """Convert OpenAPI 3.0 ``nullable`` into plain JSON Schema (README step 3)."""
    if isinstance(schema, list):
        return [to_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SUBSCHEMA_MAPS:
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in _SUBSCHEMA_KEYS:
            out[key] = to_json_schema(value)
        elif key != "nullable":
            out[key] = value
    if schema.get("nullable"):
        # Some nullable enums (check-run.conclusion, job.conclusion…) omit null.
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        if "type" in out:
            out["type"] = [out["type"], "null"]
        elif any(k in out for k in ("allOf", "anyOf", "oneOf")):
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def _spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as fh:
        spec: dict[str, Any] = json.load(fh)
    return spec


def path_templates() -> list[str]:
    """The templated paths the reference subset describes (GET only)."""
    return sorted(_spec()["paths"])


def operation_id(path_template: str) -> str:
    return str(_operation(path_template)["operationId"])


def _operation(path_template: str) -> dict[str, Any]:
    try:
        op: dict[str, Any] = _spec()["paths"][path_template]["get"]
    except KeyError:
        raise KeyError(
            f"{path_template!r} is not in {SPEC_PATH.name}; known paths: {path_templates()}"
        ) from None
    return op


def response_schema(path_template: str, status: str = "200") -> dict[str, Any]:
    """The converted JSON Schema of an operation's ``application/json`` response."""
    return _converted(path_template, status)


@cache
def _converted(path_template: str, status: str) -> dict[str, Any]:
    media = _operation(path_template)["responses"][status]["content"]["application/json"]
    schema: dict[str, Any] = to_json_schema(media["schema"])
    return schema


@cache
def _validator(path_template: str) -> Draft202012Validator:
    # Compiling the schema for a pull request takes tens of milliseconds; do it once.
    schema = _converted(path_template, "200")
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def validate_response(path_template: str, body: Any) -> None:
    """Raise ``ResponseValidationError`` if ``body`` is not a valid 200 body for the operation.

    ``path_template`` is the literal templated path, e.g.
    ``/repos/{owner}/{repo}/pulls/{pull_number}``.
    """
    validator = _validator(path_template)
    errors = list(validator.iter_errors(body))
    if not errors:
        return
    # For oneOf/anyOf failures the top-level error only says "not valid under any of the
    # given schemas"; best_match descends into error.context to the likely real cause.
    reported = [best_match([err]) or err for err in errors]
    reported.sort(key=lambda e: e.json_path)
    raise ResponseValidationError(operation_id(path_template), path_template, reported)

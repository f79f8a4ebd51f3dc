"""Trace export: a trace as OpenTelemetry spans (``spans``, pure), their export (``otlp``),
and ``serve``'s job following merged PRs (``follow``) with what it sent (``store``)."""

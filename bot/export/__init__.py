"""Trace export: a trace as OpenTelemetry spans (``spans``, pure) and their export (``otlp``)."""

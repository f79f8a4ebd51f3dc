"""Renderings of a trace: JSON (the public contract), terminal text and Block Kit. Pure."""

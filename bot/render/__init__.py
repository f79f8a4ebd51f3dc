"""Renderings of a trace: JSON (the public contract), terminal text, Block Kit and the timeline
page (HTML with inline SVG: `timeline` lays it out, `html` draws it). Pure."""

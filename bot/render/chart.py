"""The lead-time chart attached to the daily digest: a PNG. Pure (bytes out, no files).

Uses matplotlib's object API with the Agg canvas, never pyplot: no global figure state, no GUI
backend, safe to call from any thread.
"""

from __future__ import annotations

import statistics
from datetime import timedelta
from io import BytesIO

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

WIDTH_IN = 8.0
ROW_IN = 0.4  # per change
MARGIN_IN = 1.5  # title, axis label, legend
DPI = 100
MAX_LABEL = 40
MAX_TITLE = 50
BAR = "#4c78a8"
MEDIAN = "#e45756"


def lead_time_chart(lead_times: list[tuple[str, timedelta]], title: str) -> bytes:
    """Horizontal bars, one per change (first on top), of its lead time in hours, with the
    median as a dashed line. 800 px wide and (0.4 × changes + 1.5) × 100 px high."""
    fig = Figure(figsize=(WIDTH_IN, ROW_IN * len(lead_times) + MARGIN_IN), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    hours = [lead.total_seconds() / 3600 for _, lead in lead_times]
    rows = list(range(len(lead_times)))
    bars = ax.barh(rows, hours, color=BAR)
    # parse_math=False: a '$' in a ref or title is text, not the start of a formula.
    ax.set_yticks(rows, [_label(ref) for ref, _ in lead_times], parse_math=False)
    ax.set_ylim(max(len(rows), 1) - 0.5, -0.5)  # first change on top, no empty rows
    ax.bar_label(bars, fmt="{:.1f} h", padding=3, fontsize="small")
    if hours:
        mid = statistics.median(hours)
        ax.axvline(mid, color=MEDIAN, linestyle="--", label=f"median {mid:.1f} h")
        fig.legend(loc="outside lower right", fontsize="small", frameon=False)
    else:
        ax.text(0.5, 0.5, "no change went live", transform=ax.transAxes, ha="center", va="center")
    ax.set_xlim(left=min([0.0, *hours]) * 1.15, right=max([1.0, *hours]) * 1.15)
    ax.set_xlabel("lead time, merge → live in the last environment (hours)")
    fig.suptitle(_label(title, MAX_TITLE), fontsize="medium", parse_math=False)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    fig.set_layout_engine("constrained")
    out = BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def _label(text: str, limit: int = MAX_LABEL) -> str:
    """One line, control characters dropped, cut to `limit` characters."""
    flat = " ".join("".join(ch for ch in text if ch.isprintable() or ch.isspace()).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"

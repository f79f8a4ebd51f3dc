"""The lead-time chart (bot.render.chart): a PNG whose size follows the number of changes."""

from __future__ import annotations

import struct
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.render.chart import lead_time_chart

PNG = b"\x89PNG\r\n\x1a\n"


def changes(n: int) -> list[tuple[str, timedelta]]:
    return [(f"acme/shop#{i}", timedelta(minutes=37 * i + 5)) for i in range(1, n + 1)]


def size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which always comes first."""
    assert png.startswith(PNG)
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


@pytest.mark.parametrize(("n", "height"), [(0, 150), (1, 190), (2, 230), (40, 1750)])
def test_png_of_a_fixed_size(n: int, height: int) -> None:
    png = lead_time_chart(changes(n), "Lead times, acme/shop")
    assert size(png) == (800, height)


def test_grows_with_the_number_of_changes() -> None:
    heights = [size(lead_time_chart(changes(n), "t"))[1] for n in (1, 5, 10, 40)]
    assert heights == sorted(set(heights))


def test_same_input_same_bytes() -> None:
    assert lead_time_chart(changes(5), "t") == lead_time_chart(changes(5), "t")


ODD = [
    "$\\frac$",  # mathtext that does not parse
    "a$b$c",
    "$",
    "<!channel> & <@U1|x>",
    "two\nlines\r\tand a NUL \x00",
    "",
    "x" * 500,
    "acme/shop#12 — rétro ‘quotes’",
]


@pytest.mark.parametrize("ref", ODD)
def test_odd_refs_and_titles_do_not_crash(ref: str) -> None:
    png = lead_time_chart([(ref, timedelta(hours=2)), ("acme/shop#2", timedelta(0))], ref)
    assert size(png) == (800, 230)


@pytest.mark.filterwarnings("ignore:Glyph")  # the default font has no emoji: a box is drawn
def test_characters_missing_from_the_font_do_not_crash() -> None:
    assert lead_time_chart([("🚀 acme/shop#1 漢字", timedelta(hours=1))], "🚀").startswith(PNG)


def test_negative_and_huge_lead_times_do_not_crash() -> None:
    lead_times = [("a#1", timedelta(hours=-3)), ("a#2", timedelta(days=400))]
    assert size(lead_time_chart(lead_times, "t")) == (800, 230)


def test_does_not_touch_pyplot() -> None:
    """No pyplot: no global figure state, no GUI backend chosen behind our back."""
    code = (
        "import sys, datetime; from bot.render.chart import lead_time_chart; "
        "lead_time_chart([('a#1', datetime.timedelta(hours=1))], 't'); "
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])

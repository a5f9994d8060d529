"""A small PNG of per-page bar pairs (tinyweb, SingleFile), one panel per figure, drawn with Pillow."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

TOOLS = {"tinyweb": (52, 101, 164), "SingleFile": (230, 140, 40)}
LABEL_WIDTH, PANEL_WIDTH, PANEL_GAP = 330, 300, 40
ROW_HEIGHT, BAR_HEIGHT, TOP, BOTTOM = 30, 11, 44, 36
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass
class Panel:
    """One figure: a (tinyweb, SingleFile) pair per page, None where the tool failed."""

    title: str
    pairs: list[tuple[float | None, float | None]]
    low: float  # the value at the panel's left edge
    high: float  # the value at 90 % of the panel's width
    label: str  # format of the number written after each bar, e.g. "{:.2f} s"


def write_chart(path: Path, pages: list[str], panels: list[Panel]) -> Path:
    """Draw the page names down the left and each panel to their right; save as PNG at `path`."""
    height = TOP + ROW_HEIGHT * len(pages) + BOTTOM
    image = Image.new("RGB", (LABEL_WIDTH + len(panels) * (PANEL_WIDTH + PANEL_GAP), height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    for row, page in enumerate(pages):
        draw.text((8, TOP + row * ROW_HEIGHT + 7), page[:44], fill="black", font=font)
    for index, panel in enumerate(panels):
        _draw_panel(draw, font, LABEL_WIDTH + index * (PANEL_WIDTH + PANEL_GAP), panel)
    _draw_legend(draw, font, height - BOTTOM + 10)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def _draw_panel(draw: ImageDraw.ImageDraw, font: Font, left: int, panel: Panel) -> None:
    """The panel's title, its left axis, and two bars per page with their values."""
    draw.text((left, 12), panel.title, fill="black", font=font)
    draw.line([(left, TOP - 4), (left, TOP + ROW_HEIGHT * len(panel.pairs))], fill=(150, 150, 150))
    scale = 0.9 * PANEL_WIDTH / (panel.high - panel.low)
    for row, pair in enumerate(panel.pairs):
        for bar, (value, colour) in enumerate(zip(pair, TOOLS.values(), strict=True)):
            top = TOP + row * ROW_HEIGHT + 3 + bar * (BAR_HEIGHT + 2)
            if value is None:
                draw.text((left + 4, top - 2), "failed", fill=colour, font=font)
                continue
            right = left + max(1, min(PANEL_WIDTH, (value - panel.low) * scale))
            draw.rectangle([left, top, right, top + BAR_HEIGHT], fill=colour)
            draw.text((right + 4, top - 2), panel.label.format(value), fill="black", font=font)


def _draw_legend(draw: ImageDraw.ImageDraw, font: Font, top: int) -> None:
    """A colour swatch and name per tool."""
    left = LABEL_WIDTH
    for name, colour in TOOLS.items():
        draw.rectangle([left, top, left + 14, top + 12], fill=colour)
        draw.text((left + 20, top - 1), name, fill="black", font=font)
        left += 140

"""The contact sheet of an evaluation: one row per request, one column per model, the top of each
screenshot with its metrics under it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tinyweb.learn.metrics import PageMetrics

VIEWPORT = (1280, 800)
SHEET_ROWS = 12  # requests on a contact sheet
THUMB_W, THUMB_H = 320, 200  # the top 1280×800 of a screenshot, scaled down 4×
CAPTION_LINES, LINE_H, PAD = 3, 13, 8
CAPTION_H = CAPTION_LINES * LINE_H + 4
CELL_H = THUMB_H + CAPTION_H
HEADER_H = 18


def sheet_size(rows: int, columns: int) -> tuple[int, int]:
    """(width, height) of a contact sheet of `rows` requests and `columns` systems."""
    return columns * THUMB_W + (columns + 1) * PAD, HEADER_H + rows * (CELL_H + PAD) + PAD


def contact_sheet(
    requests: list[str], systems: list[str], cells: dict[str, list[tuple[Path | None, PageMetrics]]]
) -> Any:
    """One row per request, one column per system: the first screen and a caption under it."""
    from PIL import Image, ImageDraw, ImageFont

    sheet = Image.new("RGB", sheet_size(len(requests), len(systems)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for col, name in enumerate(systems):
        draw.text((PAD + col * (THUMB_W + PAD), 4), name, fill="black", font=font)
    for row, request in enumerate(requests):
        top = HEADER_H + PAD + row * (CELL_H + PAD)
        for col, name in enumerate(systems):
            left = PAD + col * (THUMB_W + PAD)
            png, m = cells[name][row]
            sheet.paste(_thumbnail(png), (left, top))
            draw.rectangle((left, top, left + THUMB_W - 1, top + THUMB_H - 1), outline=(160, 160, 160))
            d = m.design
            if d is None:
                figures = "did not render"
            else:
                contrast = "-" if d["contrast_ok"] is None else f"{d['contrast_ok']:.0%}"
                figures = (
                    f"{'BLANK, ' if d['blank'] else ''}ink {d['ink']:.0%}, blocks {d['painted_blocks']}, "
                    f"words {d['page_words']}, contrast {contrast}"
                )
            lines = [request if col == 0 else "", figures, f"{m.new_tokens} tokens, {m.parse_errors} parse errors"]
            for k, line in enumerate(lines):
                draw.text((left, top + THUMB_H + 3 + k * LINE_H), _fit(draw, line, font), fill="black", font=font)
    return sheet


def _thumbnail(png: Path | None) -> Any:
    """The top viewport of a screenshot scaled to the cell, or a grey cell saying it did not render."""
    from PIL import Image, ImageDraw

    scale = THUMB_W / VIEWPORT[0]
    if png is None or not Path(png).is_file():
        cell = Image.new("RGB", (THUMB_W, THUMB_H), (225, 225, 225))
        ImageDraw.Draw(cell).text((8, 8), "not rendered", fill="black")
        return cell
    with Image.open(png) as image:
        top = image.convert("RGB").crop((0, 0, min(image.width, VIEWPORT[0]), min(image.height, VIEWPORT[1])))
    cell = Image.new("RGB", (THUMB_W, THUMB_H), "white")
    size = (max(1, round(top.width * scale)), max(1, round(top.height * scale)))
    cell.paste(top.resize(size, Image.Resampling.LANCZOS), (0, 0))
    return cell


def _fit(draw: Any, text: str, font: Any) -> str:
    """The text cut with an ellipsis to fit one cell's width (ASCII: the default font may lack "…")."""
    if draw.textlength(text, font=font) <= THUMB_W:
        return text
    while text and draw.textlength(text + "...", font=font) > THUMB_W:
        text = text[:-1]
    return text + "..."

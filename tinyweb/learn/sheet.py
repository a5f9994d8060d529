"""The contact sheet of an evaluation: one row per request, one column per model, the top of each
screenshot with its metrics under it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tinyweb.learn.metrics import PageMetrics

MODELS = ("base", "tuned")
VIEWPORT = (1280, 800)
THUMB_W, THUMB_H = 320, 200  # the top 1280×800 of a screenshot, scaled down 4×
CAPTION_LINES, LINE_H, PAD = 4, 13, 8
CAPTION_H = CAPTION_LINES * LINE_H + 4
CELL_H = THUMB_H + CAPTION_H


def sheet_size(rows: int) -> tuple[int, int]:
    """(width, height) of a contact sheet of `rows` requests."""
    return len(MODELS) * THUMB_W + (len(MODELS) + 1) * PAD, rows * (CELL_H + PAD) + PAD


def contact_sheet(prompts: list[str], cells: dict[str, list[tuple[Path | None, PageMetrics]]]) -> Any:
    """One row per request, one column per model: the top of the screenshot and a caption under it."""
    from PIL import Image, ImageDraw, ImageFont

    sheet = Image.new("RGB", sheet_size(len(prompts)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for row, prompt in enumerate(prompts):
        top = PAD + row * (CELL_H + PAD)
        for col, name in enumerate(MODELS):
            left = PAD + col * (THUMB_W + PAD)
            png, m = cells[name][row]
            sheet.paste(_thumbnail(png), (left, top))
            draw.rectangle((left, top, left + THUMB_W - 1, top + THUMB_H - 1), outline=(160, 160, 160))
            validity = "-" if m.class_validity is None else f"{m.class_validity:.2f}"
            lines = [
                prompt,
                f"{name}: {'complete' if m.complete else 'unclosed'}, {m.new_tokens} tokens",
                f"parse errors {m.parse_errors}, classes valid {validity}",
                f"similarity {m.prompt_similarity:.2f}, repetition {m.repetition_rate:.2f}",
            ]
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

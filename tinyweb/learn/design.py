"""What a rendered page looks like, in numbers a person would agree with: the design statistics of its first
screen (1280×800), read from its screenshot and its laid-out DOM.

- `ink`: the share of the first screen's pixels away (any channel by more than 8) from its most common colour.
- `colours`: distinct colours (each channel quantised to 16 levels) that each cover at least 0.1 % of it.
- `painted_blocks`: visible elements covering at least 1 % of it that paint a background, a border, a shadow or
  an image (img, svg, video, canvas, picture).
- `words`: visible words on it; `height`: the page's full height; `landmarks`: visible landmark sections on the
  whole page (header, nav, main's and the body's sections, article, aside, form, footer — each not inside
  another one but main), and whether it has a visible `footer`.
- `contrast_ok`: the share of the first screen's visible characters whose colour has a contrast of at least
  4.5 : 1 (WCAG) with what is drawn behind them: the median of the screenshot's pixels under the text's box
  that are not of the text's own colour (a flat background is itself; a photo, its middle tone). This is what
  catches white text on a white page, which a pixel count alone calls ink-free, not broken.
- `blank`: ink under 2 % on the first screen, or fewer than 20 visible words on the whole page
  (`page_words`; a hero may rightly show fewer on the first screen).
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from PIL import Image

from tinyweb import colour

WIDTH, HEIGHT = 1280, 800
INK_TOLERANCE = 8
TEXT_TOLERANCE = 40  # a pixel this close to the text's colour is the text (anti-aliased edges included)
MIN_COLOUR_SHARE = 0.001
MIN_BLOCK_SHARE = 0.01
BLANK_INK = 0.02
BLANK_WORDS = 20
MIN_CONTRAST = 4.5
MAX_TEXT_BOXES = 600

DOM_JS = """() => {
  const W = innerWidth, H = innerHeight, screen = W * H;
  const LANDMARKS = new Set(['HEADER', 'NAV', 'MAIN', 'SECTION', 'ARTICLE', 'ASIDE', 'FORM', 'FOOTER']);
  const MEDIA = new Set(['IMG', 'SVG', 'VIDEO', 'CANVAS', 'PICTURE']);
  const alpha = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return 0;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean); return p.length > 3 ? parseFloat(p[3]) : 1; };
  const shown = (el) => { const cs = getComputedStyle(el);
    return cs.visibility !== 'hidden' && parseFloat(cs.opacity) > 0.05; };
  let painted = 0, landmarks = 0, footer = false;
  for (const el of document.body ? document.body.querySelectorAll('*') : []) {
    const r = el.getBoundingClientRect();
    if (r.width < 2 || r.height < 2 || !shown(el)) continue;
    const cs = getComputedStyle(el);
    const seen = Math.max(0, Math.min(W, r.right) - Math.max(0, r.left)) *
                 Math.max(0, Math.min(H, r.bottom) - Math.max(0, r.top));
    const border = ['Top', 'Right', 'Bottom', 'Left'].some((s) => parseFloat(cs['border' + s + 'Width']) > 0 &&
      cs['border' + s + 'Style'] !== 'none' && alpha(cs['border' + s + 'Color']) > 0.1);
    const paints = alpha(cs.backgroundColor) > 0.1 || cs.backgroundImage !== 'none' || border ||
      cs.boxShadow !== 'none' || MEDIA.has(el.tagName.toUpperCase());
    if (paints && seen >= 0.01 * screen) painted++;
    if (LANDMARKS.has(el.tagName) && r.height >= 24) {
      let up = el.parentElement, nested = false;
      while (up && up !== document.body) { if (LANDMARKS.has(up.tagName) && up.tagName !== 'MAIN') nested = true;
        up = up.parentElement; }
      if (!nested && el.tagName !== 'MAIN') landmarks++;
      if (el.tagName === 'FOOTER') footer = true;
    }
  }
  const texts = [];
  let words = 0, pageWords = 0;
  const walker = document.createTreeWalker(document.body || document.documentElement, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const value = node.nodeValue.trim();
    const parent = node.parentElement;
    if (!value || !parent || ['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE'].includes(parent.tagName)) continue;
    if (!shown(parent)) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const rects = [...range.getClientRects()].filter((r) => r.width >= 1 && r.height >= 1);
    if (!rects.length) continue;
    const count = value.split(/\\s+/).length;
    pageWords += count;
    const r = rects.find((r) => r.bottom > 0 && r.top < H && r.right > 0 && r.left < W);
    if (!r) continue;
    words += count;
    if (texts.length < MAX_TEXT_BOXES) {
      texts.push({x: r.left, y: r.top, w: r.width, h: r.height, color: getComputedStyle(parent).color,
                  chars: value.length});
    }
  }
  return {painted, landmarks, footer, words, page_words: pageWords, texts,
          height: Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0)};
}""".replace("MAX_TEXT_BOXES", str(MAX_TEXT_BOXES))


@dataclass
class DesignStats:
    ink: float
    colours: int
    painted_blocks: int
    words: int
    page_words: int
    height: int
    landmarks: int
    footer: bool
    contrast_ok: float | None  # None: no text on the first screen
    blank: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _rgba(css: str) -> tuple[float, float, float, float]:
    inside = css[css.index("(") + 1 : css.rindex(")")].replace("/", " ").replace(",", " ").split()
    r, g, b = (float(v) for v in inside[:3])
    return r, g, b, float(inside[3]) if len(inside) > 3 else 1.0


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """The WCAG contrast ratio of two sRGB colours with channels 0–255 (1 to 21)."""
    (r1, g1, b1), (r2, g2, b2) = a, b
    return colour.contrast((r1 / 255, g1 / 255, b1 / 255), (r2 / 255, g2 / 255, b2 / 255))


def _mode(pixels: np.ndarray) -> tuple[int, int, int]:
    flat = pixels.reshape(-1, 3)
    packed = (flat[:, 0].astype(np.int64) << 16) | (flat[:, 1].astype(np.int64) << 8) | flat[:, 2]
    values, counts = np.unique(packed, return_counts=True)
    top = int(values[counts.argmax()])
    return top >> 16, (top >> 8) & 255, top & 255


def _behind(pixels: np.ndarray, text: tuple[float, float, float]) -> tuple[float, float, float]:
    """What is drawn behind text in its box: the median of the pixels not of the text's own colour (a flat
    background is itself; a photo, its middle tone); the text's colour when every pixel is (white on white)."""
    flat = pixels.reshape(-1, 3)
    other = flat[np.abs(flat - np.array(text)).max(axis=1) > TEXT_TOLERANCE]
    if not len(other):
        return text
    r, g, b = np.median(other, axis=0)
    return float(r), float(g), float(b)


def screen_stats(png: bytes, dom: dict[str, Any]) -> DesignStats:
    """The statistics from a first-screen screenshot and what DOM_JS read from the same page."""
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)[:HEIGHT, :WIDTH]
    common = np.array(_mode(image), dtype=np.int16)
    ink = float(np.any(np.abs(image - common) > INK_TOLERANCE, axis=2).mean())
    q = (image.reshape(-1, 3) // 16).astype(np.int64)
    _, counts = np.unique((q[:, 0] << 8) | (q[:, 1] << 4) | q[:, 2], return_counts=True)
    colours = int((counts >= MIN_COLOUR_SHARE * len(q)).sum())
    good = total = 0
    for box in dom["texts"]:
        x0, y0 = max(0, int(box["x"])), max(0, int(box["y"]))
        x1, y1 = min(image.shape[1], int(box["x"] + box["w"]) + 1), min(image.shape[0], int(box["y"] + box["h"]) + 1)
        if x1 <= x0 or y1 <= y0:
            continue
        r, g, b, a = _rgba(box["color"])
        behind = _behind(image[y0:y1, x0:x1], (r, g, b))
        shown = tuple(a * c + (1 - a) * k for c, k in zip((r, g, b), behind, strict=True))
        total += box["chars"]
        good += box["chars"] if contrast(shown, behind) >= MIN_CONTRAST else 0
    words, page_words = int(dom["words"]), int(dom["page_words"])
    return DesignStats(
        ink=round(ink, 4),
        colours=colours,
        painted_blocks=int(dom["painted"]),
        words=words,
        page_words=page_words,
        height=int(dom["height"]),
        landmarks=int(dom["landmarks"]),
        footer=bool(dom["footer"]),
        contrast_ok=round(good / total, 4) if total else None,
        blank=ink < BLANK_INK or page_words < BLANK_WORDS,
    )


async def measure(page: Any) -> DesignStats:
    """The design statistics of a loaded Playwright page (at 1280×800, scrolled to the top)."""
    await page.evaluate("() => window.scrollTo(0, 0)")
    dom = await page.evaluate(DOM_JS)
    png = await page.screenshot(clip={"x": 0, "y": 0, "width": WIDTH, "height": HEIGHT}, animations="disabled")
    return screen_stats(png, dom)

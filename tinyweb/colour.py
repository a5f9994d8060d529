"""Colour, defined once: WCAG relative luminance and contrast of sRGB colours (channels 0–1)."""

from __future__ import annotations

RGB = tuple[float, float, float]


def relative_luminance(rgb: RGB) -> float:
    """WCAG 2's relative luminance of an sRGB colour whose channels are 0–1."""

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: RGB, b: RGB) -> float:
    """The WCAG contrast ratio of two sRGB colours (channels 0–1): 1 to 21."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)

"""Cover images drawn with Pillow: a deterministic, offline picture for any title."""

import hashlib
import io
import textwrap

from PIL import Image, ImageDraw, ImageFont

COVER_SIZE = (1200, 675)

# Pairs of (top, bottom) gradient colours, picked per section or title.
PALETTES = [
    ((18, 52, 86), (42, 157, 143)),
    ((38, 70, 83), (233, 196, 106)),
    ((94, 46, 110), (231, 111, 81)),
    ((29, 53, 87), (168, 218, 220)),
    ((60, 22, 66), (250, 163, 7)),
    ((11, 83, 81), (162, 210, 145)),
    ((84, 19, 42), (240, 128, 128)),
    ((33, 37, 41), (108, 117, 125)),
]


def _palette(key: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return PALETTES[digest[0] % len(PALETTES)]


def cover_render(*, title: str, label: str = "", palette_key: str = "") -> bytes:
    """A JPEG cover: vertical gradient, soft circles seeded by the title, the title."""
    width, height = COVER_SIZE
    top, bottom = _palette(palette_key or label or title)
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(
        Image.new("RGB", (width, height), bottom),
        Image.new("RGB", (width, height), top),
        gradient,
    )
    overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    digest = hashlib.sha256(title.encode("utf-8")).digest()
    for index in range(6):
        x = digest[index * 3] / 255 * width
        y = digest[index * 3 + 1] / 255 * height
        radius = 60 + digest[index * 3 + 2] / 255 * 260
        draw.ellipse(
            (x - radius, y - radius, x + radius, y + radius),
            fill=(255, 255, 255, 28 + index * 4),
        )
    image = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
    draw = ImageDraw.Draw(image)
    title_font = ImageFont.load_default(size=64)
    label_font = ImageFont.load_default(size=30)
    if label:
        draw.text((72, 64), label.upper(), font=label_font, fill=(255, 255, 255))
    lines = textwrap.wrap(title, width=30)[:4]
    y = height - 90 - len(lines) * 78
    for line in lines:
        draw.text((72, y), line, font=title_font, fill=(255, 255, 255))
        y += 78
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=82, optimize=True)
    return buffer.getvalue()

"""Synthetic photos of similar scenes, and the edits a reused photo goes through.

A "stairwell" or a "room" is drawn from a seed: the same structure every time
(steps receding to a vanishing point, a railing; a floor, walls, a window and
a door) with different content (colours, number of steps, objects on the
walls, lighting, sensor noise). Two seeds are two different places that look
alike, the honest hard case for a reused-photo check; an edit of one picture
(resized, recompressed, cropped) is the same place.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw


def _colour(rng: random.Random, low: int = 0, high: int = 256) -> tuple[int, int, int]:
    return (rng.randrange(low, high), rng.randrange(low, high), rng.randrange(low, high))


def _objects(rng: random.Random, draw: ImageDraw.ImageDraw, width: int, height: int) -> None:
    """Signs, extinguisher boxes, lamps: what makes one place unlike another."""
    for _ in range(rng.randrange(2, 6)):
        x, y = rng.randrange(width - 200), rng.randrange(height // 2)
        side = rng.randrange(50, 200)
        draw.rectangle([x, y, x + side, y + int(side * rng.uniform(0.5, 1.5))], fill=_colour(rng))
    for _ in range(rng.randrange(1, 4)):
        x, y = rng.randrange(width - 120), rng.randrange(height - 120)
        draw.ellipse(
            [x, y, x + rng.randrange(30, 120), y + rng.randrange(30, 120)], fill=_colour(rng)
        )


def _finish(image: Image.Image, rng: random.Random, seed: int) -> Image.Image:
    """Uneven light and sensor noise, as a phone camera gives."""
    pixels = np.asarray(image).astype(np.float32)
    width = image.width
    light = np.linspace(rng.uniform(0.7, 1.1), rng.uniform(0.7, 1.1), width)[None, :, None]
    noise = np.random.default_rng(seed).normal(0, 6, pixels.shape)
    return Image.fromarray(np.clip(pixels * light + noise, 0, 255).astype(np.uint8))


def stairwell(seed: int, width: int = 1600, height: int = 1200) -> Image.Image:
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height), _colour(rng, 150, 230))
    draw = ImageDraw.Draw(image)
    vx, vy = width * rng.uniform(0.35, 0.65), height * rng.uniform(0.3, 0.5)
    steps = rng.randrange(6, 14)
    floor = _colour(rng, 60, 140)
    for i in range(steps):
        t0, t1 = i / steps, (i + 1) / steps
        y0, y1 = height - (height - vy) * t0, height - (height - vy) * t1
        left0, left1 = (vx - width * 0.3) * t0, (vx - width * 0.3) * t1
        right0 = width - (width - vx - width * 0.3) * t0
        right1 = width - (width - vx - width * 0.3) * t1
        shade = tuple(max(0, min(255, c + (i % 2) * 25 - 12)) for c in floor)
        draw.polygon(
            [(left0, y0), (right0, y0), (right1, y1), (left1, y1)], fill=shade, outline=(40, 40, 40)
        )
    rail = rng.uniform(0.05, 0.3) * width
    draw.line([(rail, height), (vx - 50, vy)], fill=_colour(rng, 0, 90), width=rng.randrange(8, 20))
    _objects(rng, draw, width, height)
    return _finish(image, rng, seed)


def room(seed: int, width: int = 1600, height: int = 1200) -> Image.Image:
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height), _colour(rng, 150, 230))
    draw = ImageDraw.Draw(image)
    horizon = int(height * rng.uniform(0.55, 0.7))
    draw.rectangle([0, horizon, width, height], fill=_colour(rng, 60, 140))
    wx = rng.randrange(width // 10, width // 2)
    draw.rectangle(
        [wx, height // 6, wx + width // 4, height // 6 + height // 4], fill=_colour(rng, 170, 256)
    )
    dx = rng.randrange(width // 2, width - width // 6)
    draw.rectangle(
        [dx, horizon - height // 3, dx + width // 8, horizon], fill=_colour(rng, 40, 120)
    )
    _objects(rng, draw, width, height)
    return _finish(image, rng, seed)


def jpeg_bytes(image: Image.Image, quality: int = 90, exif: Image.Exif | None = None) -> bytes:
    buffer = io.BytesIO()
    if exif is None:
        image.save(buffer, "JPEG", quality=quality)
    else:
        image.save(buffer, "JPEG", quality=quality, exif=exif)
    return buffer.getvalue()


def with_capture_time(
    image: Image.Image, taken: str, gps: tuple[float, float] | None = None
) -> bytes:
    """A phone's JPEG: DateTimeOriginal ("YYYY:MM:DD HH:MM:SS") and, if given, GPS."""
    exif = Image.Exif()
    exif.get_ifd(0x8769)[36867] = taken
    if gps is not None:
        lat, lon = gps
        ifd = exif.get_ifd(0x8825)
        ifd[1], ifd[3] = ("N" if lat >= 0 else "S"), ("E" if lon >= 0 else "W")
        ifd[2] = (abs(lat), 0.0, 0.0)
        ifd[4] = (abs(lon), 0.0, 0.0)
    return jpeg_bytes(image, exif=exif)


def _load(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def resized(image: Image.Image) -> Image.Image:
    return image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)


def recompressed(image: Image.Image) -> Image.Image:
    return _load(jpeg_bytes(image, quality=60))


def cropped(image: Image.Image, share: float = 0.05) -> Image.Image:
    """5 % cut away: from the left and the top."""
    return image.crop(
        (int(image.width * share), int(image.height * share), image.width, image.height)
    )


def cropped_side(image: Image.Image, share: float = 0.05) -> Image.Image:
    """5 % cut away from the right side only (the shape changes too)."""
    return image.crop((0, 0, int(image.width * (1 - share)), image.height))


EDITS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "same": lambda image: image,
    "resized": resized,
    "recompressed_q60": recompressed,
    "cropped_5pct": cropped,
    "cropped_5pct_side": cropped_side,
}

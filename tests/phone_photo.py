"""A stand-in for a 12-MP phone photo, and a measure of sharpness.

Shared by ``tests/test_photo_ingest.py`` and ``bench/bench_photo.py``. The
picture has what makes a photo costly and what makes sharpness visible: sky
(a smooth gradient), grain and foliage (noise, slightly blurred, as a lens and
a sensor leave it), and a building's straight edges and windows; it is saved
as a phone saves it (quality 92, 4:2:0, a few MB) with the EXIF a phone
writes, orientation included.
"""

from __future__ import annotations

import io
import random

from PIL import ExifTags, Image, ImageDraw, ImageFilter, ImageStat

PHONE_SIZE = (4032, 3024)  # 12 MP, as the sensor stores it (landscape)


def phone_exif(orientation: int) -> Image.Exif:
    """What a phone writes: maker, model, capture time, orientation, GPS."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Model X"
    exif[ExifTags.Base.DateTime] = "2026:03:02 10:15:00"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (39.0, 54.0, 27.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (116.0, 23.0, 17.0),
    }
    return exif


def scene(size: tuple[int, int] = PHONE_SIZE, seed: int = 7) -> Image.Image:
    """A stairwell-and-sky picture with fine detail everywhere but the sky.

    The top quarter is red at the left, blue at the right: a turned photo shows it.
    """
    width, height = size
    rng = random.Random(seed)
    sky = Image.linear_gradient("L").resize((width, height // 3))
    picture = Image.merge(
        "RGB",
        (
            sky.point(lambda v: 90 + v // 3),
            sky.point(lambda v: 140 + v // 4),
            sky.point(lambda v: 230 - v // 6),
        ),
    )
    ground = Image.merge(
        "RGB",
        [
            Image.effect_noise((width, height - height // 3), sigma).filter(
                ImageFilter.GaussianBlur(0.7)
            )
            for sigma in (60, 70, 50)
        ],
    )
    full = Image.new("RGB", size)
    full.paste(picture, (0, 0))
    full.paste(ground, (0, height // 3))
    draw = ImageDraw.Draw(full)
    # A building: walls, windows and railings, straight sharp edges at all scales.
    for _ in range(60):
        x, y = rng.randrange(width - 400), rng.randrange(height // 4, height - 300)
        w, h = rng.randrange(40, 400), rng.randrange(40, 300)
        shade = tuple(rng.randrange(256) for _ in range(3))
        draw.rectangle((x, y, x + w, y + h), outline=shade, width=rng.randrange(1, 6))
    for step in range(0, width, 23):
        draw.line((step, height // 3, step + 200, height), fill=(30, 30, 30), width=2)
    draw.rectangle((0, 0, width // 8, height // 4), fill=(220, 20, 20))
    draw.rectangle((width - width // 8, 0, width, height // 4), fill=(20, 20, 220))
    return full


def phone_jpeg(orientation: int = 6, size: tuple[int, int] = PHONE_SIZE) -> bytes:
    """The scene saved as a phone camera does, stored sideways when ``orientation`` is 6."""
    out = io.BytesIO()
    scene(size).save(out, "JPEG", quality=92, exif=phone_exif(orientation))
    return out.getvalue()


def sharpness(im: Image.Image) -> float:
    """Variance of the Laplacian of the grey image: more fine detail, a larger figure.

    (Scaled by 1/8 with an offset, so that Pillow's 8-bit filter does not clip it.)
    """
    laplacian = ImageFilter.Kernel((3, 3), [0, 1, 0, 1, -4, 1, 0, 1, 0], scale=8, offset=128)
    return float(ImageStat.Stat(im.convert("L").filter(laplacian)).var[0])


def plain_pillow(data: bytes, max_side: int = 2048) -> bytes:
    """The anchor: plain Pillow, as anyone would write it (open, turn, thumbnail, save)."""
    from PIL import ImageOps

    with Image.open(io.BytesIO(data)) as im:
        upright = ImageOps.exif_transpose(im)
        upright.thumbnail((max_side, max_side))
        out = io.BytesIO()
        upright.convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()

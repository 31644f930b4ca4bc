"""Photo ingest (issue 12, item 7): a 12-MP phone photo decoded small, turned after,
still upright and at least as sharp as plain Pillow makes it.

Speed and memory are measured by ``bench/bench_photo.py``, not asserted here.
"""

from __future__ import annotations

import io

import pytest
from PIL import ExifTags, Image, ImageChops, ImageStat

from storage.photos import REDUCED_DECODE_MIN, PhotoLimits, normalise
from tests.phone_photo import PHONE_SIZE, phone_exif, plain_pillow, scene, sharpness

LIMITS = PhotoLimits()


@pytest.fixture(scope="module")
def picture() -> Image.Image:
    return scene()


def saved(picture: Image.Image, orientation: int) -> bytes:
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=92, exif=phone_exif(orientation))
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel value, 0-255, of two same-sized pictures."""
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_a_phone_photo_comes_out_upright(picture: Image.Image, orientation: int) -> None:
    """Turned as plain Pillow turns it (exif_transpose on the full image), for each
    way a phone is held; the EXIF's orientation is gone."""
    data = saved(picture, orientation)
    jpeg, width, height = normalise(data, LIMITS)
    ours, plain = opened(jpeg), opened(plain_pillow(data))
    assert ours.size == (width, height)
    portrait = orientation in (6, 8)
    assert (width > height) != portrait
    assert ExifTags.Base.Orientation not in ours.getexif()
    # Same picture, same way up: close to the anchor's, far from any other turn of it.
    same = difference(ours, plain.resize(ours.size))
    turned = difference(ours, plain.rotate(180).resize(ours.size))
    assert same < 8, same
    assert turned > 4 * same


def test_orientation_6_puts_the_left_edge_on_top(picture: Image.Image) -> None:
    """Orientation 6: the stored picture's left edge is the visual top (red block at
    the stored top left goes to the top right, blue at the stored top right to the
    bottom right)."""
    jpeg, width, height = normalise(saved(picture, 6), LIMITS)
    ours = opened(jpeg)
    red, blue = ours.getpixel((width - 20, 20)), ours.getpixel((width - 20, height - 20))
    assert isinstance(red, tuple) and isinstance(blue, tuple)
    assert red[0] > 180 and red[2] < 80, red
    assert blue[2] > 180 and blue[0] < 80, blue


def test_decoded_small_within_the_limit(picture: Image.Image) -> None:
    """4032 by 3024 decodes at half scale: 2016 by 1512, turned to 1512 by 2016."""
    _, width, height = normalise(saved(picture, 6), LIMITS)
    assert (width, height) == (PHONE_SIZE[1] // 2, PHONE_SIZE[0] // 2)
    assert LIMITS.max_side * REDUCED_DECODE_MIN <= max(width, height) <= LIMITS.max_side


def test_at_least_as_sharp_as_plain_pillow(picture: Image.Image) -> None:
    """Fine detail (variance of the Laplacian) at least the anchor's: measured on the
    anchor as it is (larger) and scaled to the same size as ours."""
    data = saved(picture, 6)
    ours = opened(normalise(data, LIMITS)[0])
    plain = opened(plain_pillow(data))
    assert sharpness(ours) >= sharpness(plain)
    assert sharpness(ours) >= sharpness(plain.resize(ours.size, Image.Resampling.LANCZOS))


def test_a_blurred_copy_measures_less_sharp(picture: Image.Image) -> None:
    """The measure is not blind: the same output slightly blurred scores lower."""
    from PIL import ImageFilter

    ours = opened(normalise(saved(picture, 1), LIMITS)[0])
    assert sharpness(ours.filter(ImageFilter.GaussianBlur(0.8))) < 0.8 * sharpness(ours)

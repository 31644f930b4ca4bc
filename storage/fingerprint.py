"""What a picture says about itself: capture time and place, and a perceptual fingerprint.

Two pictures are compared in two stages. The perceptual hash (``imagehash``'s
pHash, 64 bits) finds candidates: a near-copy (resized, recompressed, a few
per cent cropped) lies within a few bits of its original, but so may a
different photo of a similar scene (two stairwells drawn alike), and a crop
moves the hash more than recompression does. So each candidate is then
checked on the pixels: the finer detail of the two pictures (what is left
after blurring away the broad shapes that every stairwell shares) is
correlated, over the windows a crop of up to a tenth of either side could
have cut. A near-copy correlates above 0.98; different rooms stay far below
(``bench/bench_phash.py`` measures both).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import imagehash
import numpy as np
from PIL import Image, ImageFilter, ImageOps

# EXIF tags (Pillow's numbers): the Exif and GPS sub-directories and what is read there.
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
DATETIME, DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL = 306, 36867, 36881
GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON = 1, 2, 3, 4
_EXIF_TIME = re.compile(r"^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"^[+-]\d{2}:\d{2}$")

# A picture whose grey levels vary less than this (standard deviation, 0..255)
# is a flat colour: its perceptual hash is noise, so it is never compared.
FLAT_STDDEV = 2.0
DETAIL_SIDE = 256  # the grey picture the pixel check works on
FEATURE_SIZE = (64, 48)
# The windows of one picture searched for the other: kept share of each side.
CROP_SHARES = (1.0, 0.95, 0.9)
CROP_PLACES = (0.0, 0.5, 1.0)


@dataclass(frozen=True)
class Exif:
    taken_at: str | None = None
    latitude: float | None = None
    longitude: float | None = None


def _taken_at(exif: Image.Exif) -> str | None:
    """DateTimeOriginal (else DateTime) as ISO 8601, with its offset when the camera gave one."""
    sub = exif.get_ifd(EXIF_IFD)
    raw = sub.get(DATETIME_ORIGINAL) or exif.get(DATETIME)
    if not isinstance(raw, str):
        return None
    found = _EXIF_TIME.match(raw.strip())
    if found is None:
        return None
    y, mo, d, h, mi, s = found.groups()
    if not ("1990" <= y <= "2100" and "01" <= mo <= "12" and "01" <= d <= "31" and h <= "23"):
        return None
    offset = sub.get(OFFSET_TIME_ORIGINAL)
    tail = offset.strip() if isinstance(offset, str) and _OFFSET.match(offset.strip()) else ""
    return f"{y}-{mo}-{d}T{h}:{mi}:{s}{tail}"


def _degrees(value: Any, ref: Any) -> float | None:
    try:
        d, m, s = (float(part) for part in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    degrees = d + m / 60 + s / 3600
    return -degrees if str(ref).upper() in ("S", "W") else degrees


def read_exif(image: Image.Image) -> Exif:
    """The capture time and GPS position of a picture as it arrived (before stripping)."""
    try:
        exif = image.getexif()
        taken = _taken_at(exif)
        gps = exif.get_ifd(GPS_IFD)
    except (OSError, ValueError, TypeError, KeyError, SyntaxError):  # a broken EXIF block
        return Exif()
    lat = _degrees(gps.get(GPS_LAT), gps.get(GPS_LAT_REF)) if GPS_LAT in gps else None
    lon = _degrees(gps.get(GPS_LON), gps.get(GPS_LON_REF)) if GPS_LON in gps else None
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        lat = lon = None
    return Exif(
        taken, None if lat is None else round(lat, 6), None if lon is None else round(lon, 6)
    )


def _grey(image: Image.Image) -> Image.Image:
    grey = ImageOps.grayscale(image)
    grey.thumbnail((DETAIL_SIDE, DETAIL_SIDE), Image.Resampling.BILINEAR)
    return grey


def perceptual_hash(image: Image.Image) -> int | None:
    """pHash as a signed 64-bit integer (SQLite's), or None for a flat picture."""
    grey = _grey(image)
    if float(np.asarray(grey, dtype=np.float32).std()) < FLAT_STDDEV:
        return None
    return _signed(imagehash.phash(grey).hash)


def _signed(bits: Any) -> int:
    value = int("".join("1" if b else "0" for b in bits.flatten()), 2)
    return value - (1 << 64) if value >= 1 << 63 else value


# The crops whose hashes are kept beside the whole picture's: a copy cut by a few per
# cent from a side or a corner lies within a few bits of one of them, so that among
# thousands of look-alike photos its original still ranks first (bench_phash.py).
CROP_VARIANTS = (
    (0.95, 1.0, 0.0, 0.0),
    (0.95, 1.0, 1.0, 0.0),
    (1.0, 0.95, 0.0, 0.0),
    (1.0, 0.95, 0.0, 1.0),
    (0.95, 0.95, 0.0, 0.0),
    (0.95, 0.95, 1.0, 0.0),
    (0.95, 0.95, 0.0, 1.0),
    (0.95, 0.95, 1.0, 1.0),
    (0.9, 0.9, 0.5, 0.5),
)


def crop_hashes(image: Image.Image) -> tuple[int, ...]:
    """Perceptual hashes of the crops in ``CROP_VARIANTS`` (empty for a flat picture)."""
    grey = _grey(image)
    if float(np.asarray(grey, dtype=np.float32).std()) < FLAT_STDDEV:
        return ()
    found = []
    for sx, sy, fx, fy in CROP_VARIANTS:
        w, h = grey.width * sx, grey.height * sy
        x, y = (grey.width - w) * fx, (grey.height - h) * fy
        found.append(
            _signed(imagehash.phash(grey.crop((int(x), int(y), int(x + w), int(y + h)))).hash)
        )
    return tuple(found)


def distance(a: int, b: int) -> int:
    """Bits in which two perceptual hashes differ."""
    return ((a ^ b) & ((1 << 64) - 1)).bit_count()


def detail(image: Image.Image) -> Image.Image:
    """The small grey picture that ``similarity`` compares."""
    return _grey(image)


def open_detail(path: str) -> Image.Image | None:
    """``detail`` of a stored photo, decoded small (None when the file is gone or broken)."""
    try:
        with Image.open(path) as image:
            image.draft("L", (DETAIL_SIDE * 2, DETAIL_SIDE * 2))  # JPEG: decode small, fast
            return detail(image.convert("RGB"))
    except (OSError, ValueError):
        return None


def _feature(grey: Image.Image, box: tuple[int, int, int, int] | None = None) -> Any:
    """The fine detail of (a window of) a grey picture, as a unit vector."""
    part = grey.crop(box) if box else grey
    small = part.resize(FEATURE_SIZE, Image.Resampling.BILINEAR)
    broad = small.filter(ImageFilter.BoxBlur(4))
    fine = np.asarray(small, dtype=np.float32) - np.asarray(broad, dtype=np.float32)
    fine -= fine.mean()
    norm = float(np.linalg.norm(fine))
    return fine / norm if norm else fine


def _windows(width: int, height: int) -> Iterator[tuple[int, int, int, int]]:
    for sx in CROP_SHARES:
        for sy in CROP_SHARES:
            w, h = width * sx, height * sy
            for fx in CROP_PLACES if sx < 1 else (0.0,):
                for fy in CROP_PLACES if sy < 1 else (0.0,):
                    x, y = (width - w) * fx, (height - h) * fy
                    yield int(x), int(y), int(x + w), int(y + h)


def similarity(a: Image.Image, b: Image.Image) -> float:
    """How alike two pictures' details are (1.0: the same), allowing either to be a crop."""
    best = -1.0
    for whole, cut in ((a, b), (b, a)):
        target = _feature(whole)
        for box in _windows(*cut.size):
            best = max(best, float((target * _feature(cut, box)).sum()))
    return best

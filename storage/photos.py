"""The photo store: normalise with Pillow, keep by SHA-256 on disk.

A photo from a phone is turned upright (EXIF orientation), scaled so its long
side is at most ``max_side`` pixels and re-encoded as JPEG, which also drops
the rest of its metadata (GPS included). The file is named by the SHA-256 of
the stored bytes; the database keeps the hash and the size, never the bytes.

Speed (bench/bench_photo.py): a JPEG is decoded at reduced scale (libjpeg's
1/2, 1/4 or 1/8, Pillow's ``draft``) when that still leaves its long side
within ``REDUCED_DECODE_MIN`` of ``max_side``: a 12-MP phone photo, 4032 by
3024, decodes straight to 2016 by 1512, a quarter of the pixels, with no
resampling. It is turned upright after it is small, and encoded without
Pillow's ``optimize`` pass (a second pass over the data for about 2 % size).

What evidence needs is read before the metadata goes: the capture time and
GPS position (``storage.fingerprint.read_exif``), and a perceptual hash of
the picture, all returned on ``StoredPhoto`` so that ``save`` stays one call
that a worker process can make.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from ledger.errors import PhotoRejected
from storage import thumbs
from storage.fingerprint import Exif, crop_hashes, perceptual_hash, read_exif

JPEG_QUALITY = 85
# A reduced decode may leave the long side this much under max_side: 4032 / 2 =
# 2016 is 98 % of 2048. The scaled decode filters as well as resampling does, so
# the photo is as sharp (tests/test_photo_ingest.py), at a quarter of the work.
REDUCED_DECODE_MIN = 0.95


@dataclass(frozen=True)
class StoredPhoto:
    sha256: str
    width: int
    height: int
    size: int  # bytes on disk
    # Perceptual hash (signed 64 bits, as SQLite keeps it); None for a picture
    # without detail (a flat colour), which no perceptual hash can tell apart.
    phash: int | None = None
    crop_hashes: tuple[int, ...] = ()  # of a few crops of it (storage.fingerprint)
    # From the original's EXIF, before it was stripped: capture time as written
    # ("2026-03-02T10:15:00", with "+08:00" when the camera said), GPS in degrees.
    taken_at: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class PhotoLimits:
    max_bytes: int = 20 * 1024 * 1024  # what the Bot API lets a bot download
    max_pixels: int = 50_000_000
    max_side: int = 2048


def normalise(data: bytes, limits: PhotoLimits) -> tuple[bytes, int, int]:
    """Return upright, downscaled JPEG bytes with their size, or ``PhotoRejected``."""
    jpeg, width, height, _, _ = _normalise(data, limits)
    return jpeg, width, height


def _normalise(
    data: bytes, limits: PhotoLimits
) -> tuple[bytes, int, int, tuple[int | None, tuple[int, ...]], Exif]:
    """``normalise``, plus the perceptual hash and what the EXIF said."""
    if len(data) > limits.max_bytes:
        raise PhotoRejected(reason="too_large", limit_mb=limits.max_bytes // (1024 * 1024))
    try:
        with warnings.catch_warnings():
            # Pillow warns between max_pixels and twice that; treat it as a refusal.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
                if width * height > limits.max_pixels:
                    raise PhotoRejected(
                        reason="too_many_pixels", megapixels=limits.max_pixels // 1_000_000
                    )
                # Read before shrinking: the capture time and position are the original's.
                exif = read_exif(im)
                small = shrink(im, limits.max_side)
                upright = ImageOps.exif_transpose(small)
                rgb = upright.convert("RGB")
    except PhotoRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoRejected(
            reason="too_many_pixels", megapixels=limits.max_pixels // 1_000_000
        ) from exc
    except UnidentifiedImageError as exc:
        raise PhotoRejected(reason="not_image") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt data
        raise PhotoRejected(reason="corrupt") from exc
    # Pillow's JPEG writer copies a "comment" from ``info`` (a JPEG COM or GIF comment
    # of the original); drop everything so no metadata survives.
    rgb.info.clear()
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=JPEG_QUALITY)
    hashes = (perceptual_hash(rgb), crop_hashes(rgb))
    return out.getvalue(), rgb.width, rgb.height, hashes, exif


def shrink(im: Image.Image, max_side: int) -> Image.Image:
    """The opened image decoded and scaled to a long side of at most ``max_side``.

    Not yet turned upright: the turn is done on the small image. A JPEG is
    decoded at the smallest of libjpeg's scales that keeps its long side at
    least ``REDUCED_DECODE_MIN`` of ``max_side``; what is still too large after
    that is resampled (Lanczos).
    """
    width, height = im.size
    for scale in (8, 4, 2):
        if max(width, height) // scale >= max_side * REDUCED_DECODE_MIN:
            # draft picks the largest scale whose result is at least this size.
            im.draft(None, (width // scale, height // scale))
            break
    im.load()
    im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return im


class PhotoStore:
    """Photos on disk under ``root/ab/abcdef….jpg``."""

    def __init__(self, root: Path, limits: PhotoLimits) -> None:
        self.root = root
        self.limits = limits
        # Pillow's own guard, so that no code path opens a bomb unchecked. It is a
        # process-wide setting: only ever raise it, so that a store with a lower limit
        # (normalise checks its own) does not make another store refuse good photos.
        current = Image.MAX_IMAGE_PIXELS
        if current is None or current < limits.max_pixels:
            Image.MAX_IMAGE_PIXELS = limits.max_pixels

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.jpg"

    def save(self, data: bytes) -> StoredPhoto:
        jpeg, width, height, (phash, crops), exif = _normalise(data, self.limits)
        digest = hashlib.sha256(jpeg).hexdigest()
        path = self.path_of(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a crash never leaves half a photo under its hash.
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
            with os.fdopen(fd, "wb") as fh:
                fh.write(jpeg)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
            thumbs.keep(path)  # here, in the photos' worker, not in the city export
        return StoredPhoto(
            digest,
            width,
            height,
            len(jpeg),
            phash=phash,
            crop_hashes=crops,
            taken_at=exif.taken_at,
            latitude=exif.latitude,
            longitude=exif.longitude,
        )

"""The ledger's thumbnails, made once per photo and kept on disk.

Making one means decoding the stored photo: about 5 ms, so 1,000 photos took
seconds of every city export. A thumbnail is kept under the photo store's
root, in ``thumbs/<side>px-v<version>/ab/<sha256>.jpg`` beside the photo it
was made from. It can never show another picture: a stored photo's name is
the hash of its bytes, and the folder names how thumbnails are made (a change
there means a new ``THUMB_VERSION``, so a new folder). A photo whose file is
newer than its thumbnail (put back from a backup, say) gets a new one; a
photo that is gone shows none, and its thumbnail is removed. Thumbnails are
written under a temporary name and renamed, so a worker killed half-way
leaves no half a picture, and one that is not a whole JPEG is made again.
Where the store cannot be written, they are made afresh each time.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image, UnidentifiedImageError

THUMB_SIDE = 80  # pixels: the longer side of an embedded thumbnail
THUMB_QUALITY = 80
THUMB_VERSION = 1  # raise it whenever a thumbnail would come out differently


def make_thumbnail(photo: Path) -> bytes | None:
    """A small JPEG of a stored photo (None when the file is gone or unreadable)."""
    try:
        with Image.open(photo) as image:
            image.draft("RGB", (THUMB_SIDE * 2, THUMB_SIDE * 2))  # JPEG: decode small, fast
            image.thumbnail((THUMB_SIDE, THUMB_SIDE))
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, "JPEG", quality=THUMB_QUALITY)
            return buffer.getvalue()
    except (OSError, UnidentifiedImageError):
        return None


def cache_path(photo: Path) -> Path:
    """Where the thumbnail of the stored photo ``root/ab/<sha>.jpg`` is kept."""
    folder = f"{THUMB_SIDE}px-v{THUMB_VERSION}"
    return photo.parent.parent / "thumbs" / folder / photo.parent.name / photo.name


class Thumbnails:
    """Thumbnails of the photos of a store, by their SHA-256."""

    def __init__(self, photo_path: Callable[[str], Path]) -> None:
        self.photo_path = photo_path
        self.made = 0  # thumbnails made rather than found (for the tests and the benchmark)

    def jpeg(self, sha256: str) -> bytes | None:
        """The thumbnail's JPEG bytes; None when the photo is gone or unreadable."""
        photo = self.photo_path(sha256)
        kept = cache_path(photo)
        try:
            photo_time = photo.stat().st_mtime_ns
        except OSError:
            with contextlib.suppress(OSError):
                kept.unlink()  # the photo is gone: so is its thumbnail
            return None
        with contextlib.suppress(OSError):
            if kept.stat().st_mtime_ns >= photo_time:
                data = kept.read_bytes()
                if _whole_jpeg(data):
                    return data
        made = make_thumbnail(photo)
        if made is None:
            return None
        self.made += 1
        with contextlib.suppress(OSError):  # a store we cannot write to: made afresh next time
            _write_whole(kept, made)
        return made


def _whole_jpeg(data: bytes) -> bool:
    """Whether ``data`` runs from a JPEG's first marker to its last (not cut short)."""
    return data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"


def _write_whole(target: Path, data: bytes) -> None:
    """``data`` into ``target`` under a temporary name first, renamed when whole."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, part = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(part, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(part)
        raise

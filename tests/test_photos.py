"""storage.photos: photos turned upright, scaled, re-encoded, stored by hash; bad ones refused."""

from __future__ import annotations

import hashlib
import io
import random

import pytest
from PIL import ExifTags, Image

from ledger.errors import PhotoRejected
from storage import thumbs
from storage.photos import PhotoLimits, PhotoStore, normalise

LIMITS = PhotoLimits()
SMALL_PIXELS = PhotoLimits(max_pixels=1_000_000)


@pytest.fixture(autouse=True)
def restore_pillow_limit(monkeypatch):
    """PhotoStore sets Pillow's global bomb limit; put it back after each test."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)


@pytest.fixture
def store(tmp_path) -> PhotoStore:
    return PhotoStore(tmp_path / "photos", LIMITS)


def encode(im: Image.Image, fmt: str = "JPEG", **options) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **options)
    return buffer.getvalue()


def two_halves(width: int, height: int) -> Image.Image:
    """Left half red, right half blue: shows which way the image was turned."""
    im = Image.new("RGB", (width, height), "blue")
    im.paste("red", (0, 0, width // 2, height))
    return im


def noise(width: int, height: int, seed: int = 1) -> Image.Image:
    """An image that does not compress away (so truncating it loses real data)."""
    rng = random.Random(seed)
    return Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))


def phone_exif(orientation: int = 1) -> Image.Exif:
    """EXIF as a phone writes it: maker, model, orientation and a GPS position."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Model X"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (39.0, 54.0, 27.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (116.0, 23.0, 17.0),
    }
    return exif


def is_red(pixel) -> bool:
    r, g, b = pixel
    return r > 200 and g < 60 and b < 60


def is_blue(pixel) -> bool:
    r, g, b = pixel
    return r < 60 and g < 60 and b > 200


def opened(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


# --- normalising ---------------------------------------------------------------------


def test_exif_orientation_6_comes_out_upright():
    """A phone photo stored sideways (orientation 6) is turned: width and height swap."""
    data = encode(two_halves(400, 200), exif=phone_exif(orientation=6))
    jpeg, width, height = normalise(data, LIMITS)
    assert (width, height) == (200, 400)
    im = opened(jpeg)
    assert im.size == (200, 400)
    # Orientation 6: the stored left edge is the visual top.
    assert is_red(im.getpixel((100, 50)))
    assert is_blue(im.getpixel((100, 350)))
    assert ExifTags.Base.Orientation not in im.getexif()


def test_orientation_1_is_left_as_is():
    data = encode(two_halves(400, 200), exif=phone_exif(orientation=1))
    jpeg, width, height = normalise(data, LIMITS)
    assert (width, height) == (400, 200)
    im = opened(jpeg)
    assert is_red(im.getpixel((50, 100)))
    assert is_blue(im.getpixel((350, 100)))


@pytest.mark.parametrize(
    ("size", "fmt", "expected"),
    [
        ((4000, 3000), "PNG", (2048, 1536)),
        ((3000, 4000), "PNG", (1536, 2048)),
        # A JPEG decoded at half scale: within 5 % under the limit, not resampled.
        ((4000, 3000), "JPEG", (2000, 1500)),
        ((3000, 4000), "JPEG", (1500, 2000)),
        ((4096, 3072), "JPEG", (2048, 1536)),
        ((3000, 2000), "JPEG", (2048, 1365)),  # half would be too small: resampled
        ((16000, 1000), "JPEG", (2000, 125)),  # an eighth
        ((2048, 100), "JPEG", (2048, 100)),  # exactly the limit: unchanged
        ((640, 480), "JPEG", (640, 480)),  # small photos are never enlarged
    ],
)
def test_scaled_to_long_side(size, fmt, expected):
    """The long side is at most max_side (2048), keeping the aspect ratio."""
    jpeg, width, height = normalise(encode(Image.new("RGB", size, "green"), fmt), LIMITS)
    assert (width, height) == expected
    assert opened(jpeg).size == expected


def test_smaller_max_side():
    jpeg, width, height = normalise(
        encode(Image.new("RGB", (1000, 500), "green")), PhotoLimits(max_side=100)
    )
    assert (width, height) == (100, 50)
    assert opened(jpeg).size == (100, 50)


@pytest.mark.parametrize(
    ("mode", "fmt", "color"),
    [
        ("RGBA", "PNG", (255, 0, 0, 128)),  # alpha
        ("LA", "PNG", (128, 200)),
        ("P", "PNG", 3),
        ("L", "PNG", 128),
        ("1", "PNG", 1),
        ("I;16", "PNG", 40000),  # 16-bit grey from a scanner
        ("RGB", "WEBP", "red"),
        ("RGB", "GIF", "red"),
        ("RGB", "BMP", "red"),
        ("CMYK", "JPEG", (0, 255, 255, 0)),
        ("RGB", "TIFF", "red"),
    ],
)
def test_other_formats_become_rgb_jpeg(mode, fmt, color):
    """Whatever the input format and mode, the output is an RGB JPEG."""
    data = encode(Image.new(mode, (120, 80), color), fmt)
    jpeg, width, height = normalise(data, LIMITS)
    im = opened(jpeg)
    assert im.format == "JPEG"
    assert im.mode == "RGB"
    assert im.size == (width, height) == (120, 80)


def test_output_is_jpeg():
    jpeg, _, _ = normalise(encode(Image.new("RGB", (64, 64), "red"), "PNG"), LIMITS)
    assert jpeg[:3] == b"\xff\xd8\xff"
    assert opened(jpeg).format == "JPEG"


def test_metadata_is_stripped():
    """GPS position, maker and model are not kept in the stored photo."""
    data = encode(two_halves(300, 200), exif=phone_exif(), comment=b"secret note")
    assert b"PhoneMaker" in data  # the input really carries it
    jpeg, _, _ = normalise(data, LIMITS)
    im = opened(jpeg)
    assert dict(im.getexif()) == {}
    assert im.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert "exif" not in im.info
    assert "comment" not in im.info
    assert b"PhoneMaker" not in jpeg
    assert b"Model X" not in jpeg
    assert b"secret note" not in jpeg


# --- the store ------------------------------------------------------------------------


def test_store_saves_by_hash(store, tmp_path):
    """The file is root/ab/<sha256>.jpg, where sha256 is the hash of its bytes."""
    stored = store.save(encode(Image.new("RGB", (4000, 3000), "purple")))
    path = tmp_path / "photos" / stored.sha256[:2] / f"{stored.sha256}.jpg"
    assert store.path_of(stored.sha256) == path
    assert path.is_file()
    content = path.read_bytes()
    assert hashlib.sha256(content).hexdigest() == stored.sha256
    assert stored.size == len(content)
    assert (stored.width, stored.height) == (2000, 1500)  # a half-scale decode
    assert opened(content).size == (2000, 1500)


def test_same_photo_twice_is_one_file(store, tmp_path):
    """Saving the same photo again gives the same hash and leaves one file."""
    data = encode(noise(300, 200))
    first = store.save(data)
    second = store.save(data)
    assert first == second
    files = sorted(p for p in (tmp_path / "photos").rglob("*") if p.is_file())
    # One photo and its thumbnail (made as it is stored); no leftover .part files.
    assert files == [store.path_of(first.sha256), thumbs.cache_path(store.path_of(first.sha256))]


def test_different_photos_are_different_files(store):
    first = store.save(encode(noise(100, 100, seed=1)))
    second = store.save(encode(noise(100, 100, seed=2)))
    assert first.sha256 != second.sha256
    assert store.path_of(first.sha256).is_file()
    assert store.path_of(second.sha256).is_file()


# --- refusals ----------------------------------------------------------------------------


def reason_of(data: bytes, limits: PhotoLimits = LIMITS) -> str:
    with pytest.raises(PhotoRejected) as caught:
        normalise(data, limits)
    return str(caught.value.params["reason"])


@pytest.mark.parametrize(
    "data",
    [
        "这不是照片，是一段文字。".encode(),
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n",
        b"PK\x03\x04" + bytes(100),  # a zip / docx
        b"",
        bytes(1000),
    ],
    ids=["text", "pdf", "zip", "empty", "zeros"],
)
def test_not_an_image(data):
    assert reason_of(data) == "not_image"


def test_too_large_file():
    """A file over max_bytes is refused before it is even opened."""
    data = encode(noise(200, 200))
    limits = PhotoLimits(max_bytes=len(data) - 1)
    with pytest.raises(PhotoRejected) as caught:
        normalise(data, limits)
    assert caught.value.params["reason"] == "too_large"
    normalise(data, PhotoLimits(max_bytes=len(data)))  # exactly the limit is fine


def test_too_large_file_with_any_content():
    """The size check comes first: even garbage over the limit says too_large."""
    assert reason_of(b"x" * 2000, PhotoLimits(max_bytes=1000)) == "too_large"


@pytest.fixture(scope="module")
def big_png() -> bytes:
    """A 6000x6000 (36 MP) single-colour PNG: a small file whose header declares many pixels."""
    return encode(Image.new("1", (6000, 6000), 1), "PNG")


def test_big_png_is_a_small_file(big_png):
    assert len(big_png) < 100_000


def test_too_many_pixels(big_png):
    """A header declaring more than max_pixels is refused without decoding it."""
    assert reason_of(big_png, SMALL_PIXELS) == "too_many_pixels"


def test_too_many_pixels_just_over_the_limit():
    data = encode(Image.new("L", (1001, 1000), 0), "PNG")
    assert reason_of(data, SMALL_PIXELS) == "too_many_pixels"
    normalise(encode(Image.new("L", (1000, 1000), 0), "PNG"), SMALL_PIXELS)


@pytest.mark.parametrize(
    "size",
    [(1200, 1000), (6000, 6000)],
    ids=["between-limit-and-twice", "bomb-over-twice"],
)
def test_store_refuses_bombs(tmp_path, size):
    """Through the store (which also sets Pillow's own guard) a bomb is too_many_pixels."""
    store = PhotoStore(tmp_path, SMALL_PIXELS)
    data = encode(Image.new("1", size, 1), "PNG")
    with pytest.raises(PhotoRejected) as caught:
        store.save(data)
    assert caught.value.params["reason"] == "too_many_pixels"
    assert not any(tmp_path.rglob("*.jpg"))


def test_store_accepts_within_limit(tmp_path):
    store = PhotoStore(tmp_path, SMALL_PIXELS)
    stored = store.save(encode(Image.new("RGB", (1000, 1000), "red")))
    assert (stored.width, stored.height) == (1000, 1000)


def test_truncated_jpeg_is_corrupt():
    """The first half of a JPEG (an interrupted upload) is refused as corrupt."""
    data = encode(noise(400, 300))
    assert reason_of(data[: len(data) // 2]) == "corrupt"


def test_truncated_png_is_corrupt():
    data = encode(noise(400, 300), "PNG")
    assert reason_of(data[: len(data) // 2]) == "corrupt"


def test_rejection_code():
    """Handlers map PhotoRejected to the error.photo texts."""
    assert PhotoRejected.code == "photo"


def test_a_store_with_a_low_limit_does_not_affect_another(tmp_path):
    """Pillow's bomb guard is process-wide: a strict store must not make another refuse."""
    normal = PhotoStore(tmp_path / "normal", LIMITS)
    strict = PhotoStore(tmp_path / "strict", SMALL_PIXELS)
    data = encode(Image.new("RGB", (4000, 3000), "green"))  # 12 MP: fine for `normal`
    assert (normal.save(data).width, normal.save(data).height) == (2000, 1500)
    with pytest.raises(PhotoRejected):
        strict.save(data)


@pytest.mark.parametrize("fmt", ["JPEG", "GIF"])
def test_comments_are_stripped(fmt):
    """A comment in the original (JPEG COM, GIF comment) is not copied to the stored JPEG."""
    data = encode(Image.new("RGB", (50, 50), "red"), fmt, comment=b"taken at home")
    assert b"taken at home" in data
    jpeg, _, _ = normalise(data, LIMITS)
    assert b"taken at home" not in jpeg
    assert "comment" not in opened(jpeg).info

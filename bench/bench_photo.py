"""The photo bench (issue 12, item 7): the project's ingest against plain Pillow.

The same 12-MP phone photos (4032 by 3024, orientation 6, ``tests/phone_photo``)
go through, in turn and in the same process:

- plain Pillow, the anchor: open, ``exif_transpose``, ``thumbnail`` to 2048, save;
- the ingest as it was before issue 12: full decode, turn the full image,
  Lanczos to 2048, save with ``optimize``;
- the project's ingest now (``storage.photos.normalise``).

Prints each one's median time and its ratio to the anchor (target: at most
0.35), and the peak memory of each, measured in a fresh interpreter of its
own (peak resident set, VmHWM, less that interpreter's before the photo; target:
under 100 MB), and the sharpness of each output (variance of the Laplacian).

    .venv/bin/python bench/bench_photo.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageOps

from storage.photos import JPEG_QUALITY, PhotoLimits, normalise
from tests.phone_photo import phone_jpeg, plain_pillow, sharpness

LIMITS = PhotoLimits()


def before(data: bytes) -> bytes:
    """storage.photos.normalise as it was before issue 12."""
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        upright = ImageOps.exif_transpose(im)
        upright.thumbnail((LIMITS.max_side, LIMITS.max_side), Image.Resampling.LANCZOS)
        rgb = upright.convert("RGB")
    rgb.info.clear()
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def project(data: bytes) -> bytes:
    return normalise(data, LIMITS)[0]


WAYS: dict[str, Callable[[bytes], bytes]] = {
    "plain Pillow (anchor)": plain_pillow,
    "before (issue 11)": before,
    "project now": project,
}


def peak_mb(way: str, photo: Path) -> float:
    """Peak memory of one ingest, in a fresh interpreter: its peak RSS after, less before."""
    # VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork and exec.
    probe = f"""
import sys
sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
import bench.bench_photo as b
def kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])
data = open({str(photo)!r}, "rb").read()
start = kb("VmHWM:")
b.WAYS[{way!r}](data)
print(kb("VmHWM:") - start)
"""
    done = subprocess.run(  # noqa: S603 - this interpreter, our own probe
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return int(done.stdout.split()[-1]) / 1024


def main(rounds: int) -> None:
    photos = [phone_jpeg(orientation=6)]
    print(f"photo: {len(photos[0]) / 1e6:.1f} MB JPEG, 4032x3024, EXIF orientation 6")
    times: dict[str, list[float]] = {way: [] for way in WAYS}
    outputs: dict[str, bytes] = {}
    for _ in range(rounds):  # interleaved, so that the machine's load hits each alike
        for way, ingest in WAYS.items():
            for photo in photos:
                started = time.perf_counter()
                outputs[way] = ingest(photo)
                times[way].append(time.perf_counter() - started)
    anchor = statistics.median(times["plain Pillow (anchor)"])
    with tempfile.TemporaryDirectory() as folder:
        photo_file = Path(folder) / "phone.jpg"
        photo_file.write_bytes(photos[0])
        print(f"{'':24}{'median':>10}{'ratio':>8}{'peak MB':>9}{'size':>11}{'sharpness':>11}")
        for way in WAYS:
            median = statistics.median(times[way])
            im = Image.open(io.BytesIO(outputs[way]))
            print(
                f"{way:24}{median * 1000:8.0f}ms{median / anchor:8.2f}"
                f"{peak_mb(way, photo_file):9.1f}{'x'.join(map(str, im.size)):>11}"
                f"{sharpness(im):11.1f}"
            )
    print(json.dumps({"rounds": rounds, "target_ratio": 0.35, "target_peak_mb": 100}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each way (5)")
    main(parser.parse_args().rounds)

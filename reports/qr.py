"""QR sheets for the walls: one code per building, a deep link that opens its walk.

The sheet is a PDF drawn by hand: each code is vector squares (sharp at any
print size, from segno's module matrix) and the names are text in the PDF
standard Chinese font STSong-Light (Adobe-GB1). That font is never embedded:
every PDF reader that shows Chinese supplies it, so the sheet needs no font
file on the server (this machine has none) and stays a few kilobytes.

Where a code leads: on Telegram, the bot's deep link ``t.me/<bot>?start=w_<id>``;
on the local chat (no Telegram), the chat page itself, ``<page>/?start=w_<id>``:
a phone's camera opens it, and the page sends ``/start w_<id>`` for a person
who has joined. A ``t.me`` link to the local chat's made-up bot name would
lead nowhere.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

import segno

from ledger.ids import parse_id

PAGE_W, PAGE_H = 595.0, 842.0  # A4 in points
COLUMNS, ROWS = 2, 3  # codes per page: six, big enough to scan from a step away
MARGIN = 36.0
CODE_SIDE = 170.0  # points, quiet zone included
PAYLOAD_PREFIX = "w_"  # invitation codes never contain "_": the two cannot collide


@dataclass(frozen=True)
class Label:
    """One code on the sheet: the building it opens and what is printed under it."""

    building_id: int
    building: str
    school: str


def payload(building_id: int) -> str:
    return f"{PAYLOAD_PREFIX}{building_id}"


def parse_payload(text: str) -> int | None:
    """The building id of a ``w_<id>`` start payload, or None."""
    if not text.startswith(PAYLOAD_PREFIX):
        return None
    rest = text.removeprefix(PAYLOAD_PREFIX)
    return parse_id(rest) if len(rest) < 12 else None


def link_base(bot_username: str | None, local_page: str | None) -> str | None:
    """What a code's link starts with: the local chat's page when the bot runs on it,
    else the bot's Telegram address; None when neither is known."""
    if local_page:
        return local_page.rstrip("/") + "/"
    if bot_username:
        return f"https://t.me/{bot_username}"
    return None


def only_this_machine(base: str) -> bool:
    """A link to a loopback address: no phone can open it (local.public_url is unset)."""
    host = urlsplit(base).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def building_link(base: str, building_id: int) -> str:
    """The link of one building's code, from ``link_base``."""
    return f"{base}?start={payload(building_id)}"


def modules(link: str) -> list[list[bool]]:
    """The dark (True) and light modules of the code, quiet zone included."""
    code = segno.make_qr(link, error="m")
    return [[bool(m) for m in row] for row in code.matrix_iter(scale=1, border=4)]


def _text_width(text: str, size: float) -> float:
    """Advance of ``text``: Chinese full width, ASCII half (the /W array below)."""
    return sum(0.5 if ord(ch) < 128 else 1.0 for ch in text) * size


def _hex(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


def _clip(text: str, size: float, width: float) -> str:
    while text and _text_width(text, size) > width:
        text = text[:-1]
    return text


def _show(text: str, size: float, center_x: float, y: float, width: float) -> str:
    line = _clip(text, size, width)
    x = center_x - _text_width(line, size) / 2
    return f"BT /F1 {size:g} Tf {x:.2f} {y:.2f} Td <{_hex(line)}> Tj ET\n"


def _code(link: str, left: float, bottom: float) -> str:
    """The code's dark modules as filled squares; marked so a reader can find each code."""
    grid = modules(link)
    unit = CODE_SIDE / len(grid)
    parts = [f"% code {link}\n0 g\n"]
    for r, row in enumerate(grid):
        y = bottom + CODE_SIDE - (r + 1) * unit
        for c, dark in enumerate(row):
            if dark:
                parts.append(f"{left + c * unit:.3f} {y:.3f} {unit:.3f} {unit:.3f} re\n")
    parts.append("f\n")
    return "".join(parts)


def _page(labels: list[Label], base: str, hint: str) -> str:
    cell_w = (PAGE_W - 2 * MARGIN) / COLUMNS
    cell_h = (PAGE_H - 2 * MARGIN) / ROWS
    out = []
    for index, label in enumerate(labels):
        col, row = index % COLUMNS, index // COLUMNS
        left = MARGIN + col * cell_w
        top = PAGE_H - MARGIN - row * cell_h
        center = left + cell_w / 2
        out.append(f"0.6 G 0.5 w {left + 4:.2f} {top - cell_h + 4:.2f} {cell_w - 8:.2f}"
                   f" {cell_h - 8:.2f} re S\n")  # fmt: skip
        out.append(_show(label.building, 20, center, top - 34, cell_w - 24))
        code_bottom = top - 44 - CODE_SIDE
        out.append(_code(building_link(base, label.building_id), center - CODE_SIDE / 2,
                         code_bottom))  # fmt: skip
        out.append(_show(label.school, 11, center, code_bottom - 8, cell_w - 24))
        out.append(_show(hint, 10, center, code_bottom - 24, cell_w - 24))
    return "".join(out)


_FONT = (
    "<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UTF16-H"
    " /DescendantFonts [5 0 R] >>"
)
_CID_FONT = (
    "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light"
    " /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >>"
    " /FontDescriptor 6 0 R /DW 1000 /W [1 95 500] >>"
)
_DESCRIPTOR = (
    "<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6"
    " /FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120"
    " /CapHeight 880 /StemV 93 >>"
)


def sheet_pdf(labels: list[Label], base: str, hint: str = "扫码开始本楼排查") -> bytes:
    """The printable sheet: A4 pages of six codes, each named, in the order given;
    ``base`` from ``link_base``."""
    per_page = COLUMNS * ROWS
    pages = [labels[i : i + per_page] for i in range(0, len(labels), per_page)] or [[]]
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        3: b"<< /Font << /F1 4 0 R >> >>",
        4: _FONT.encode(),
        5: _CID_FONT.encode(),
        6: _DESCRIPTOR.encode(),
    }
    kids = []
    for n, page_labels in enumerate(pages):
        page_id, content_id = 7 + 2 * n, 8 + 2 * n
        kids.append(f"{page_id} 0 R")
        stream = _page(page_labels, base, hint).encode("ascii")
        objects[page_id] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W:g} {PAGE_H:g}]"
            f" /Resources 3 0 R /Contents {content_id} 0 R >>"
        ).encode()
        objects[content_id] = (
            f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream"
        )
    objects[2] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>".encode()
    return _assemble(objects)


def _assemble(objects: dict[int, bytes]) -> bytes:
    """Objects, the cross-reference table and the trailer."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n".encode() + objects[number] + b"\nendobj\n"
    xref = len(out)
    size = max(objects) + 1
    out += f"xref\n0 {size}\n0000000000 65535 f \n".encode()
    for number in range(1, size):
        out += f"{offsets[number]:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)

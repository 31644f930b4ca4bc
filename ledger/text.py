"""What people type, made fit to store and to show: one normalisation for every field.

Typed text can hide things: characters that render as nothing (zero-width
spaces, a byte-order mark, Hangul fillers), control characters, and the
Unicode bidi controls that make a name read backwards on screen (a
right-to-left override turns ``exe.gpj`` into ``jpg.exe``). Every piece of
text the bot stores goes through ``normalise`` first: composed (NFC), bidi
controls and other invisible formatting removed, control characters removed
(a line break kept where the field allows several lines). Text with nothing
visible left is refused by the caller.
"""

from __future__ import annotations

import unicodedata

# Bidi embeddings, overrides, isolates and the directional marks: they change
# the order in which the rest is shown and are never needed in our fields.
BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e"  # LRE RLE PDF LRO RLO
    "\u2066\u2067\u2068\u2069"  # LRI RLI FSI PDI
    "\u200e\u200f\u061c"  # LRM RLM ALM
)
# Letters and symbols that render as blank space without being spaces.
BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5")
# Zero-width joiners shape emoji and some scripts: kept between visible characters.
JOINERS = frozenset("\u200c\u200d")
LINE_BREAKS = ("\r\n", "\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c")


def _kept(ch: str) -> bool:
    """Whether a character (other than a line break) survives."""
    if ch in BIDI_CONTROLS or ch in BLANK_LOOKING:
        return False
    category = unicodedata.category(ch)
    if category in ("Cc", "Cs"):  # control characters; lone surrogates
        return False
    return category != "Cf" or ch in JOINERS  # other invisible formatting goes


def _visible(ch: str) -> bool:
    """A character that shows something by itself (not a space, a mark or a joiner)."""
    return not ch.isspace() and ch not in JOINERS and unicodedata.category(ch)[0] != "M"


def _drop_loose_joiners(line: str) -> str:
    """A joiner only means something between two visible characters (runs become one)."""
    if not any(ch in JOINERS for ch in line):
        return line
    following = [""] * (len(line) + 1)  # the next character that is not a joiner
    for i in range(len(line) - 1, -1, -1):
        following[i] = following[i + 1] if line[i] in JOINERS else line[i]
    out: list[str] = []
    for i, ch in enumerate(line):
        if ch in JOINERS:
            before, after = (out[-1] if out else ""), following[i + 1]
            if not (before and _visible(before) and after and _visible(after)):
                continue
        out.append(ch)
    return "".join(out)


def normalise(text: str, *, multiline: bool) -> str:
    """The text as it will be stored; '' when nothing visible is left.

    One line (names): every run of white space becomes one space. Several lines
    (descriptions, reasons): line breaks are kept, tabs become spaces, and the
    ends of each line are trimmed.
    """
    text = unicodedata.normalize("NFC", text)
    for brk in LINE_BREAKS:
        text = text.replace(brk, "\n")
    text = text.replace("\t", " ")
    lines = ["".join(ch for ch in line if _kept(ch)) for line in text.split("\n")]
    lines = [_drop_loose_joiners(line) for line in lines]
    if multiline:
        value = "\n".join(line.rstrip() for line in lines).strip()
    else:
        value = " ".join(" ".join(lines).split())
    return value if any(_visible(ch) for ch in value) else ""


def shown(text: str, limit: int) -> str:
    """A short piece of typed text echoed back (not stored): one line, normalised."""
    return normalise(text, multiline=False)[:limit]

"""Every text the bot sends: ``zh.toml`` and ``en.toml`` hold the core; a feature may
keep its own texts beside them (``zh.tasks.toml``, ``en.tasks.toml``). A key
defined in two files of one language is an error.

The words of the domain, in Chinese and English: a package below the bot, the
handlers, the use cases and the scheduler, which all use it (dependencies point
inward); it imports nothing of ours. The files are in ``texts/locales/``.

Handlers never assemble sentences: they name a text and pass values.
Values are HTML-escaped here, because every message is sent with
``parse_mode=HTML``; a value that is already HTML (a list the bot built from
other texts) is wrapped in ``Html`` to pass through unchanged.
"""

from __future__ import annotations

import html
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

# A folder of files, not a package imported: installed with this one (package data).
LOCALES = Path(__file__).resolve().parent / "locales"
LANGUAGES = ("zh", "en")
DEFAULT = "zh"


class Html(str):
    """A value that is already safe HTML."""

    __slots__ = ()


def language_of(code: str | None) -> str:
    """English for clients whose language starts with ``en``, Chinese otherwise."""
    return "en" if (code or "").lower().startswith("en") else DEFAULT


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Every text of ``lang``, from its core file and its feature files."""
    names = sorted(
        entry.name
        for entry in LOCALES.iterdir()
        if entry.name == f"{lang}.toml"
        or (entry.name.startswith(f"{lang}.") and entry.name.endswith(".toml"))
    )
    merged: dict[str, str] = {}
    for name in names:
        texts = _flatten(tomllib.loads((LOCALES / name).read_text(encoding="utf-8")))
        twice = merged.keys() & texts.keys()
        if twice:
            raise KeyError(f"{name} defines again: {', '.join(sorted(twice))}")
        merged.update(texts)
    return merged


def t(lang: str, key: str, **values: Any) -> str:
    """The text ``key`` in ``lang`` with ``values`` filled in (escaped)."""
    template = catalogue(lang if lang in LANGUAGES else DEFAULT)[key]
    safe = {
        k: v if isinstance(v, Html) else html.escape(str(v), quote=False) for k, v in values.items()
    }
    return template.format(**safe) if safe else template


def has(lang: str, key: str) -> bool:
    return key in catalogue(lang)

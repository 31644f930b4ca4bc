"""Every text the bot sends, one file per language (``locales/*.toml``).

Handlers never assemble sentences: they name a text and pass values.
Values are HTML-escaped here, because every message is sent with
``parse_mode=HTML``; a value that is already HTML (a list the bot built from
other texts) is wrapped in ``Html`` to pass through unchanged.
"""

from __future__ import annotations

import html
import tomllib
from functools import cache
from importlib import resources
from typing import Any

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
    source = resources.files("handlers").joinpath("locales", f"{lang}.toml")
    return _flatten(tomllib.loads(source.read_text(encoding="utf-8")))


def t(lang: str, key: str, **values: Any) -> str:
    """The text ``key`` in ``lang`` with ``values`` filled in (escaped)."""
    template = catalogue(lang if lang in LANGUAGES else DEFAULT)[key]
    safe = {
        k: v if isinstance(v, Html) else html.escape(str(v), quote=False) for k, v in values.items()
    }
    return template.format(**safe) if safe else template


def has(lang: str, key: str) -> bool:
    return key in catalogue(lang)

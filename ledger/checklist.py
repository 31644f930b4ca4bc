"""The checklist: which questions a building is asked.

The list itself is data (``checklist.toml`` beside this file, or a file the
task force names in the config). Its digest identifies a version: answers
point at items of one version, so editing the file never changes the meaning
of answers already given.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

from ledger.buildings import USES
from ledger.errors import ConfigError

DEFAULT_PATH = Path(__file__).with_name("checklist.toml")
CATEGORIES = ("fire", "seismic", "records")
ITEM_KEYS = frozenset({"code", "category", "uses", "built_before", "zh", "en"})


@dataclass(frozen=True)
class ChecklistItem:
    code: str
    category: str
    zh: str
    en: str
    uses: tuple[str, ...] = ()  # empty: every use
    built_before: int | None = None

    def applies_to(self, use: str, year_built: int | None) -> bool:
        if self.uses and use not in self.uses:
            return False
        if self.built_before is not None:
            return year_built is not None and year_built < self.built_before
        return True

    def text(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class Checklist:
    name: str
    items: tuple[ChecklistItem, ...]

    @property
    def digest(self) -> str:
        """A short content hash: the same file gives the same version."""
        payload = json.dumps([asdict(i) for i in self.items], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def for_building(self, use: str, year_built: int | None) -> list[ChecklistItem]:
        return [i for i in self.items if i.applies_to(use, year_built)]


def load_checklist(path: Path = DEFAULT_PATH) -> Checklist:
    """Read and check a checklist file; a mistake names the item and key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"checklist {path}: {exc}") from exc
    raw_items = data.get("item")
    if not isinstance(raw_items, list) or not raw_items:
        raise ConfigError(f"checklist {path}: no [[item]] entries")
    items: list[ChecklistItem] = []
    seen: set[str] = set()
    for n, raw in enumerate(raw_items, start=1):
        where = f"checklist {path}: item {n}"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: must be an [[item]] table")
        code = raw.get("code")
        if not isinstance(code, str) or not code:
            raise ConfigError(f"{where}: 'code' missing")
        if code in seen:
            raise ConfigError(f"{where} ({code}): 'code' repeated")
        seen.add(code)
        unknown = sorted(set(raw) - ITEM_KEYS)
        if unknown:
            raise ConfigError(f"{where} ({code}): unknown key '{unknown[0]}'")
        if raw.get("category") not in CATEGORIES:
            raise ConfigError(
                f"{where} ({code}): 'category' must be one of {', '.join(CATEGORIES)}"
            )
        raw_uses = raw.get("uses", [])
        if not isinstance(raw_uses, list) or any(u not in USES for u in raw_uses):
            raise ConfigError(f"{where} ({code}): 'uses' must be a list among {', '.join(USES)}")
        uses = tuple(raw_uses)
        before = raw.get("built_before")
        if before is not None and (isinstance(before, bool) or not isinstance(before, int)):
            raise ConfigError(f"{where} ({code}): 'built_before' must be a year")
        for key in ("zh", "en"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise ConfigError(f"{where} ({code}): '{key}' missing")
        items.append(ChecklistItem(code, raw["category"], raw["zh"], raw["en"], uses, before))
    return Checklist(str(data.get("name", "")), tuple(items))

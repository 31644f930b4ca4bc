"""The README stays true: every chat command and every command-line command is documented."""

from __future__ import annotations

import re
from pathlib import Path

from telegram.ext import CommandHandler

from bot.cli import parser
from ledger.menu import ORDER as MENU
from tests.simulator import Simulator
from texts import LANGUAGES, catalogue

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def chat_commands(sim: Simulator) -> set[str]:
    return {
        command
        for handlers in sim.app.handlers.values()
        for handler in handlers
        if isinstance(handler, CommandHandler)
        for command in handler.commands
    }


async def test_every_chat_command_is_in_the_readme(sim: Simulator) -> None:
    documented = set(re.findall(r"`/([a-z_]+)", README))
    assert chat_commands(sim) - documented == set()


async def test_every_menu_command_exists_and_is_described(sim: Simulator) -> None:
    assert set(MENU) <= chat_commands(sim)
    for lang in LANGUAGES:
        assert all(f"commands.{name}" in catalogue(lang) for name in MENU)


def test_every_command_line_command_is_in_the_readme() -> None:
    sub = next(a for a in parser()._actions if a.dest == "command")
    for name in sub.choices:
        assert f"xiaoan {name}" in README or f"`{name}`" in README, name


# --- the repository stands on its own: docs/ says what the product is, and stays true ----

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
PRODUCT = (ROOT / "docs" / "product.md").read_text(encoding="utf-8")
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
PACKAGES = (
    "bot", "cases", "handlers", "ledger", "storage", "scheduler", "reports", "localchat",
    "telegram_rules", "texts",
)  # fmt: skip
SKIPPED = {".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache",
           "data", "test-artifacts", "build", ".hypothesis"}  # fmt: skip
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)|<(https?://[^>\s]+)>")
LOOPBACK = re.compile(r"https?://(127\.0\.0\.1|localhost)(:\d+)?(/|$)")


def cli_commands() -> set[str]:
    sub = next(a for a in parser()._actions if a.dest == "command")
    return set(sub.choices or ())


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *DOCS]


TEXT_SUFFIXES = {".py", ".md", ".toml", ".sql", ".js", ".html", ".css", ".txt", ""}


def repository_files() -> list[Path]:
    """Every text file of the repository (not the virtualenv, caches or run-time data)."""
    found = []
    for path in ROOT.rglob("*"):
        parts = path.relative_to(ROOT).parts
        skipped = set(parts) & SKIPPED or any(p.endswith(".egg-info") for p in parts)
        if path.is_file() and not skipped and path.suffix in TEXT_SUFFIXES:
            found.append(path)
    return found


def anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes."""
    return {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", text, re.MULTILINE)
    }


def test_the_docs_exist_and_the_readme_links_them() -> None:
    assert [p.name for p in DOCS] == ["architecture.md", "product.md"]
    assert "(docs/product.md)" in README and "(docs/architecture.md)" in README


def test_no_link_leaves_the_repository() -> None:
    for source in markdown_files():
        text = source.read_text(encoding="utf-8")
        for relative, absolute in LINK.findall(text):
            target = relative or absolute
            if target.startswith(("http://", "https://")):
                # Only the local chat on this machine: nothing on the internet, no other repo.
                assert LOOPBACK.match(target), f"{source.name}: {target}"
                continue
            path, _, anchor = target.partition("#")
            resolved = (source.parent / path).resolve() if path else source
            assert resolved.is_relative_to(ROOT), f"{source.name}: {target} leaves the repository"
            assert resolved.exists(), f"{source.name}: {target} does not exist"
            if anchor:
                assert anchor in anchors(resolved.read_text(encoding="utf-8")), target


def test_nothing_names_a_document_outside_the_repository() -> None:
    # Spelled in pieces, so that this file does not name them itself.
    outside = ("../" + "shared", "/work" + "/", "PRODUCT" + ".md", "ARCHITECTURE" + ".md")
    for path in repository_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for name in outside:
            assert name not in text, f"{path.relative_to(ROOT)} names {name}"


def test_the_roles_the_product_names_are_the_roles_there_are() -> None:
    from ledger.roles import Role

    table = set(re.findall(r"^\| `([a-z]+)` \|", PRODUCT, re.MULTILINE))
    assert table == {role.value for role in Role}


async def test_every_command_the_docs_name_exists(sim: Simulator) -> None:
    commands = chat_commands(sim)
    for source in DOCS:
        text = source.read_text(encoding="utf-8")
        for name in re.findall(r"`/([a-z_]+)", text):
            assert name in commands, f"{source.name}: /{name}"
        for name in re.findall(r"`xiaoan ([a-z]+)", text):
            assert name in cli_commands(), f"{source.name}: xiaoan {name}"


def test_every_setting_and_module_the_docs_name_exists() -> None:
    import importlib

    from bot.config import SETTINGS

    settings = {s.name for s in SETTINGS}
    sections = {name.split(".")[0] for name in settings}
    dotted = re.compile(r"`((?:[a-z_]+\.)+[A-Za-z_]+)`")
    for source in markdown_files():
        text = source.read_text(encoding="utf-8")
        for name in re.findall(r"`\[([a-z_]+)\]`", text):
            assert name in sections, f"{source.name}: [{name}]"
        for name in dotted.findall(text):
            first = name.split(".")[0]
            if first in sections and name not in settings and first not in PACKAGES:
                raise AssertionError(f"{source.name}: no setting {name}")
            if name in settings or first not in PACKAGES:
                continue
            # A module, or something in one: bot.app.InboxRequest, handlers.base.entry.
            parts = name.split(".")
            for cut in range(len(parts), 0, -1):
                try:
                    found: object = importlib.import_module(".".join(parts[:cut]))
                except ImportError:
                    continue
                for attribute in parts[cut:]:
                    found = getattr(found, attribute)
                break
            else:
                raise AssertionError(f"{source.name}: no module {name}")


def test_every_path_the_docs_name_exists() -> None:
    for source in DOCS:
        text = source.read_text(encoding="utf-8")
        for path in re.findall(r"`([a-z_]+/[\w./-]*)`", text):
            assert (ROOT / path).exists(), f"{source.name}: {path}"


def test_the_checklist_the_product_describes_is_the_default() -> None:
    from ledger.checklist import DEFAULT_PATH, load_checklist

    codes = {item.code for item in load_checklist(DEFAULT_PATH).items}
    named: set[str] = set()
    for first, last in re.findall(r"\b([A-Z]\d\d)(?:–([A-Z]\d\d))?\b", PRODUCT):
        if last:
            prefix = first[0]
            named |= {f"{prefix}{n:02d}" for n in range(int(first[1:]), int(last[1:]) + 1)}
        else:
            named.add(first)
    assert named == codes
    assert f"The default has {len(codes)}" in PRODUCT


def imports_of(package: str) -> set[str]:
    """Our packages that a package's modules import (anywhere in a module)."""
    import ast

    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
    return (found & set(PACKAGES)) - {package}


def test_the_packages_import_as_the_architecture_says() -> None:
    rows = re.findall(r"^\| `([a-z_]+)` \| [^|]+ \| ([^|]+) \|$", ARCHITECTURE, re.MULTILINE)
    table = {package: cell.strip() for package, cell in rows}
    assert set(table) == set(PACKAGES)
    for package, cell in table.items():
        if cell == "every package":
            continue
        allowed = set() if cell == "none" else set(re.findall(r"`([a-z_]+)`", cell))
        assert imports_of(package) <= allowed, package


async def test_what_is_not_built_yet_is_said_and_only_that(sim: Simulator) -> None:
    """The day supervision or a ledger check is built, the docs must stop saying it is not."""
    not_built = PRODUCT.split("## Not built yet", 1)[1]
    supervision = any("supervis" in command for command in chat_commands(sim))
    assert ("**Supervision (督查).**" in not_built) != supervision
    if supervision:  # built: the product says what a supervisor does
        assert "`/supervise`" in PRODUCT and "`xiaoan draw`" in PRODUCT
    assert ("**Evidence checks.**" in not_built) != ("verify" in cli_commands())

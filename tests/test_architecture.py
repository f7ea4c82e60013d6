"""The shape of the house, checked: data flows cogs -> services -> store / API clients,
and names say one thing each. A change that breaks a rule fails here with the file."""

from __future__ import annotations

import ast
import collections
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_no_two_public_classes_share_a_name() -> None:
    where: dict[str, list[str]] = collections.defaultdict(list)
    for path in _modules("bot", "cogs"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                where[node.name].append(_rel(path))
    assert {name: files for name, files in where.items() if len(files) > 1} == {}


def test_no_cog_imports_another_cog() -> None:
    wrong = []
    for path in _modules("cogs"):
        own = path.relative_to(ROOT / "cogs").parts[0].removesuffix(".py")
        for module in _imports(path):
            parts = module.split(".")
            if parts[0] == "cogs" and len(parts) > 1 and parts[1] != own:
                wrong.append(f"{_rel(path)} imports {module}")
    assert wrong == []


def test_services_store_and_api_clients_know_nothing_of_discord_or_cogs() -> None:
    wrong = [
        f"{_rel(path)} imports {module}"
        for path in _modules("bot/services", "bot/store", "bot/apis", "bot/domain")
        for module in _imports(path)
        if module.split(".")[0] in ("discord", "cogs") or module == "bot.app"
    ]
    assert wrong == []


def test_cogs_reach_the_store_only_through_services() -> None:
    wrong = [
        f"{_rel(path)} imports {module}"
        for path in _modules("cogs")
        for module in _imports(path)
        if module.startswith("bot.store")
    ]
    assert wrong == []


def test_sql_lives_in_the_store_only() -> None:
    keywords = ("SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM", "CREATE TABLE")
    wrong = []
    for path in _modules("bot", "cogs"):
        if _rel(path).startswith("bot/store/"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and any(node.value.lstrip().upper().startswith(k) for k in keywords)):
                wrong.append(f"{_rel(path)}:{node.lineno}")
    assert wrong == []

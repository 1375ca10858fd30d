"""Layers point one way: handlers -> bot -> storage -> knowledge; Telegram stays out of the core.

Every import statement of the project's code is read (also imports inside functions), so a
module that reaches up a layer, or pulls aiogram into `knowledge/` or `storage/`, fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("handlers", "bot", "storage", "knowledge")  # each may import only those after it
# Third-party packages a layer must not use: Telegram belongs to `bot/` and `handlers/`.
FORBIDDEN = {"knowledge": {"aiogram"}, "storage": {"aiogram"}}
# The one place the routers are plugged into the dispatcher (the composition root).
WIRING = {("bot/app.py", "handlers")}


def imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in PATH, relative imports resolved within the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = path.relative_to(root).parts[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            found.append((node.lineno, f"{package}.{module}" if node.level else module))
    return found


def project_files(layer: str, root: Path = ROOT) -> list[Path]:
    return sorted((root / layer).rglob("*.py"))


def violations(layer: str, root: Path = ROOT) -> list[str]:
    """Imports of LAYER (under ROOT) that go up a layer or use a package it must not use."""
    above = set(LAYERS[: LAYERS.index(layer)])
    found = []
    for path in project_files(layer, root):
        relative = path.relative_to(root).as_posix()
        for line, module in imported_modules(path, root):
            top = module.split(".")[0]
            if (relative, module) in WIRING:
                continue
            if top in above or top in FORBIDDEN.get(layer, set()):
                found.append(f"{relative}:{line} imports {module}")
    return found


@pytest.mark.parametrize("layer", LAYERS)
def test_no_layer_imports_one_above_it(layer: str) -> None:
    assert project_files(layer), f"no modules found in {layer}/"
    assert violations(layer) == []


def test_the_check_catches_upward_imports_and_telegram(tmp_path: Path) -> None:
    (tmp_path / "knowledge").mkdir()
    (tmp_path / "storage").mkdir()
    (tmp_path / "knowledge" / "probe.py").write_text(
        "def probe() -> None:\n    from bot.sender import quote\n", encoding="utf-8"
    )
    (tmp_path / "storage" / "probe.py").write_text(
        "from aiogram.types import User\nfrom . import models\n", encoding="utf-8"
    )
    assert violations("knowledge", tmp_path) == ["knowledge/probe.py:2 imports bot.sender"]
    assert violations("storage", tmp_path) == ["storage/probe.py:1 imports aiogram.types"]


def test_knowledge_commands_start_without_aiogram() -> None:
    """`civicbot ask` and `civicbot knowledge check` load no Telegram code at all."""
    import subprocess
    import sys

    probe = "import sys\nimport bot.cli, bot.knowledge_cli\nprint('aiogram' in sys.modules)\n"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"

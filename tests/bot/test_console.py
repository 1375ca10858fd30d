"""The console: the same bot in a terminal, also with piped input; `run` without a token."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def civicbot(args: list[str], stdin: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if name in {"PATH", "HOME"}}
    env |= {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'console.db'}",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,  # no .env of the developer's
        env=env,
        timeout=120,
        check=False,
    )


def test_piped_start_is_answered_and_buttons_are_numbered(tmp_path: Path) -> None:
    result = civicbot(["console"], "/start\n3\nogre\n1\n2\n", tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Sveiki, Console!")
    assert lines[1] == "[1] Lietuvių   [2] Latviešu   [3] English"
    assert "Which municipality is your community in?" in result.stdout  # pressed 3: English
    assert "[1] Ogre municipality" in result.stdout
    assert "Understood: I keep only your language." in result.stdout  # pressed 2: No, thanks
    assert "Traceback" not in result.stderr


def test_console_uses_the_same_database_across_runs(tmp_path: Path) -> None:
    civicbot(["console"], "/language\n2\n", tmp_path)
    again = civicbot(["console"], "/help\n", tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("Lūk, ko es varu:")  # Latvian was remembered


def test_run_without_token_explains_and_opens_the_console(tmp_path: Path) -> None:
    result = civicbot(["run"], "/help\n", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "No BOT_TOKEN is set" in result.stderr
    assert "@BotFather" in result.stderr
    assert result.stdout.startswith("Štai ką galiu:")


def test_db_upgrade(tmp_path: Path) -> None:
    result = civicbot(["db", "upgrade"], "", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "database is up to date"
    assert (tmp_path / "console.db").exists()

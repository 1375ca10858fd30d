"""The console: the same bot in a terminal, also with piped input; `run` without a token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support import CommandResult, run_civicbot


@pytest.fixture
def civicbot(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """Run `civicbot ARGS` in this process with STDIN, its database in TMP_PATH, no .env."""

    def run(args: list[str], stdin: str, tmp_path: Path) -> CommandResult:
        env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'console.db'}"}
        return run_civicbot(
            args, monkeypatch=monkeypatch, capsys=capsys, cwd=tmp_path, env=env, stdin=stdin
        )

    return run


def test_piped_start_is_answered_and_buttons_are_numbered(civicbot: Any, tmp_path: Path) -> None:
    result = civicbot(["console"], "/start\n#3\nogre\n#1\n#2\n", tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "> /start"  # piped input is echoed, so the output reads like the chat
    assert lines[1].startswith("Sveiki, Console!")
    assert lines[2] == "[#1] Lietuvių   [#2] Latviešu   [#3] English"
    assert lines[3] == "> #3"
    assert "Which municipality is your community in?" in result.stdout  # pressed 3: English
    assert "[#1] Ogre municipality" in result.stdout
    assert (
        "Understood: I keep only your name and language from Telegram." in result.stdout
    )  # pressed 2: No, thanks
    assert "Traceback" not in result.stderr


def test_a_plain_number_is_text_not_a_button(civicbot: Any, tmp_path: Path) -> None:
    result = civicbot(["console", "--lang", "en"], "/start\n2\n#7\n", tmp_path)
    assert result.returncode == 0, result.stderr
    after_two = result.stdout.split("> 2\n", 1)[1]
    assert after_two.startswith("Please choose a language with the buttons below.")
    assert "(there is no button #7)" in result.stdout


def test_console_uses_the_same_database_across_runs(civicbot: Any, tmp_path: Path) -> None:
    civicbot(["console"], "/language\n#2\n", tmp_path)
    again = civicbot(["console"], "/help\n", tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("> /help\nLūk, ko es varu:")  # Latvian was remembered


def test_run_without_token_explains_and_opens_the_console(civicbot: Any, tmp_path: Path) -> None:
    result = civicbot(["run"], "/help\n", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "No BOT_TOKEN is set" in result.stderr
    assert "@BotFather" in result.stderr
    assert result.stdout.startswith("> /help\nŠtai ką galiu:")


def test_db_upgrade(civicbot: Any, tmp_path: Path) -> None:
    result = civicbot(["db", "upgrade"], "", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "database is up to date"
    assert (tmp_path / "console.db").exists()

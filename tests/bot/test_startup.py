"""Start-up problems of the command line: one line naming the setting, exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import run_civicbot


@pytest.mark.parametrize("command", [["db", "upgrade"], ["run"], ["console"]])
def test_an_unwritable_sqlite_path_is_one_line(
    command: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the database's folder should be", encoding="utf-8")
    url = f"sqlite+aiosqlite:///{blocker / 'data' / 'civicbot.db'}"
    # A token and an address where nothing answers: the database must fail first.
    env = {"DATABASE_URL": url, "BOT_TOKEN": "123:TEST", "TELEGRAM_API_URL": "http://127.0.0.1:1"}
    result = run_civicbot(command, monkeypatch=monkeypatch, capsys=capsys, cwd=tmp_path, env=env)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"civicbot: DATABASE_URL: cannot open {url}: ")
    assert "Not a directory" in line


def test_an_unreachable_postgresql_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = "postgresql+asyncpg://civicbot:secret@127.0.0.1:1/civicbot"
    result = run_civicbot(
        ["db", "upgrade"],
        monkeypatch=monkeypatch,
        capsys=capsys,
        cwd=tmp_path,
        env={"DATABASE_URL": url},
    )
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    shown = "postgresql+asyncpg://civicbot:***@127.0.0.1:1/civicbot"
    assert line.startswith(f"civicbot: DATABASE_URL: cannot open {shown}: ")
    assert "secret" not in result.stderr

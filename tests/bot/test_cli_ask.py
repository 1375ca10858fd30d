"""`civicbot ask` and `civicbot knowledge check`, run as the command line in this process."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.knowledge_cli import read_stored_calls
from knowledge.service import PACK_DIR
from storage.db import create_engine, create_sessionmaker, upgrade
from tests.support import CommandResult, run_civicbot, store_beekeeping_call

PILOT_QUERY = "iki kada teikti paraiskas bendruomeniu pilotui"


@pytest.fixture
def civicbot(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Any:
    """Run `civicbot ARGS` with its own SQLite database file and no .env of the developer."""

    def run(*args: str, database: Path) -> CommandResult:
        env = {"DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
        return run_civicbot(
            list(args), monkeypatch=monkeypatch, capsys=capsys, cwd=tmp_path, env=env
        )

    return run


def ask_json(civicbot: Any, question: str, database: Path, *options: str) -> dict[str, Any]:
    result = civicbot("ask", "--json", *options, question, database=database)
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    answer: dict[str, Any] = json.loads(line)
    assert set(answer) == {"lang", "answer", "score", "entry", "suggestions"}
    return answer


def test_pilot_question_answers_with_the_call_and_its_dates(civicbot: Any, tmp_path: Path) -> None:
    database = tmp_path / "fresh" / "civicbot.db"
    answer = ask_json(civicbot, PILOT_QUERY, database)
    assert answer["entry"] == "community-pilot-2021"
    assert answer["lang"] == "lt"
    assert "2021 m. rugpjūčio 17 d." in answer["answer"]
    assert "2021 m. rugpjūčio 27 d., 23:59" in answer["answer"]
    assert "<" not in answer["answer"]  # plain text, not HTML
    assert answer["suggestions"] == []
    assert 0.5 <= answer["score"] <= 1
    assert not database.exists(), "ask must not create the database"


def test_out_of_scope_question_has_no_entry(civicbot: Any, tmp_path: Path) -> None:
    answer = ask_json(civicbot, "What is the capital of France?", tmp_path / "civicbot.db")
    assert answer["lang"] == "en"
    assert answer["entry"] is None
    assert answer["answer"].startswith("I am not sure")
    for suggestion in answer["suggestions"]:
        assert set(suggestion) == {"id", "question"}


def test_plain_output_lists_the_suggestions(civicbot: Any, tmp_path: Path) -> None:
    result = civicbot("ask", "--lang", "en", "community pilot pizza", database=tmp_path / "x.db")
    assert result.returncode == 0, result.stderr
    first, *suggestions = result.stdout.splitlines()
    assert first.startswith("I am not sure")
    assert suggestions and all(line.startswith("- ") for line in suggestions)


def test_calls_in_the_database_are_part_of_the_knowledge(civicbot: Any, tmp_path: Path) -> None:
    database = tmp_path / "civicbot.db"
    url = f"sqlite+aiosqlite:///{database}"

    async def store() -> list[str]:
        engine = create_engine(url)
        await upgrade(engine)
        async with create_sessionmaker(engine)() as session:
            # The command answers at the real time: the call is stored relative to it.
            await store_beekeeping_call(session, now=datetime.now(UTC))
            await session.commit()
        await engine.dispose()
        return [call.id for call in await read_stored_calls(url)]

    assert asyncio.run(store()) == ["beekeeping-grants"]
    answer = ask_json(
        civicbot, "When do the beekeeping club grants close?", database, "--lang", "en"
    )
    assert answer["entry"] == "beekeeping-grants"
    assert "closes in 5 days" in answer["answer"]


def test_knowledge_check_passes_on_the_real_pack(civicbot: Any, tmp_path: Path) -> None:
    result = civicbot("knowledge", "check", database=tmp_path / "x.db")
    assert result.returncode == 0, result.stdout + result.stderr
    [summary] = result.stdout.splitlines()
    assert summary.startswith("knowledge is fine: ")


def test_knowledge_check_names_file_and_line_of_each_problem(civicbot: Any, tmp_path: Path) -> None:
    pack = Path(shutil.copytree(PACK_DIR, tmp_path / "pack"))
    pilot = pack / "community-pilot.yaml"
    lines = pilot.read_text(encoding="utf-8").splitlines()
    number = next(
        i for i, line in enumerate(lines, 1) if line.strip() == "closes: 2021-08-27T23:59"
    )
    lines[number - 1] = lines[number - 1].replace("2021-08-27T23:59", "2021-08-01T23:59")
    pilot.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = civicbot("knowledge", "check", "--pack", str(pack), database=tmp_path / "x.db")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"pack/community-pilot.yaml:{number}: call 'community-pilot-2021': closes "
        "(2021-08-01 23:59) is not after opens (2021-08-17 00:00)"
    ]
    assert "1 problem found" in result.stderr


def test_the_language_is_guessed_from_the_question(civicbot: Any, tmp_path: Path) -> None:
    database = tmp_path / "civicbot.db"
    assert ask_json(civicbot, "Kas ir Geri norai?", database)["lang"] == "lv"
    assert ask_json(civicbot, "Who funds Local-y-mpact?", database)["lang"] == "en"
    assert ask_json(civicbot, "Kas finansuoja Local-y-mpact?", database)["lang"] == "lt"

"""`civicbot export QUESTIONNAIRE --format csv|xlsx -o FILE`, in-process and as a real process."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from bot.cli import main
from knowledge.questionnaire import Draft, load_questionnaires
from storage import members, surveys
from storage.db import create_engine, create_sessionmaker, upgrade

ROOT = Path(__file__).resolve().parents[2]
QUESTIONNAIRE = "civic-organisations"

ANSWERS: dict[str, Any] = {
    "org_name": "Trakų bendruomenė",
    "org_type": "community",
    "municipality": "trakai-district",
    "contact_person": "Ona Onaitė",
    "contact_email": "ona@example.lt",
    "contact_phone": "+37061234567",
    "public_email": None,
    "website": "https://bendruomene.lt",
    "areas": ["seniors", "culture"],
    "members": 25,
    "volunteers": 7,
    "cooperates": False,
    "challenges": ["funding", "people"],
    "challenges_details": None,
    "needs": "=SUM(A1) premises",
    "training_interest": ["legal"],
    "directory_consent": True,
}


async def _seed(url: str, people: int) -> None:
    """PEOPLE members who each submitted the default questionnaire; one also updated it."""
    questionnaire = load_questionnaires()[QUESTIONNAIRE]
    engine = create_engine(url)
    await upgrade(engine)
    async with create_sessionmaker(engine)() as session:
        for member_id in range(1, people + 1):
            await members.sync_member(
                session, member_id=member_id, name="Ona", username=None, telegram_language="lt"
            )
            for volunteers in (7, 8) if member_id == 1 else (7,):
                draft = Draft(
                    questionnaire.id,
                    questionnaire.version,
                    None,
                    {**ANSWERS, "volunteers": volunteers},
                )
                row = await surveys.save_draft(session, member_id=member_id, draft=draft)
                version = surveys.consent_version(questionnaire)
                await surveys.record_consent(session, row=row, version=version)
                await surveys.submit(session, row=row, questionnaire=questionnaire, language="lt")
        await session.commit()
    await engine.dispose()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database with two members' submissions, named by DATABASE_URL."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'civicbot.db'}"
    monkeypatch.chdir(tmp_path)  # no .env from the developer's folder
    monkeypatch.setenv("DATABASE_URL", url)
    asyncio.run(_seed(url, people=2))
    return url


def _records(table: list[list[Any]]) -> list[dict[str, Any]]:
    ids = [str(title).rsplit("[", 1)[1].rstrip("]") for title in table[0]]
    return [dict(zip(ids, row, strict=True)) for row in table[1:]]


def test_csv_export_has_one_row_per_member_and_no_contacts(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "answers.csv"
    assert main(["export", QUESTIONNAIRE, "--format", "csv", "-o", str(out)]) == 0
    assert "2 submission(s) of civic-organisations written to" in capsys.readouterr().err
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM, so Excel reads the letters right
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    first, second = _records(table)
    # Lithuanian by default (DEFAULT_LOCALE), latest submission only, no personal columns.
    assert table[0][3] == "Koks jūsų organizacijos ar grupės pavadinimas? [org_name]"
    assert first["org_name"] == "Trakų bendruomenė"
    assert first["org_type"] == "Vietos bendruomenė"
    assert first["municipality"] == "Trakų rajono savivaldybė"
    assert first["areas"] == "Senjorai; Kultūra, menas ir paveldas"
    assert first["cooperates"] == "Ne"
    assert first["volunteers"] == "8" and second["volunteers"] == "7"
    assert first["needs"] == "'=SUM(A1) premises"  # never run as a formula
    assert first["submission_language"] == "lt"
    assert not any(key.startswith("contact_") for key in first)


def test_xlsx_export_in_english_with_contacts(database: str, tmp_path: Path) -> None:
    out = tmp_path / "answers.xlsx"
    argv = ["export", QUESTIONNAIRE, "--format", "xlsx", "-o", str(out), "--lang", "en"]
    assert main([*argv, "--personal"]) == 0
    sheet = load_workbook(out).active
    assert sheet is not None
    first, second = _records([list(row) for row in sheet.iter_rows(values_only=True)])
    assert first["org_type"] == "Local community"
    assert first["members"] == 25 and first["volunteers"] == 8
    assert first["contact_email"] == "ona@example.lt"
    assert first["contact_phone"] == "+37061234567"
    assert first["public_email"] is None
    assert second["volunteers"] == 7


def test_unknown_questionnaire_is_refused(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "nothing.csv"
    assert main(["export", "no-such-survey", "-o", str(out)]) == 1
    assert "no questionnaire 'no-such-survey' (known: civic-organisations)" in (
        capsys.readouterr().err
    )
    assert not out.exists()


def test_export_to_standard_output_as_a_process(database: str, tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if name in {"PATH", "HOME"}}
    env |= {"DATABASE_URL": database, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "export", QUESTIONNAIRE, "--lang", "lv", "-o", "-"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    table = list(csv.reader(io.StringIO(done.stdout.decode("utf-8-sig"))))
    assert len(table) == 3
    assert _records(table)[0]["org_type"] == "Vietējā kopiena"

"""`civicbot calls ics`: the calendar file of one call, or of every open and upcoming call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar

from tests.e2e.test_reminders_e2e import write_pack
from tests.support import run_civicbot


def test_calendar_files_from_the_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    write_pack(
        tmp_path / "pack",
        [
            ("open-call", "Open call", now - timedelta(days=1), now + timedelta(days=9)),
            ("coming-call", "Coming call", now + timedelta(days=3), now + timedelta(days=30)),
            ("old-call", "Old call", now - timedelta(days=90), now - timedelta(days=60)),
        ],
    )
    env = {
        "KNOWLEDGE_DIR": str(tmp_path / "pack"),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'none.db'}",
        "REMINDER_OFFSETS": "3d,1h",
    }

    def civicbot(*args: str) -> tuple[int, str, str]:
        result = run_civicbot(
            list(args), monkeypatch=monkeypatch, capsys=capsys, cwd=tmp_path, env=env
        )
        return result.returncode, result.stdout, result.stderr

    code, _, err = civicbot("calls", "ics", "-o", "all.ics")
    assert code == 0, err
    calendar = Calendar.from_ical((tmp_path / "all.ics").read_bytes())
    assert [str(e["UID"]) for e in calendar.walk("VEVENT")] == [
        "call-open-call@civicbot",
        "call-coming-call@civicbot",
    ]
    code, _, err = civicbot("calls", "ics", "old-call", "--lang", "en", "-o", "old.ics")
    assert code == 0, err
    [event] = Calendar.from_ical((tmp_path / "old.ics").read_bytes()).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Deadline: Old call"
    triggers = [alarm.decoded("TRIGGER") for alarm in event.walk("VALARM")]
    assert triggers == [-timedelta(days=3), -timedelta(hours=1)]
    code, _, err = civicbot("calls", "ics", "no-such-call", "-o", "x.ics")
    assert (code, err.strip()) == (1, "civicbot: no call has the id 'no-such-call'")
    assert not (tmp_path / "x.ics").exists()

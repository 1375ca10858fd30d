"""Members' data rights through the real dispatcher: each consent's switch in /privacy and its
effect, /mydata's document, /forget followed by new messages, and the command line."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiogram.methods import AnswerCallbackQuery, SendDocument, SendMessage
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from knowledge.export import directory_entry
from storage import announcements, help_requests, members, privacy, subscriptions, surveys
from storage.models import HelpRequest
from tests.handlers.test_survey import QUESTIONNAIRE, as_member, begin, one, to_review
from tests.support import Chatter, CommandResult, FixedClock, buttons, run_civicbot

ONA = 7


async def submitted_member(chatter: Chatter) -> None:
    """Ona: onboarded in English (Trakai, consent), the questionnaire submitted and listed,
    all calls followed."""
    as_member(chatter)
    [welcome] = await chatter.send("/start")
    await chatter.press(welcome, "English")
    [choices] = await chatter.send("Trakai")
    [consent] = await chatter.press(choices, "Trakai district")
    await chatter.press(consent, "Yes, store it")
    await chatter.press(await to_review(chatter), "Submit")
    [overview] = await chatter.send("/remind")
    await chatter.press(overview, "⬜ All calls")


async def privacy_view(chatter: Chatter) -> list[str]:
    [view] = await chatter.send("/privacy")
    return buttons(view)


async def switch(chatter: Chatter, label: str, *, confirm: bool = False) -> None:
    [view] = await chatter.send("/privacy")
    replies = await chatter.press(view, label)
    if confirm:
        await chatter.press(one(replies), "Yes, delete")


async def test_privacy_lists_each_consent_and_each_switch_works(chatter: Chatter, app: App) -> None:
    await submitted_member(chatter)
    assert await privacy_view(chatter) == [
        "✅ Profile: your municipality",
        "✅ Answers to “Survey of civic organisations”",
        "✅ Listing in /orgs: “Survey of civic organisations”",
        "✅ Deadline reminders",
        "✅ Announcements from coordinators",
        "⬜ Help requests",
    ]
    async with app.sessionmaker() as session:
        listed = await directory_listing_of(session, app)
        assert listed
    await switch(chatter, "✅ Listing in /orgs: “Survey of civic organisations”")
    async with app.sessionmaker() as session:
        assert await directory_listing_of(session, app) == []
        assert await surveys.current_submission(
            session, member_id=ONA, questionnaire_id=QUESTIONNAIRE
        )
    await switch(chatter, "✅ Deadline reminders")
    await switch(chatter, "✅ Announcements from coordinators")
    await switch(chatter, "⬜ Announcements from coordinators")  # on again
    async with app.sessionmaker() as session:
        assert not await announcements.is_opted_out(session, ONA)
    await switch(chatter, "✅ Announcements from coordinators")
    await switch(chatter, "✅ Profile: your municipality", confirm=True)
    async with app.sessionmaker() as session:
        assert await subscriptions.of_chat(session, chat_id=ONA) == []
        assert await announcements.is_opted_out(session, ONA)
        member = await members.get_member(session, member_id=ONA)
        assert member is not None and member.municipality is None and member.consent_at is None
    await switch(chatter, "✅ Answers to “Survey of civic organisations”", confirm=True)
    async with app.sessionmaker() as session:
        assert (
            await surveys.current_submission(session, member_id=ONA, questionnaire_id=QUESTIONNAIRE)
            is None
        )
    assert await privacy_view(chatter) == [
        "⬜ Profile: your municipality",
        "⬜ Answers to “Survey of civic organisations”",
        "⬜ Deadline reminders",
        "⬜ Announcements from coordinators",
        "⬜ Help requests",
    ]
    # Without the profile no announcement reaches her: switching them on says what to do.
    await switch(chatter, "⬜ Announcements from coordinators")
    [alert] = [r for r in chatter.session.requests if isinstance(r, AnswerCallbackQuery)][-1:]
    assert alert.show_alert and "/start" in (alert.text or "")


async def directory_listing_of(session: AsyncSession, app: App) -> list[object]:
    """The directory entries /orgs would show."""
    rows = await surveys.current_submissions(session, questionnaire_ids=[QUESTIONNAIRE])
    questionnaire = app.questionnaires[QUESTIONNAIRE]
    entries = (directory_entry(questionnaire, row.answers) for row in rows)
    return [entry for entry in entries if entry is not None]


async def test_withdrawing_help_request_consent_anonymises_them(chatter: Chatter, app: App) -> None:
    as_member(chatter)
    await chatter.send("/start")
    async with app.sessionmaker() as session:
        await help_requests.give_consent(
            session,
            member_id=ONA,
            purpose="help-request",
            version="1",
            now=app.dispatcher["clock"](),
        )
        request = await help_requests.create(
            session,
            now=app.dispatcher["clock"](),
            member_id=ONA,
            kind="legal",
            urgency="urgent",
            description="Help",
            language="en",
        )
        await session.commit()
        number = request.id
    await switch(chatter, "✅ Help requests", confirm=True)
    async with app.sessionmaker() as session:
        stored = await session.get(HelpRequest, number)
        assert stored is not None and stored.member_id is None and stored.description == "Help"
        assert await help_requests.consent(session, member_id=ONA, purpose="help-request") is None


async def test_mydata_sends_everything_and_forget_deletes_it_for_good(
    chatter: Chatter, app: App
) -> None:
    await submitted_member(chatter)
    before = len(chatter.session.requests)
    [summary] = await chatter.send("/mydata")
    [document] = [r for r in chatter.requests_since(before) if isinstance(r, SendDocument)]
    content = json.loads(document.document.data)  # type: ignore[union-attr]
    assert content["member_id"] == ONA
    assert {"member", "survey_submission", "subscription"} <= set(content["tables"])
    assert content["tables"]["member"][0]["municipality"] == "trakai-district"
    assert "Municipality: Trakai District Municipality" in summary.text
    assert "Questionnaire answers: 1; drafts: 0" in summary.text
    assert buttons(summary) == ["Privacy settings", "Delete everything"]

    [ask] = await chatter.send("/forget")
    assert "cannot be undone" in ask.text
    [kept] = await chatter.press(ask, "No, keep it")
    assert kept.text == "Nothing was deleted."
    [ask] = await chatter.send("/forget")
    [done] = await chatter.press(ask, "Yes, delete everything")
    assert "I will know only what Telegram tells me" in done.text
    async with app.sessionmaker() as session:
        assert await privacy.collect(session, ONA) == {}

    # Writing again starts afresh and brings nothing back.
    await chatter.send("When does the call close?")
    [again] = await chatter.send("/privacy")
    assert "✅" not in " ".join(buttons(again)).replace("✅ Announcements", "")
    async with app.sessionmaker() as session:
        found = await privacy.collect(session, ONA)
        assert set(found) <= {"member", "conversation_state"}
        [member] = found["member"]
        assert member["municipality"] is None and member["consent_at"] is None


def test_the_command_line_exports_and_forgets_a_member(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"}

    def civicbot(*args: str) -> CommandResult:
        return run_civicbot(
            list(args), monkeypatch=monkeypatch, capsys=capsys, cwd=tmp_path, env=env
        )

    assert civicbot("db", "upgrade").returncode == 0
    with sqlite3.connect(tmp_path / "bot.db") as db:
        db.execute(
            "INSERT INTO member (id, name, municipality, role, reachable, help_open, created_at, "
            "updated_at) VALUES (7, 'Ona', 'trakai-district', 'member', 1, 0, '2026-01-01', "
            "'2026-01-01')"
        )
        db.execute(
            "INSERT INTO subscription (chat_id, target, created_at) VALUES (7, 'all', '2026-01-01')"
        )
    target = tmp_path / "ona.json"
    exported = civicbot("member", "export", str(ONA), "-o", str(target))
    assert exported.returncode == 0, exported.stderr
    tables = json.loads(target.read_text())["tables"]
    assert tables["member"][0]["municipality"] == "trakai-district"
    assert tables["subscription"][0]["target"] == "all"
    refused = civicbot("member", "forget", str(ONA))
    assert refused.returncode == 2 and "--yes" in refused.stderr
    forgotten = civicbot("member", "forget", str(ONA), "--yes")
    assert forgotten.returncode == 0 and "2 rows deleted, 0 help requests" in forgotten.stdout
    nothing = civicbot("member", "export", str(ONA), "-o", "-")
    assert nothing.returncode == 1 and "nothing is stored" in nothing.stderr


async def test_a_draft_untouched_for_long_is_announced_once_then_deleted(
    chatter: Chatter, app: App, clock: FixedClock
) -> None:
    as_member(chatter)
    await chatter.send("/start")
    await begin(chatter)  # a draft, touched now (drafts keep the real time they were touched)
    clock.now = datetime.now(UTC) + timedelta(days=174)
    assert (await app.privacy.sweep()).drafts_warned == 1
    before = len(chatter.session.requests)
    await app.drainer.keep_lease()
    await app.drainer.drain_once()
    [warning] = [r for r in chatter.requests_since(before) if isinstance(r, SendMessage)]
    assert warning.chat_id == ONA
    assert "“Survey of civic organisations” has not been touched" in warning.text
    assert "/survey" in warning.text
    assert (await app.privacy.sweep()).drafts_warned == 0  # once
    clock.advance(timedelta(days=7))
    assert (await app.privacy.sweep()).drafts_deleted == 1
    async with app.sessionmaker() as session:
        assert (
            await surveys.get_draft(session, member_id=ONA, questionnaire_id=QUESTIONNAIRE) is None
        )

"""Announcements in process: the wizard from /broadcast to Confirm, the audience reached, each
recipient's version, opting out, the report, cancel and the CSV; coordinators only."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    SendDocument,
    SendMessage,
    SendPhoto,
)
from aiogram.types import Chat, PhotoSize

from bot.app import App
from bot.local_session import LocalSession
from storage import announcements, outbox
from storage.models import Announcement, GroupChat, Member, OutboxMessage
from tests.support import TEST_NOW, Chatter, FixedClock, buttons, make_user

# (id, language, municipality, consent given)
PEOPLE = [
    (101, "lt", "trakai-district", True),
    (102, "en", "trakai-district", True),
    (103, "lv", "trakai-district", True),
    (104, "lt", "vilnius-city", True),
    (105, "lt", "trakai-district", False),  # never consented: never contacted
]
GROUP_ID = -100500


async def seed(app: App) -> None:
    async with app.sessionmaker() as session:
        for member_id, lang, municipality, consented in PEOPLE:
            session.add(
                Member(
                    id=member_id,
                    name=f"Member {member_id}",
                    language=lang,
                    municipality=municipality,
                    consent_at=TEST_NOW if consented else None,
                )
            )
        session.add(GroupChat(id=GROUP_ID, title="Trakai", municipality="trakai-district"))
        await session.commit()


def coordinator(app: App, bot: Bot, local_session: LocalSession) -> Chatter:
    user = make_user(42, "en", name="Rasa")
    return Chatter(app.dispatcher, bot, local_session, user, Chat(id=42, type="private"))


async def drain(app: App) -> None:
    await app.drainer.keep_lease()
    await app.drainer.drain_once()


async def toggle(rasa: Chatter, view: Any, button: str) -> Any:
    """Press a switch of the audience view; the view as edited in place."""
    before = len(rasa.session.requests)
    await rasa.press(view, button)
    [edited] = [m for m in rasa.requests_since(before) if isinstance(m, EditMessageText)]
    return edited


async def compose(rasa: Chatter, *, everyone: int = 4, trakai: int = 3) -> SendMessage:
    """An lt text and an en photo for Trakai members; returns the summary with Confirm."""
    [*_, first] = await rasa.send("/broadcast")
    [ask_lt] = await rasa.press(first, "Lithuanian")
    assert "Lithuanian version" in ask_lt.text
    [more] = await rasa.send(
        "Susitikimas ketvirtadienį", entities=[{"type": "bold", "offset": 0, "length": 11}]
    )
    [ask_en] = await rasa.press(more, "English")
    assert "English version" in ask_en.text
    photo = [PhotoSize(file_id="poster", file_unique_id="p", width=1, height=1)]
    [more] = await rasa.send(photo=photo, caption="Meeting on Thursday")
    [audience] = await rasa.press(more, "Next: the audience")
    assert f"It reaches now: {everyone} members and 0 group chats." in audience.text
    [found] = await rasa.send("Trakai")
    [audience] = await rasa.press(found, "Trakai district")
    assert "Trakai district" in audience.text
    assert f"It reaches now: {trakai} members and 0 group chats." in audience.text
    [when] = await rasa.press(audience, "Next: when to send")
    replies = await rasa.press(when, "Send now")
    summary = replies[-1]
    assert f"It reaches now: {trakai} members and 0 group chats." in summary.text
    return summary


async def test_a_coordinator_composes_previews_and_sends_to_the_audience_once(
    app: App, bot: Bot, local_session: LocalSession
) -> None:
    await seed(app)
    rasa = coordinator(app, bot, local_session)
    before = len(local_session.requests)
    summary = await compose(rasa)
    previews = rasa.requests_since(before)
    # The preview shows each version exactly as sent, the counts per version above it.
    assert any(
        isinstance(m, SendMessage) and "Lithuanian version (2 recipients)" in m.text
        for m in previews
    )
    [photo_preview] = [m for m in previews if isinstance(m, SendPhoto)]
    assert photo_preview.photo == "poster" and photo_preview.caption == "Meeting on Thursday"
    replies = await rasa.press(summary, "✅ Confirm and send")
    [report] = replies
    assert "Announcement #1: sending to 3 recipients." in report.text
    assert buttons(report) == ["Cancel what is not sent yet", "Outcome per recipient (CSV)"]
    # A second press of Confirm stores nothing more.
    await rasa.press(summary, "✅ Confirm and send")
    before = len(local_session.requests)
    await drain(app)
    await drain(app)
    sent = rasa.requests_since(before)
    texts = {m.chat_id: m.text for m in sent if isinstance(m, SendMessage)}
    photos = {m.chat_id: m.photo for m in sent if isinstance(m, SendPhoto)}
    # Lithuanian and Latvian readers get the lt version (lv has none, lt is DEFAULT_LOCALE);
    # the English reader gets the photo by its file_id; nobody else gets anything.
    assert texts == {
        101: "<b>Susitikimas</b> ketvirtadienį",
        103: "<b>Susitikimas</b> ketvirtadienį",
    }
    assert photos == {102: "poster"}
    await app.broadcaster.report()
    edits = [m for m in local_session.requests if isinstance(m, EditMessageText)]
    final = edits[-1].text or ""
    assert "finished. 3 recipients" in final and "Sent: 3" in final
    async with app.sessionmaker() as session:
        stored = await announcements.get(session, 1)
        assert stored is not None and stored.status == "done"
        assert stored.counts is not None and stored.counts["sent"] == 3


async def test_members_opted_out_in_remind_get_nothing(
    app: App, bot: Bot, local_session: LocalSession
) -> None:
    await seed(app)
    member = Chatter(
        app.dispatcher, bot, local_session, make_user(101, "lt"), Chat(id=101, type="private")
    )
    [overview] = await member.send("/remind")
    assert "✅ 📣 Koordinatorių skelbimai" in buttons(overview)
    await member.press(overview, "✅ 📣 Koordinatorių skelbimai")
    async with app.sessionmaker() as session:
        assert await announcements.is_opted_out(session, 101)
    rasa = coordinator(app, bot, local_session)
    summary = await compose(rasa, everyone=3, trakai=2)
    await rasa.press(summary, "✅ Confirm and send")
    before = len(local_session.requests)
    await drain(app)
    assert {m.chat_id for m in rasa.requests_since(before) if hasattr(m, "chat_id")} == {102, 103}


async def test_groups_and_a_later_send_time(
    app: App, bot: Bot, local_session: LocalSession, clock: FixedClock
) -> None:
    await seed(app)
    rasa = coordinator(app, bot, local_session)
    [*_, first] = await rasa.send("/broadcast")
    [ask] = await rasa.press(first, "English")
    [more] = await rasa.send("Group meeting")
    [audience] = await rasa.press(more, "Next: the audience")
    audience = await toggle(rasa, audience, "⬜ Group chats")
    audience = await toggle(rasa, audience, "✅ Members")
    assert "It reaches now: 0 members and 1 group chat." in audience.text
    [when] = await rasa.press(audience, "Next: when to send")
    [passed] = await rasa.send("2020-01-01 10:00")
    assert "passed" in passed.text
    replies = await rasa.send("2026-06-16 09:00")
    [report] = await rasa.press(replies[-1], "✅ Confirm and send")
    assert "scheduled for" in report.text
    del ask, when
    await drain(app)
    async with app.sessionmaker() as session:
        assert (await outbox.counts(session, purposes=[announcements.PURPOSE]))["pending"] == 1
    clock.advance(timedelta(days=1))
    before = len(local_session.requests)
    await drain(app)
    [sent] = [m for m in rasa.requests_since(before) if isinstance(m, SendMessage)]
    assert sent.chat_id == GROUP_ID and sent.text == "Group meeting"


async def test_only_coordinators_may_broadcast_or_press_its_buttons(
    app: App, bot: Bot, local_session: LocalSession
) -> None:
    await seed(app)
    rasa = coordinator(app, bot, local_session)
    summary = await compose(rasa)
    stranger = make_user(101, "lt")
    member = Chatter(app.dispatcher, bot, local_session, stranger, Chat(id=101, type="private"))
    [refused] = await member.send("/broadcast")
    assert "koordinator" in refused.text.lower()
    confirm = next(
        button.callback_data
        for row in summary.reply_markup.inline_keyboard  # type: ignore[union-attr]
        for button in row
        if "Confirm" in button.text
    )
    before = len(local_session.requests)
    await member.press_data(str(confirm))
    answers = [m for m in local_session.requests[before:] if isinstance(m, AnswerCallbackQuery)]
    assert answers and "tik koordinatoriai" in (answers[0].text or "")
    async with app.sessionmaker() as session:
        assert await announcements.recent(session) == []
    # The report's buttons too.
    await member.press_data("co-bcr:cancel:1")
    await member.press_data("co-bcr:csv:1")
    assert not [m for m in local_session.requests if isinstance(m, SendDocument)]


async def test_cancel_stops_the_rest_and_the_csv_has_every_recipient(
    app: App, bot: Bot, local_session: LocalSession
) -> None:
    await seed(app)
    rasa = coordinator(app, bot, local_session)
    summary = await compose(rasa)
    [report] = await rasa.press(summary, "✅ Confirm and send")
    async with app.sessionmaker() as session:
        # One recipient got it before the cancel.
        row = (
            await session.execute(
                OutboxMessage.__table__.select().where(OutboxMessage.chat_id == 101)  # type: ignore[attr-defined]
            )
        ).first()
        assert row is not None
        await outbox.finish(session, row_id=row.id, status=outbox.SENT, sent_at=TEST_NOW)
        await session.commit()
    await rasa.press(report, "Cancel what is not sent yet")
    before = len(local_session.requests)
    await drain(app)
    assert not [m for m in rasa.requests_since(before) if isinstance(m, SendMessage | SendPhoto)]
    await app.broadcaster.report()
    async with app.sessionmaker() as session:
        stored = await session.get(Announcement, 1)
        assert stored is not None and stored.status == "cancelled"
        assert stored.counts is not None and stored.counts["cancelled"] == 2
    await rasa.press(report, "Outcome per recipient (CSV)")
    for _ in range(50):
        documents = [m for m in local_session.requests if isinstance(m, SendDocument)]
        if documents:
            break
        await asyncio.sleep(0.02)
    [document] = documents
    content = document.document.data.decode("utf-8-sig")  # type: ignore[union-attr]
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0][:5] == ["Recipient id", "Member or group", "Language", "Municipality", "Status"]
    by_id = {row[0]: row for row in rows[1:]}
    assert set(by_id) == {"101", "102", "103"}
    assert by_id["101"][4] == "sent" and by_id["102"][4] == "not sent (cancelled)"
    assert by_id["101"][3] == "Trakai district"
    assert "Ona" not in content and "Member 101" not in content
    # /broadcast lists it with its numbers.
    [recent, *_] = await rasa.send("/broadcast")
    assert "#1" in recent.text and "cancelled" in recent.text and "Sent 1" in recent.text


async def test_only_the_newest_audience_view_switches_and_a_send_time_needs_a_time(
    app: App, bot: Bot, local_session: LocalSession
) -> None:
    await seed(app)
    rasa = coordinator(app, bot, local_session)
    [*_, first] = await rasa.send("/broadcast")
    await rasa.press(first, "English")
    [more] = await rasa.send("Hello")
    [older] = await rasa.press(more, "Next: the audience")
    [found] = await rasa.send("Trakai")
    [newer] = await rasa.press(found, "Trakai district")
    before = len(local_session.requests)
    await rasa.press(older, "⬜ Group chats")  # the older view is stale: refused, nothing changed
    [refused] = [m for m in rasa.requests_since(before) if isinstance(m, AnswerCallbackQuery)]
    assert refused.show_alert and "no longer active" in (refused.text or "")
    switched = await toggle(rasa, newer, "✅ Members")  # the newest one works
    assert "It reaches now: 0 members and 0 group chats." in (switched.text or "")
    [picker] = await rasa.press(newer, "A questionnaire answer…")
    assert buttons(picker)[-1] == "Back"
    [back] = await rasa.press(picker, "Back")
    assert "Who receives it?" in back.text
    [when] = await rasa.press(newer, "Next: when to send")
    [refusal] = await rasa.send("05.12.2026")
    assert "a time of day" in refusal.text
    [far] = await rasa.send("2099-01-01 10:00")
    assert "within a year" in far.text
    del when

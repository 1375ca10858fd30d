"""Help requests in process: the wizard, the card, escalation once, an FAQ entry the pack
check accepts once translated, and a drainer that survives a renderer's defect."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.methods import CopyMessage, SendDocument, SendMessage
from aiogram.types import Chat, PhotoSize

from bot.app import App, open_app
from bot.help_requests import Relayed
from bot.local_session import LocalSession
from bot.outbox import Skip
from bot.settings import Settings
from knowledge.help_requests import faq_entry
from knowledge.municipalities import load_municipalities
from knowledge.pack import PackError, load_pack
from knowledge.reminders import Planned
from knowledge.service import KnowledgeBase
from storage import help_requests, outbox
from tests.support import Chatter, FixedClock, buttons, make_user

CHAT = -1009990001


@pytest.fixture
async def desk(
    settings: Settings, bot: Bot, shared_knowledge: KnowledgeBase, clock: FixedClock
) -> AsyncIterator[App]:
    """The application with a coordinators' chat and coordinators 42 and 43."""
    configured = settings.model_copy(
        update={"coordinator_chat_id": CHAT, "coordinator_ids": frozenset({42, 43})}
    )
    async with open_app(configured, bot=bot, knowledge=shared_knowledge.copy(), clock=clock) as app:
        yield app


@pytest.fixture
def leader(desk: App, bot: Bot, local_session: LocalSession) -> Chatter:
    user = make_user(7, "lt")
    return Chatter(desk.dispatcher, bot, local_session, user, Chat(id=7, type="private"))


async def drain(app: App) -> None:
    await app.drainer.keep_lease()
    await app.drainer.drain_once()


async def file_request(leader: Chatter) -> None:
    [consent] = await leader.send("/expert")
    [kind] = await leader.press(consent, "Sutinku")
    [urgency] = await leader.press(kind, "Teisinė")
    [place] = await leader.press(urgency, "Skubu: per 2 dienas")
    [found] = await leader.send("Trakai")
    assert "Trakų r." in buttons(found)
    [organisation] = await leader.press(found, "Trakų r.")
    [description] = await leader.press(organisation, "Praleisti")
    assert "aprašykite" in description.text
    [attachments] = await leader.send("Savivaldybė grasina bauda už mitingą.")
    photo = [PhotoSize(file_id="p", file_unique_id="p", width=1, height=1)]
    [added] = await leader.send(photo=photo)
    assert "Pridėta (1)" in added.text
    [review] = await leader.press(attachments, "Tęsti")
    assert "Savivaldybė grasina bauda" in review.text and "Failai: 1" in review.text
    [sent] = await leader.press(review, "Siųsti")
    assert "#1" in sent.text
    del place


async def test_a_request_reaches_the_coordinators_chat_and_is_escalated_once(
    desk: App, leader: Chatter, clock: FixedClock
) -> None:
    await file_request(leader)
    before = len(leader.session.requests)
    await drain(desk)
    sent = leader.requests_since(before)
    [card] = [m for m in sent if isinstance(m, SendMessage) and m.chat_id == CHAT]
    assert "Prašymas #1: Teisinė" in card.text and "Trakų r." in card.text
    assert buttons(card) == ["Paimti"]
    [photo] = [m for m in sent if isinstance(m, CopyMessage)]
    assert (photo.chat_id, photo.from_chat_id) == (CHAT, 7)
    # Two hours later (urgent), nobody has taken it: escalated in the chat and to each
    # coordinator, once.
    clock.advance(timedelta(hours=2, minutes=1))
    before = len(leader.session.requests)
    await drain(desk)
    await drain(desk)
    escalated = [m for m in leader.requests_since(before) if isinstance(m, SendMessage)]
    assert sorted(m.chat_id for m in escalated) == sorted([CHAT, 42, 43])
    assert all("niekas nepaėmė (laukia: 2 valandos)" in m.text for m in escalated)


async def test_a_taken_request_is_not_escalated(
    desk: App, leader: Chatter, clock: FixedClock
) -> None:
    await file_request(leader)
    await drain(desk)
    async with desk.sessionmaker() as session:
        assert await help_requests.take(
            session, request_id=1, coordinator_id=42, name="Rasa", now=clock()
        )
        await session.commit()
    clock.advance(timedelta(hours=3))
    before = len(leader.session.requests)
    await drain(desk)
    assert [m for m in leader.requests_since(before) if isinstance(m, SendMessage)] == []
    async with desk.sessionmaker() as session:
        counts = await outbox.counts(session, purposes=("help-escalate",))
    assert counts["skipped"] == 3


async def test_a_closed_request_becomes_an_faq_entry_the_pack_check_accepts_once_translated(
    tmp_path: Path, clock: FixedClock
) -> None:
    text = faq_entry(
        number=12,
        question="Ar savivaldybė gali bausti už mitingą?",
        answer="Ne, jei mitingas buvo suderintas; pateikite skundą per 14 dienų.",
        lang="lt",
        kind="legal",
        today=clock(),
    )
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "help-request-12.yaml").write_text(text, encoding="utf-8")
    municipalities = load_municipalities()
    with pytest.raises(PackError) as refused:
        load_pack(pack, municipalities=municipalities)
    assert "TODO: translate" in str(refused.value)
    translated = text.replace("TODO: translate (lt: ", "").replace("?)", "?").replace(".)", ".")
    (pack / "help-request-12.yaml").write_text(translated, encoding="utf-8")
    loaded = load_pack(pack, municipalities=municipalities)
    [entry] = loaded.entries
    assert entry.id == "help-request-12"
    assert entry.questions["lt"] == ("Ar savivaldybė gali bausti už mitingą?",)
    shutil.rmtree(pack)


async def test_a_renderer_defect_fails_its_row_and_the_others_still_go(
    desk: App, clock: FixedClock, local_session: LocalSession
) -> None:
    async def broken(*_args: object) -> Skip:
        raise RuntimeError("a bug")

    desk.drainer.add_renderer("broken", broken)
    async with desk.sessionmaker() as session:
        await outbox.enqueue(
            session,
            [
                Planned("broken:1", "broken", 7, "x", clock() - timedelta(seconds=2)),
                Planned("call-opened:7:nope", "call-opened", 7, "nope", clock()),
            ],
        )
        await session.commit()
    await drain(desk)
    async with desk.sessionmaker() as session:
        counts = await outbox.counts(session)
    assert (counts["failed"], counts["skipped"]) == (1, 1)
    assert not [m for m in local_session.requests if isinstance(m, SendDocument)]


async def test_a_leader_waiting_a_day_reminds_the_coordinator_once_unless_answered(
    desk: App, leader: Chatter, clock: FixedClock
) -> None:
    await file_request(leader)
    await drain(desk)
    async with desk.sessionmaker() as session:
        assert await help_requests.take(
            session, request_id=1, coordinator_id=42, name="Rasa", now=clock()
        )
        await session.commit()

    async def leader_writes(message_id: int) -> None:
        async with desk.sessionmaker() as session:
            request = await help_requests.get(session, 1)
            assert request is not None
            asked = Relayed(from_chat=7, message_id=message_id, html="Ar jau?", media=False)
            await desk.helpdesk.relay(
                session, request, asked, to_leader=False, reply_to=None, now=clock()
            )
            await session.commit()

    async def reminders_after_a_day() -> list[int | str]:
        clock.advance(timedelta(days=1, minutes=1))
        before = len(leader.session.requests)
        await drain(desk)
        await drain(desk)
        return [
            m.chat_id
            for m in leader.requests_since(before)
            if isinstance(m, SendMessage) and "atsakymo laukia jau parą" in m.text
        ]

    # Asked, answered within the day: no reminder.
    await leader_writes(500)
    async with desk.sessionmaker() as session:
        request = await help_requests.get(session, 1)
        assert request is not None
        answer = Relayed(from_chat=CHAT, message_id=900, html="Taip.", media=False)
        await desk.helpdesk.relay(
            session, request, answer, to_leader=True, reply_to=None, now=clock()
        )
        await session.commit()
    assert await reminders_after_a_day() == []
    # Asked again, not answered: the coordinator who took it is reminded, once.
    await leader_writes(501)
    assert await reminders_after_a_day() == [42]
    assert await reminders_after_a_day() == []

"""Questions answered by the real `civicbot run` process through the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from knowledge.municipalities import load_municipalities
from knowledge.pack import KnowledgePack, load_pack
from knowledge.service import PACK_DIR
from knowledge.text import Lang
from tests.e2e.conftest import BotProcess, bot_environment
from tests.e2e.fake_telegram import BOT_USERNAME, FakeTelegram

# One bot process answers every test of this module (each asks as other people), so the slow
# start of a process is paid once; the tests share the fake server and its event loop.
pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(bot_id=123) as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot_process(
    telegram: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BotProcess]:
    workdir: Path = tmp_path_factory.mktemp("faq")
    process = BotProcess(bot_environment(workdir, telegram), workdir, telegram)
    await process.start()
    yield process
    await process.kill()


@pytest.fixture(scope="module")
def pack() -> KnowledgePack:
    return load_pack(PACK_DIR, municipalities=load_municipalities())


async def test_members_get_answers_in_their_language(
    telegram: FakeTelegram, bot_process: BotProcess, pack: KnowledgePack
) -> None:
    asked: list[tuple[int, Lang, str, str]] = [
        (7, "lt", "Kas yra bendruomenių pilotas?", "pilot-about"),
        (8, "lv", "Kas ir LPA?", "lpa-organisation"),
        (9, "en", "What are the aims of the Resilient Society Programme?", "avp-aims"),
    ]
    for user_id, lang, question, _ in asked:
        telegram.send_text(telegram.user(user_id, language_code=lang), question)
    for user_id, lang, _, entry_id in asked:
        reply = (await telegram.wait_for(chat_id=user_id, timeout=30)).message
        assert reply is not None
        assert reply.plain_text == pack.entry(entry_id).answer[lang]
        assert reply.buttons == []


async def test_call_question_typed_without_diacritics(
    telegram: FakeTelegram, bot_process: BotProcess
) -> None:
    ona = telegram.user(7, language_code="lt")
    telegram.send_text(ona, "iki kada teikti paraiskas bendruomeniu pilotui")
    reply = (await telegram.wait_for(chat_id=7, timeout=30)).message
    assert reply is not None
    assert "2021 m. rugpjūčio 27 d., 23:59" in reply.plain_text
    assert "bendruomenes@nisc.lt" in reply.plain_text


async def test_group_answers_only_when_addressed(
    telegram: FakeTelegram, bot_process: BotProcess, pack: KnowledgePack
) -> None:
    group = telegram.group()
    john = telegram.user(8, "John", language_code="en")
    question = "What is the community pilot?"
    expected = pack.entry("pilot-about").answer["en"]
    # Updates of one person in one chat are handled in order: once the /ask is answered, the
    # unaddressed message before it has been handled too (and got nothing).
    telegram.send_text(john, question, chat=group)
    telegram.send_text(john, f"/ask {question}", chat=group)
    answered = (await telegram.wait_for(chat_id=group.id, timeout=30)).message
    assert answered is not None and answered.plain_text == expected
    telegram.send_text(john, f"@{BOT_USERNAME} {question}", chat=group)
    mentioned = (await telegram.wait_for(chat_id=group.id, timeout=30)).message
    assert mentioned is not None and mentioned.plain_text == expected
    telegram.send_text(john, question, chat=group, reply_to_message_id=mentioned.message_id)
    replied = (await telegram.wait_for(chat_id=group.id, timeout=30)).message
    assert replied is not None and replied.plain_text == expected
    telegram.send_text(john, "thanks, all clear now", chat=group)
    telegram.send_text(john, f"/ask {question}", chat=group)
    await telegram.wait_for(chat_id=group.id, timeout=30)
    assert len(telegram.sent_messages(group.id)) == 4

"""/forget with the real `civicbot run` process: a member fills in the questionnaire, files a
help request, follows calls, then asks to be forgotten. Afterwards the database holds nothing
of them but the anonymised help-request thread, the coordinators' chat never saw their name,
and writing again starts as a new member."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from handlers.survey_views import Step, SurveyConsent
from knowledge.questionnaire import load_questionnaires
from storage.privacy import PERSONAL
from tests.e2e.conftest import BotProcess, data
from tests.e2e.conftest import said as said_in
from tests.e2e.fake_telegram import FakeTelegram
from tests.e2e.test_help_requests_e2e import file_request
from tests.e2e.test_survey_e2e import QUESTIONNAIRE, Member, pick, said

ONA = 7
COORDINATORS_CHAT = -1007770002


def rows_about(env: dict[str, str], member_id: int) -> dict[str, int]:
    """How many rows of each personal table name MEMBER_ID."""
    path = env["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    found: dict[str, int] = {}
    with sqlite3.connect(path) as db:
        for table, columns in PERSONAL.items():
            if table == "conversation_state":
                keys = [row[0] for row in db.execute("SELECT key FROM conversation_state")]
                count = sum(1 for key in keys if str(member_id) in key.split(":")[2:4])
            else:
                where = " OR ".join(f'"{column}" = ?' for column in columns)
                query = f'SELECT count(*) FROM "{table}" WHERE {where}'
                count = db.execute(query, [member_id] * len(columns)).fetchone()[0]
            if count:
                found[table] = count
    return found


async def fill_questionnaire(ona: Member) -> None:
    version = load_questionnaires()[QUESTIONNAIRE].version
    await ona.says("/survey", "Pilietinių organizacijų apklausa")
    agree = SurveyConsent(q=QUESTIONNAIRE, v=version, agree=True).pack()
    await ona.presses(agree, "Koks jūsų organizacijos ar grupės pavadinimas?")
    await ona.says("Trakų bendruomenė", "Kokia tai organizacija?")
    await ona.presses(pick("org_type", "community"), "Kurioje savivaldybėje")
    offer = await ona.says("Trakuose", "Ar tai Trakų rajono savivaldybė?")
    await ona.presses(data(offer, "Trakų"), "Kontaktinio asmens vardas ir pavardė")
    await ona.says("Ona Onaitė", "Kontaktinio asmens el. pašto adresas")
    await ona.says("ona@bendruomene.lt", "Kontaktinio asmens telefono numeris")
    await ona.says("8 612 34567", "Viešas organizacijos el. pašto adresas")
    await ona.says("info@bendruomene.lt", "interneto svetainė")
    await ona.presses(Step(a="s", q="website").pack(), "Kokiose srityse veikia")
    await ona.ticks("areas", ["culture"], "Kiek narių turi")
    await ona.says("25", "Kiek savanorių")
    await ona.says("7", "Ar jūsų organizacija bendradarbiauja su savivaldybe?")
    await ona.presses(pick("cooperates", "no"), "Su kokiais iššūkiais")
    await ona.ticks("challenges", ["funding"], "Papasakokite plačiau")
    await ona.says("Trūksta patalpų.", "Ko jūsų organizacijai labiausiai reikės")
    await ona.says("Patalpų.", "Kokie mokymai")
    await ona.ticks("training_interest", ["project_writing"], "viešą pilietinių organizacijų")
    await ona.presses(pick("directory_consent", "yes"), "Trakų bendruomenė")
    await ona.presses(Step(a="u").pack(), "Ačiū! Jūsų atsakymai išsaugoti.")


async def test_forget_leaves_nothing_but_the_anonymised_thread(
    telegram: FakeTelegram, bot_env: dict[str, str], tmp_path: Path
) -> None:
    telegram.group(COORDINATORS_CHAT, "Koordinatoriai")
    bot_env |= {"COORDINATOR_CHAT_ID": str(COORDINATORS_CHAT)}
    process = BotProcess(bot_env, tmp_path, telegram)
    await process.start()
    try:
        user = telegram.user(ONA, "Ona")
        ona = Member(telegram, user)
        await fill_questionnaire(ona)
        overview = await ona.says("/remind", "Kol kas negaunate priminimų")
        telegram.press(user, overview, data(overview, "⬜ Visi kvietimai"))
        await telegram.wait_for("answerCallbackQuery")
        confirmation = await file_request(telegram, user, "Savivaldybė grasina bauda.")
        assert "#1" in confirmation.plain_text
        await said_in(telegram, COORDINATORS_CHAT, "Prašymas #1")
        await telegram.wait_for("copyMessage", chat_id=COORDINATORS_CHAT)
        for _attempt in range(50):  # the copy's mapping commits just after it is sent
            before = rows_about(bot_env, ONA)
            if "request_message" in before:
                break
            await asyncio.sleep(0.1)
        assert {"member", "survey_submission", "subscription", "consent"} <= set(before)
        assert before.get("request_message", 0) >= 1  # the photo's copy maps back to Ona

        ask = await ona.says("/forget", "Ištrinti viską?")
        telegram.press(user, ask, data(ask, "Taip, ištrinti viską"))
        await said(telegram, "žinosiu tik tai, ką pasako Telegram")
        # Nothing of Ona is left (once the update has committed); the thread stays, without her.
        for _attempt in range(50):
            if not rows_about(bot_env, ONA):
                break
            await asyncio.sleep(0.1)
        assert rows_about(bot_env, ONA) == {}
        path = bot_env["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
        with sqlite3.connect(path) as db:
            thread = db.execute(
                "SELECT member_id, description, show_username FROM help_request"
            ).fetchall()
        assert thread == [(None, "Savivaldybė grasina bauda.", 0)]
        # The coordinators' chat never saw her name or id.
        for message in telegram.sent_messages(COORDINATORS_CHAT):
            shown = message.plain_text
            assert "Ona" not in shown and " 7 " not in shown

        # Writing again starts afresh and brings nothing back.
        await ona.says("/privacy", "Jūsų sutikimai")
        assert ona.last is not None
        assert not any(
            label.startswith("✅ Profilis") for row in ona.last.buttons for label, _ in row
        )
        with sqlite3.connect(path) as db:
            member = db.execute(
                "SELECT municipality, consent_at FROM member WHERE id = ?", [ONA]
            ).fetchone()
        assert member == (None, None)
        assert set(rows_about(bot_env, ONA)) <= {"member", "conversation_state"}
        assert await process.stop() == 0
    finally:
        if process._process is not None:
            await process.kill()
    assert "Traceback" not in process.output

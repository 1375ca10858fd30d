"""The real `civicbot run` process: a member completes the default questionnaire in Lithuanian,
with the bot killed and restarted twice along the way, and a coordinator exports the answers.

Buttons are pressed by their callback data (the bot's own `Step` and `SurveyConsent`), so the
test does not depend on how the button labels are translated; question texts come from the
questionnaire file, in Lithuanian.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from handlers.survey_admin import ExportChoice
from handlers.survey_views import Step, SurveyConsent
from knowledge.questionnaire import load_questionnaires
from tests.e2e.conftest import COORDINATOR_ID, BotProcess
from tests.e2e.fake_telegram import FakeTelegram, FakeUser, SentMessage

QUESTIONNAIRE = "civic-organisations"
ONA = 7


async def said(telegram: FakeTelegram, expect: str, chat_id: int = ONA) -> SentMessage:
    """The bot's next message to the chat that contains EXPECT (it must have gone through).

    Messages are delivered at least once: a reply sent just before a SIGKILL, whose update was
    not committed, is sent again after the restart. Such repeats are passed over here.
    """
    request = await telegram.wait_for(
        chat_id=chat_id,
        timeout=30,
        predicate=lambda r: r.message is not None and expect in r.message.plain_text,
    )
    assert request.status == 200, request.description
    assert request.message is not None
    return request.message


class Member:
    """Ona answering the bot: text, or a button of the last question."""

    def __init__(self, telegram: FakeTelegram, user: FakeUser) -> None:
        self.telegram = telegram
        self.user = user
        self.last: SentMessage | None = None

    async def says(self, text: str, expect: str) -> SentMessage:
        self.telegram.send_text(self.user, text)
        self.last = await said(self.telegram, expect)
        return self.last

    async def presses(self, data: str, expect: str) -> SentMessage:
        assert self.last is not None
        self.telegram.press(self.user, self.last, data)
        self.last = await said(self.telegram, expect)
        return self.last

    async def ticks(self, question: str, options: list[str], expect: str) -> SentMessage:
        """Tick OPTIONS of a multiple-choice question (the same message changes), then Done."""
        assert self.last is not None
        for option in options:
            self.telegram.press(self.user, self.last, Step(a="t", q=question, o=option).pack())
            edit = await self.telegram.wait_for("editMessageReplyMarkup", chat_id=ONA, timeout=30)
            assert edit.status == 200, edit.description
        return await self.presses(Step(a="d", q=question).pack(), expect)


def buttons_of(message: SentMessage) -> list[str | None]:
    return [data for row in message.buttons for _label, data in row]


def pick(question: str, option: str) -> str:
    return Step(a="p", q=question, o=option).pack()


async def submission(env: dict[str, str]) -> sqlite3.Row:
    """The one submission in the bot's database, once its update has been committed."""
    path = Path(env["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///"))
    for _attempt in range(100):
        with sqlite3.connect(path) as connection:
            connection.row_factory = sqlite3.Row
            rows = connection.execute("SELECT * FROM survey_submission").fetchall()
            drafts = connection.execute("SELECT COUNT(*) FROM survey_draft").fetchone()[0]
        if rows:
            assert drafts == 0  # submitting ends the draft in the same transaction
            [row] = rows
            return row  # type: ignore[no-any-return]
        await asyncio.sleep(0.1)
    raise AssertionError("the submission was never stored")


def by_id(header: list[Any], row: list[Any]) -> dict[str, Any]:
    ids = [str(title).rsplit("[", 1)[1].rstrip("]") for title in header]
    return dict(zip(ids, row, strict=True))


async def test_default_questionnaire_in_lithuanian_survives_restarts_and_is_exported(
    telegram: FakeTelegram, bot_process: BotProcess
) -> None:
    ona = Member(telegram, telegram.user(ONA, "Ona", language_code="lt"))

    consent = await ona.says("/survey", "Pilietinių organizacijų apklausa")
    assert "Išsaugosime jūsų atsakymus" in consent.plain_text
    version = load_questionnaires()[QUESTIONNAIRE].version
    agree = SurveyConsent(q=QUESTIONNAIRE, v=version, agree=True).pack()
    await ona.presses(agree, "Koks jūsų organizacijos ar grupės pavadinimas?")
    q = await ona.says("Trakų bendruomenė „Ąžuolas“ & Co", "Kokia tai organizacija?")
    assert q.buttons[0][0][0] == "Vietos bendruomenė"
    await ona.presses(pick("org_type", "community"), "Kurioje savivaldybėje")
    # Typed in free words, the municipality is offered for confirmation, never saved as guessed.
    offer = await ona.says("Trakuose", "Ar tai Trakų rajono savivaldybė?")
    assert buttons_of(offer) == [Step(a="m", q="municipality", o="trakai-district").pack()]
    await ona.presses(buttons_of(offer)[0] or "", "Kontaktinio asmens vardas ir pavardė")
    await ona.says("Ona Onaitė", "Kontaktinio asmens el. pašto adresas")
    await ona.says("ona@bendruomene.lt", "Kontaktinio asmens telefono numeris")
    await ona.says("8 612 34567", "Viešas organizacijos el. pašto adresas")
    await ona.says("info@bendruomene.lt", "interneto svetainė")
    await ona.presses(Step(a="s", q="website").pack(), "Kokiose srityse veikia")
    await ona.ticks("areas", ["community_life", "culture"], "Kiek narių turi")
    q = await ona.says("daug", "Įrašykite skaičių")  # not a number: the same question again
    assert "Kiek narių turi" in q.plain_text
    await ona.says("25", "Kiek savanorių")

    # The bot dies; Ona answers while it is down; the answer is taken after the restart.
    await bot_process.kill()
    telegram.send_text(ona.user, "7")
    await bot_process.start()
    ona.last = await said(telegram, "Ar jūsų organizacija bendradarbiauja su savivaldybe?")
    await ona.presses(pick("cooperates", "yes"), "Kokiomis formomis")

    # Again, and this time /survey brings the same question back.
    await bot_process.kill()
    await bot_process.start()
    await ona.says("/survey", "Kokiomis formomis")
    await ona.ticks("cooperation_forms", ["funding", "joint_events"], "Kaip dažnai")
    await ona.presses(pick("cooperation_frequency", "monthly"), "Kaip vertinate")
    await ona.presses(pick("cooperation_rating", "4"), "Su kokiais iššūkiais")
    await ona.ticks("challenges", ["funding", "burnout"], "Papasakokite plačiau")
    await ona.says("Trūksta patalpų susitikimams.", "Ko jūsų organizacijai labiausiai reikės")
    await ona.says("Patalpų ir finansavimo jaunimo klubui.", "Kokie mokymai")
    await ona.ticks("training_interest", ["project_writing"], "viešą pilietinių organizacijų")
    review = await ona.presses(pick("directory_consent", "yes"), "Trakų bendruomenė „Ąžuolas“")
    assert "Trakų rajono savivaldybė" in review.plain_text
    assert "Bendruomenės gyvenimas ir vietos plėtra; Kultūra, menas ir paveldas" in (
        review.plain_text
    )
    assert "+37061234567" in review.plain_text
    await ona.presses(Step(a="u").pack(), "Ačiū! Jūsų atsakymai išsaugoti.")

    row = await submission(bot_process.env)
    assert (row["language"], row["municipality"]) == ("lt", "trakai-district")
    assert row["consent_version"] == f"civic-organisations@{version}"
    assert row["consent_at"] is not None and row["superseded_at"] is None
    answers = json.loads(row["answers"])
    assert answers["members"] == 25 and answers["volunteers"] == 7
    assert answers["contact_phone"] == "+37061234567"
    assert answers["website"] is None

    # The coordinator exports: a CSV and an XLSX document arrive.
    coordinator = telegram.user(COORDINATOR_ID, "Rūta", language_code="lt")
    telegram.send_text(coordinator, "/export")
    files = []
    for _ in range(2):
        sent = await telegram.wait_for("sendDocument", chat_id=COORDINATOR_ID, timeout=30)
        assert sent.status == 200 and sent.message is not None and sent.message.file is not None
        files.append(sent.message.file)
    csv_file, xlsx_file = files
    assert csv_file.filename is not None and csv_file.filename.endswith(".csv")
    assert xlsx_file.filename is not None and xlsx_file.filename.endswith(".xlsx")
    assert csv_file.content is not None and xlsx_file.content is not None
    summary = await said(telegram, "Pilietinių organizacijų apklausa", COORDINATOR_ID)
    assert buttons_of(summary) == [ExportChoice(q=QUESTIONNAIRE, personal=True).pack()]

    header, *records = list(csv.reader(io.StringIO(csv_file.content.decode("utf-8-sig"))))
    [record] = [by_id(header, values) for values in records]
    assert header[3] == "Koks jūsų organizacijos ar grupės pavadinimas? [org_name]"
    assert record["org_name"] == "Trakų bendruomenė „Ąžuolas“ & Co"
    assert record["org_type"] == "Vietos bendruomenė"
    assert record["municipality"] == "Trakų rajono savivaldybė"
    assert record["areas"] == "Bendruomenės gyvenimas ir vietos plėtra; Kultūra, menas ir paveldas"
    assert record["members"] == "25" and record["volunteers"] == "7"
    assert record["cooperates"] == "Taip"
    assert record["cooperation_forms"] == "Finansavimas, projektų konkursai; Bendri renginiai"
    assert record["cooperation_rating"] == "4"
    assert record["challenges"] == "Trūksta finansavimo; Lyderių nuovargis ir perdegimas"
    assert record["website"] == ""
    assert record["submission_language"] == "lt"
    assert not any(key.startswith("contact_") for key in record)  # personal data left out

    sheet = load_workbook(io.BytesIO(xlsx_file.content)).active
    assert sheet is not None
    table = [list(values) for values in sheet.iter_rows(values_only=True)]
    assert [str(title) for title in table[0]] == header
    cells = by_id(table[0], table[1])
    assert cells["org_name"] == record["org_name"]
    assert cells["members"] == 25 and cells["cooperation_rating"] == 4
    assert cells["challenges"] == record["challenges"]
    assert "Traceback" not in bot_process.output

"""The questionnaire conversation, /export, /stats and /orgs, fed through the real dispatcher."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiogram import Bot
from aiogram.methods import AnswerCallbackQuery, EditMessageReplyMarkup, SendDocument, SendMessage
from aiogram.types import BufferedInputFile, Chat, PhotoSize, Sticker
from openpyxl import load_workbook

from bot.app import App, open_app
from bot.fsm import DatabaseStorage
from bot.i18n import Translations
from bot.local_session import LocalSession
from bot.sender import TEXT_LIMIT
from bot.settings import Settings
from handlers.survey_admin import ExportChoice
from handlers.survey_views import Step, SurveyConsent, consent_keyboard, question_keyboard
from knowledge.municipalities import load_municipalities
from knowledge.questionnaire import Questionnaire, load_questionnaires, start_draft
from knowledge.service import KnowledgeBase
from knowledge.text import Lang
from storage import surveys
from storage.models import SurveyDraft, SurveySubmission
from tests.handlers.old_messages import press_on_old_message
from tests.support import Chatter, buttons, make_user

QUESTIONNAIRE = "civic-organisations"
# The consent version of the questionnaire as it is now, and of the next version tests make.
CURRENT = load_questionnaires()[QUESTIONNAIRE].version
NEXT = CURRENT + 1
AGREE = "I agree, let's begin"


def as_member(chatter: Chatter, user_id: int = 7, language_code: str = "en") -> Chatter:
    """Switch the chatter to another (English-speaking by default) person's private chat."""
    chatter.user = make_user(user_id, language_code)
    chatter.chat = Chat(id=user_id, type="private")
    return chatter


def one(replies: list[SendMessage]) -> SendMessage:
    assert len(replies) == 1, [reply.text for reply in replies]
    return replies[0]


def last_alert(chatter: Chatter) -> AnswerCallbackQuery:
    answers = [r for r in chatter.session.requests if isinstance(r, AnswerCallbackQuery)]
    assert answers, "no callback was answered"
    return answers[-1]


async def draft_row(app: App, member_id: int = 7) -> SurveyDraft | None:
    async with app.sessionmaker() as session:
        return await surveys.get_draft(session, member_id=member_id, questionnaire_id=QUESTIONNAIRE)


async def history(app: App, member_id: int = 7) -> list[SurveySubmission]:
    async with app.sessionmaker() as session:
        return await surveys.submission_history(
            session, member_id=member_id, questionnaire_id=QUESTIONNAIRE
        )


async def answers_so_far(app: App, member_id: int = 7) -> dict[str, Any]:
    row = await draft_row(app, member_id)
    assert row is not None
    return dict(surveys.draft_of(row).answers)


async def begin(chatter: Chatter) -> SendMessage:
    consent = one(await chatter.send("/survey"))
    first = one(await chatter.press(consent, AGREE))
    assert "What is the name of your organisation" in first.text
    return first


async def type_municipality(chatter: Chatter, typed: str) -> SendMessage:
    """Type a municipality's name, confirm the one it names with its button: the next step."""
    offer = one(await chatter.send(typed))
    assert offer.text.startswith("Did you mean "), offer.text
    [name] = buttons(offer)
    return one(await chatter.press(offer, name))


async def to_review(
    chatter: Chatter,
    *,
    name: str = "Trakų bendruomenė",
    municipality: str = "Trakai",
    cooperates: bool = True,
    listed: bool = True,
) -> SendMessage:
    """Answer the whole default questionnaire; the review message."""
    await begin(chatter)
    q = one(await chatter.send(name))
    q = one(await chatter.press(q, "Local community"))
    assert "In which municipality" in q.text
    q = await type_municipality(chatter, municipality)
    assert "Contact person's full name" in q.text
    q = one(await chatter.send("Ona Onaitė"))
    q = one(await chatter.send("ona@example.lt"))
    assert "phone number" in q.text
    q = one(await chatter.send("+370 612 34567"))
    q = one(await chatter.send("info@bendruomene.lt"))
    q = one(await chatter.send("bendruomene.lt"))
    assert "In which areas" in q.text
    assert await chatter.press(q, "☐ Culture, arts and heritage") == []
    assert await chatter.press(q, "☐ Other") == []
    q = one(await chatter.press(q, "Done"))
    assert "Which other area" in q.text
    q = one(await chatter.send("Repair café"))
    q = one(await chatter.send("25"))
    q = one(await chatter.send("7"))
    assert "cooperate with the municipality?" in q.text
    q = one(await chatter.press(q, "Yes" if cooperates else "No"))
    if cooperates:
        assert "In what ways" in q.text
        await chatter.press(q, "☐ Funding and grant competitions")
        q = one(await chatter.press(q, "Done"))
        q = one(await chatter.press(q, "Every month"))
        q = one(await chatter.press(q, "4"))
    assert "What challenges" in q.text
    await chatter.press(q, "☐ Not enough funding")
    q = one(await chatter.press(q, "Done"))
    assert "Tell us more" in q.text
    q = one(await chatter.press(q, "Skip"))
    q = one(await chatter.send("Premises and funding for the youth club."))
    assert "training or expert help" in q.text
    await chatter.press(q, "☐ None at the moment")
    q = one(await chatter.press(q, "Done"))
    assert "public directory" in q.text
    review = one(await chatter.press(q, "Yes" if listed else "No"))
    assert "Please check your answers" in review.text
    return review


async def to_areas(chatter: Chatter) -> SendMessage:
    """An informal group in Riga, with no phone, e-mail or website: the areas question."""
    await begin(chatter)
    q = one(await chatter.send("Klubas"))
    q = one(await chatter.press(q, "Informal group"))
    q = await type_municipality(chatter, "Riga")
    q = one(await chatter.send("Jānis"))
    q = one(await chatter.send("janis@example.lv"))
    for _ in range(3):
        q = one(await chatter.press(q, "Skip"))
    assert "In which areas" in q.text
    return q


# --- starting, consent, conditions --------------------------------------------------------------


async def test_consent_comes_first_and_is_recorded_with_its_version(
    chatter: Chatter, app: App
) -> None:
    as_member(chatter)
    consent = one(await chatter.send("/survey"))
    assert "Survey of civic organisations" in consent.text
    assert "We will store your answers" in consent.text
    assert buttons(consent) == [AGREE, "No, thanks"]
    assert await draft_row(app) is None  # nothing stored before the member agrees

    first = one(await chatter.press(consent, AGREE))
    assert first.text.startswith("Question 1 of ")
    row = await draft_row(app)
    assert row is not None
    assert row.consent_version == f"civic-organisations@{CURRENT}"
    assert row.consent_at is not None
    assert datetime.now(UTC) - row.consent_at < timedelta(minutes=1)


async def test_declining_consent_stores_nothing(chatter: Chatter, app: App) -> None:
    as_member(chatter)
    consent = one(await chatter.send("/survey"))
    reply = one(await chatter.press(consent, "No, thanks"))
    assert "nothing is stored" in reply.text
    assert await draft_row(app) is None
    # Text afterwards is not taken as an answer.
    other = one(await chatter.send("Trakų bendruomenė"))
    assert not other.text.startswith("Question")


async def test_an_old_consent_button_changes_nothing_once_the_survey_is_under_way(
    chatter: Chatter, app: App
) -> None:
    as_member(chatter)
    consent = one(await chatter.send("/survey"))
    one(await chatter.press(consent, AGREE))
    one(await chatter.send("Klubas"))

    # "No, thanks" under the consent message, pressed again: the draft stays.
    assert await chatter.press(consent, "No, thanks") == []
    alert = last_alert(chatter)
    assert alert.show_alert and alert.text == "This button is no longer active."
    assert await answers_so_far(app) == {"org_name": "Klubas"}
    q = one(await chatter.send("Local community"))  # still answering
    assert "In which municipality" in q.text

    # "I agree" pressed during /start does not break into the onboarding.
    one(await chatter.send("/start"))
    agree = SurveyConsent(q=QUESTIONNAIRE, v=1, agree=True).pack()  # the version in force
    assert await chatter.press_data(agree) == []
    assert last_alert(chatter).text == "This button is no longer active."
    asked = one(await chatter.send("hello"))
    assert "choose a language" in asked.text


async def test_agreeing_to_the_consent_of_an_earlier_version_is_refused(
    chatter: Chatter, app: App
) -> None:
    as_member(chatter)
    consent = one(await chatter.send("/survey"))
    original: Questionnaire = app.dispatcher["questionnaires"][QUESTIONNAIRE]
    changed: dict[Lang, str] = {"lt": "Saugome.", "lv": "Glabājam.", "en": "We also keep"}
    v2 = replace(original, version=NEXT, consent=changed)
    app.dispatcher["questionnaires"] = {QUESTIONNAIRE: v2}

    # "I agree" under the version 1 text: no consent recorded, the text in force is shown.
    shown = one(await chatter.press(consent, AGREE))
    alert = last_alert(chatter)
    assert alert.show_alert and alert.text == "This button is no longer active."
    assert "We also keep" in shown.text and "We will store your answers" not in shown.text
    assert buttons(shown) == [AGREE, "No, thanks"]
    assert await draft_row(app) is None

    first = one(await chatter.press(shown, AGREE))
    assert first.text.startswith("Question 1 of ")
    row = await draft_row(app)
    assert row is not None and row.consent_version == f"civic-organisations@{NEXT}"


async def test_a_draft_that_no_longer_loads_is_replaced_after_telling_the_member(
    chatter: Chatter, app: App
) -> None:
    as_member(chatter)
    await begin(chatter)
    one(await chatter.send("Klubas"))
    async with app.sessionmaker() as session:
        damaged = await surveys.get_draft(session, member_id=7, questionnaire_id=QUESTIONNAIRE)
        assert damaged is not None
        damaged.draft = {"questionnaire_id": QUESTIONNAIRE, "version": "one"}
        session.add(damaged)
        await session.commit()

    for _attempt in range(2):  # not a failure that repeats on every /survey
        consent = one(await chatter.send("/survey"))
        assert "could not read the answers you had saved" in consent.text
        assert buttons(consent) == [AGREE, "No, thanks"]
    first = one(await chatter.press(consent, AGREE))
    assert "What is the name of your organisation" in first.text
    assert await answers_so_far(app) == {}
    row = await draft_row(app)
    assert row is not None and row.consent_version == f"civic-organisations@{CURRENT}"
    resumed = one(await chatter.send("/survey"))
    assert resumed.text.startswith("Welcome back!")


async def test_typing_at_the_consent_question_asks_for_the_buttons(chatter: Chatter) -> None:
    as_member(chatter)
    await chatter.send("/survey")
    reply = one(await chatter.send("yes please"))
    assert "buttons below" in reply.text
    assert buttons(reply) == [AGREE, "No, thanks"]


async def test_conditional_questions_follow_the_answers(chatter: Chatter, app: App) -> None:
    as_member(chatter)
    review = await to_review(chatter, cooperates=False)
    answers = await answers_so_far(app)
    assert answers["cooperates"] is False
    assert "cooperation_forms" not in answers
    assert "cooperation_rating" not in answers
    assert answers["areas"] == ["culture", "other"]
    assert answers["areas_other"] == "Repair café"
    assert "How satisfied are you" not in review.text

    # Changing the answer to "yes" from the review asks the questions that now apply.
    number = _review_number(review, "cooperate with the municipality?")
    question = one(await chatter.press(review, f"✏️ {number}"))
    asked = one(await chatter.press(question, "Yes"))
    assert "In what ways" in asked.text
    await chatter.press(asked, "☐ Joint events")
    asked = one(await chatter.press(asked, "Done"))
    asked = one(await chatter.press(asked, "A few times a year"))
    review = one(await chatter.press(asked, "5"))
    assert "Please check your answers" in review.text
    answers = await answers_so_far(app)
    assert answers["cooperation_forms"] == ["joint_events"]
    assert answers["cooperation_rating"] == 5


async def test_other_area_is_asked_only_when_other_is_ticked(chatter: Chatter, app: App) -> None:
    as_member(chatter)
    q = await begin(chatter)
    for answer in ("Klubas", None, "Ogre", "Jānis", "janis@example.lv", "", "", ""):
        if answer is None:
            q = one(await chatter.press(q, "Local community"))
        elif answer == "":
            q = one(await chatter.press(q, "Skip"))
        elif answer == "Ogre":
            q = await type_municipality(chatter, answer)
        else:
            q = one(await chatter.send(answer))
    assert "In which areas" in q.text
    await chatter.press(q, "☐ Sport and health")
    q = one(await chatter.press(q, "Done"))
    assert "How many members" in q.text
    answers = await answers_so_far(app)
    assert answers["municipality"] == "ogre-municipality"
    assert answers["contact_phone"] is None
    assert "areas_other" not in answers


# --- back, skip, bad answers --------------------------------------------------------------------


async def test_back_shows_the_earlier_answer_and_skip_is_only_for_optional_questions(
    chatter: Chatter, app: App
) -> None:
    as_member(chatter)
    first = await begin(chatter)
    assert "Skip" not in buttons(first) and "Back" not in buttons(first)
    q = one(await chatter.send("Klubas"))
    assert buttons(q)[-2:] == ["Back", "Cancel"]
    back = one(await chatter.press(q, "Back"))
    assert "What is the name" in back.text
    assert "Your answer so far: Klubas" in back.text
    q = one(await chatter.send("Klubas Ąžuolas"))
    assert "What kind of organisation" in q.text
    assert (await answers_so_far(app))["org_name"] == "Klubas Ąžuolas"

    # A required question cannot be skipped, even with a button forged for it.
    await chatter.press_data(Step(a="s", q="org_type").pack())
    alert = last_alert(chatter)
    assert alert.show_alert and alert.text == "This question is required and cannot be skipped."
    assert "org_type" not in await answers_so_far(app)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("many", "Please enter a number, for example 12."),
        ("-3", "The number must be at least 0."),
        ("2,5", "Please enter a whole number."),
    ],
)
async def test_a_bad_number_gets_the_message_and_the_same_question(
    chatter: Chatter, app: App, answer: str, message: str
) -> None:
    as_member(chatter)
    q = await to_areas(chatter)
    await chatter.press(q, "☐ Environment")
    q = one(await chatter.press(q, "Done"))
    assert "How many members" in q.text
    again = one(await chatter.send(answer))
    assert again.text.startswith(f"⚠️ {message}")
    assert "How many members" in again.text
    assert "members" not in await answers_so_far(app)
    nxt = one(await chatter.send("12"))
    assert "How many volunteers" in nxt.text
    assert (await answers_so_far(app))["members"] == 12


async def test_too_long_and_wrong_kind_answers_are_refused(chatter: Chatter, app: App) -> None:
    as_member(chatter)
    await begin(chatter)
    too_long = one(await chatter.send("x" * 201))
    assert "The answer is too long (201 characters, at most 200 allowed)." in too_long.text
    assert "What is the name" in too_long.text
    q = one(await chatter.send("Klubas"))
    wrong = one(await chatter.send("something else"))
    assert "Please choose one of the options." in wrong.text
    assert "What kind of organisation" in wrong.text
    q = one(await chatter.send("2"))  # an option's number works too
    assert "In which municipality" in q.text
    nowhere = one(await chatter.send("Atlantis"))
    assert "I found no municipality by that name" in nowhere.text
    choices = one(await chatter.send("Vilnius"))
    assert buttons(choices) == ["Vilnius city", "Vilnius district"]
    q = one(await chatter.press(choices, "Vilnius district"))
    assert "Contact person's full name" in q.text
    q = one(await chatter.send("Ona"))
    bad_email = one(await chatter.send("ona at example"))
    assert "That does not look like an e-mail address" in bad_email.text
    assert await answers_so_far(app) == {
        "org_name": "Klubas",
        "org_type": "ngo",
        "municipality": "vilnius-district",
        "contact_person": "Ona",
    }
    row = await draft_row(app)
    assert row is not None and surveys.draft_of(row).current == "contact_email"


async def test_done_without_ticks_is_refused_and_ticks_show(chatter: Chatter, app: App) -> None:
    as_member(chatter)
    await begin(chatter)
    q = one(await chatter.send("Klubas"))
    q = one(await chatter.press(q, "Youth organisation"))
    choices = one(await chatter.send("Jelgava"))  # city and municipality: a choice
    assert len(buttons(choices)) == 2
    q = one(await chatter.press(choices, buttons(choices)[0]))
    assert "Contact person's full name" in q.text
    q = one(await chatter.send("Anna"))
    q = one(await chatter.send("anna@example.lv"))
    for _ in range(3):
        q = one(await chatter.press(q, "Skip"))
    # Done with nothing ticked: refused, the question stays.
    assert await chatter.press(q, "Done") == []
    assert last_alert(chatter).text == "Please choose at least one option."
    # Ticks are shown on the same message, and the stored selection follows them.
    await chatter.press(q, "☐ Older people")
    edits = [r for r in chatter.session.requests if isinstance(r, EditMessageReplyMarkup)]
    markup = edits[-1].reply_markup if edits else None
    assert markup is not None
    ticked = [b.text for row in markup.inline_keyboard for b in row if b.text.startswith("☑")]
    assert ticked == ["☑ Older people"]
    row = await draft_row(app)
    assert row is not None and surveys.draft_of(row).selection == ("seniors",)


async def test_a_tick_on_a_message_too_old_to_edit_is_kept_and_the_question_comes_again(
    chatter: Chatter, app: App
) -> None:
    as_member(chatter)
    await to_areas(chatter)
    again = one(await press_on_old_message(chatter, Step(a="t", q="areas", o="culture").pack()))
    assert "In which areas" in again.text
    assert "☑ Culture, arts and heritage" in buttons(again)
    row = await draft_row(app)
    assert row is not None and surveys.draft_of(row).selection == ("culture",)


async def test_a_long_answer_shown_again_is_split_within_telegram_limits(
    chatter: Chatter, app: App
) -> None:
    as_member(chatter)
    q = await to_areas(chatter)
    await chatter.press(q, "☐ Environment")
    q = one(await chatter.press(q, "Done"))
    q = one(await chatter.send("12"))
    q = one(await chatter.send("3"))
    q = one(await chatter.press(q, "No"))
    await chatter.press(q, "☐ Not enough funding")
    q = one(await chatter.press(q, "Done"))
    assert "Tell us more" in q.text
    long_answer = "<&" * 1000  # 2000 characters, the most a long answer may have
    q = one(await chatter.send(long_answer))
    assert (await answers_so_far(app))["challenges_details"] == long_answer

    # Back to it: the answer so far is shown again, escaped, which is far over 4096 characters.
    pieces = await chatter.press(q, "Back")
    assert len(pieces) > 1
    assert all(len(piece.text) <= TEXT_LIMIT for piece in pieces)
    assert "Tell us more" in pieces[0].text
    assert "".join(piece.text for piece in pieces).count("&lt;&amp;") == 1000
    assert buttons(pieces[-1])[-3:] == ["Back", "Skip", "Cancel"]
    assert all(buttons(piece) == [] for piece in pieces[:-1])


# --- review, edit, submit, update ---------------------------------------------------------------


def _review_number(review: SendMessage, question_text: str) -> int:
    for line in review.text.splitlines():
        match = re.match(r"(\d+)\. <b>(.*)</b>", line)
        if match and question_text in match.group(2):
            return int(match.group(1))
    raise AssertionError(f"{question_text!r} not in the review")


async def test_review_edit_and_submit(chatter: Chatter, app: App) -> None:
    as_member(chatter)
    review = await to_review(chatter)
    assert "Trakų bendruomenė" in review.text
    assert "Trakai District Municipality" in review.text
    assert "Culture, arts and heritage; Other" in review.text
    assert "(skipped)" in review.text
    assert buttons(review)[-2:] == ["Submit", "Cancel"]

    number = _review_number(review, "How many members")
    question = one(await chatter.press(review, f"✏️ {number}"))
    assert "How many members" in question.text
    assert "Your answer so far: 25" in question.text
    assert "Back to the review" in buttons(question)
    review = one(await chatter.send("30"))  # back to the review, not to the next question
    assert "Please check your answers" in review.text

    done = one(await chatter.press(review, "Submit"))
    assert done.text.startswith("Thank you! Your answers have been saved.")
    assert "/survey" in done.text
    [submission] = await history(app)
    assert submission.answers["members"] == 30
    assert submission.answers["areas"] == ["culture", "other"]
    assert submission.answers["challenges_details"] is None
    assert (submission.language, submission.municipality) == ("en", "trakai-district")
    assert submission.consent_version == f"civic-organisations@{CURRENT}"
    assert submission.consent_at <= submission.submitted_at
    assert submission.superseded_at is None
    assert await draft_row(app) is None
    # The conversation is over: text is no longer an answer.
    assert not one(await chatter.send("31")).text.startswith("Question")


async def test_leaving_an_edit_returns_to_the_review_unchanged(chatter: Chatter, app: App) -> None:
    as_member(chatter)
    review = await to_review(chatter)
    number = _review_number(review, "What is the name")
    question = one(await chatter.press(review, f"✏️ {number}"))
    again = one(await chatter.press(question, "Back to the review"))
    assert "Please check your answers" in again.text
    assert (await answers_so_far(app))["org_name"] == "Trakų bendruomenė"


async def test_update_after_submitting_replaces_the_answers_and_keeps_history(
    chatter: Chatter, app: App
) -> None:
    as_member(chatter)
    review = await to_review(chatter)
    await chatter.press(review, "Submit")

    consent = one(await chatter.send("/survey"))
    assert "You submitted this questionnaire on" in consent.text
    review = one(await chatter.press(consent, AGREE))  # straight to the review, prefilled
    assert "Please check your answers" in review.text and "Trakų bendruomenė" in review.text
    number = _review_number(review, "How many volunteers")
    question = one(await chatter.press(review, f"✏️ {number}"))
    review = one(await chatter.send("9"))
    done = one(await chatter.press(review, "Submit"))
    assert "Your new answers replace the ones you gave before." in done.text

    first, second = await history(app)
    assert first.answers["volunteers"] == 7 and second.answers["volunteers"] == 9
    assert first.superseded_at is not None and first.superseded_at == second.submitted_at
    assert second.superseded_at is None
    assert question.text  # the edit showed the question


# --- stale buttons, stickers, commands, cancel, restart -----------------------------------------


async def test_button_of_an_earlier_question_changes_nothing(chatter: Chatter, app: App) -> None:
    as_member(chatter)
    await begin(chatter)
    kind = one(await chatter.send("Klubas"))
    q = one(await chatter.press(kind, "Local community"))
    q = await type_municipality(chatter, "Trakai")
    before = await answers_so_far(app)

    # The kind question's buttons, pressed again two questions later.
    assert await chatter.press(kind, "Youth organisation") == []
    alert = last_alert(chatter)
    assert alert.show_alert and "earlier step" in (alert.text or "")
    # A tick for a question not on screen, and the review's Submit before the review.
    await chatter.press_data(Step(a="t", q="areas", o="culture").pack())
    await chatter.press_data(Step(a="u").pack())
    assert "earlier step" in (last_alert(chatter).text or "")
    assert await answers_so_far(app) == before
    row = await draft_row(app)
    assert row is not None and surveys.draft_of(row).current == "contact_person"
    assert "Contact person's full name" in q.text


async def test_sticker_and_photo_mid_survey_keep_the_draft(chatter: Chatter, app: App) -> None:
    as_member(chatter)
    await begin(chatter)
    one(await chatter.send("Klubas"))
    sticker = Sticker(
        file_id="s",
        file_unique_id="s",
        type="regular",
        width=1,
        height=1,
        is_animated=False,
        is_video=False,
    )
    reply = one(await chatter.send(sticker=sticker))
    assert reply.text.startswith("I can only read text. Your answers are kept")
    assert "What kind of organisation" in reply.text
    assert buttons(reply)[0] == "Local community"
    photo = [PhotoSize(file_id="p", file_unique_id="p", width=1, height=1)]
    reply = one(await chatter.send(photo=photo, caption="our logo"))
    assert "What kind of organisation" in reply.text
    assert await answers_so_far(app) == {"org_name": "Klubas"}
    q = one(await chatter.press(reply, "Local community"))
    assert "In which municipality" in q.text


async def test_commands_mid_survey_keep_the_draft(chatter: Chatter, app: App) -> None:
    as_member(chatter)
    await begin(chatter)
    one(await chatter.send("Klubas"))
    unknown = one(await chatter.send("/nonsense"))
    assert "Your answers are kept" in unknown.text and "/survey" in unknown.text
    helped = one(await chatter.send("/help"))
    assert "/survey" in helped.text
    q = one(await chatter.send("3"))  # the survey goes on
    assert "In which municipality" in q.text
    assert (await answers_so_far(app))["org_type"] == "youth"


async def test_cancel_pauses_and_survey_resumes(chatter: Chatter, app: App) -> None:
    as_member(chatter)
    await begin(chatter)
    q = one(await chatter.send("Klubas"))
    paused = one(await chatter.press(q, "Cancel"))
    assert "Paused. Your answers are kept" in paused.text
    # Old buttons are refused while paused.
    assert await chatter.press(q, "Local community") == []
    assert "Send /survey to continue" in (last_alert(chatter).text or "")
    resumed = one(await chatter.send("/survey"))
    assert resumed.text.startswith("Welcome back!")
    assert "What kind of organisation" in resumed.text
    assert await answers_so_far(app) == {"org_name": "Klubas"}

    # /cancel does the same.
    one(await chatter.send("/cancel"))
    resumed = one(await chatter.send("/survey"))
    assert "What kind of organisation" in resumed.text


async def test_progress_survives_a_restart(
    settings: Settings,
    app: App,
    bot: Bot,
    local_session: LocalSession,
    shared_knowledge: KnowledgeBase,
) -> None:
    user = make_user(7, "en")
    chat = Chat(id=7, type="private")
    chatter = Chatter(app.dispatcher, bot, local_session, user, chat)
    await begin(chatter)
    q = one(await chatter.send("Klubas"))
    one(await chatter.press(q, "Informal group"))
    assert isinstance(app.dispatcher.storage, DatabaseStorage)

    # A new process: nothing kept in memory.
    async with open_app(settings, bot=bot, knowledge=shared_knowledge.copy()) as restarted:
        again = Chatter(restarted.dispatcher, bot, local_session, user, chat, _ids=chatter._ids)
        # Just typing the next answer works...
        q = await type_municipality(again, "Ogre")
        assert "Contact person's full name" in q.text
        # ...and /survey shows the same question.
        resumed = one(await again.send("/survey"))
        assert "Welcome back" in resumed.text and "Contact person's full name" in resumed.text
        async with restarted.sessionmaker() as session:
            row = await surveys.get_draft(session, member_id=7, questionnaire_id=QUESTIONNAIRE)
        assert row is not None
        assert surveys.draft_of(row).answers == {
            "org_name": "Klubas",
            "org_type": "informal_group",
            "municipality": "ogre-municipality",
        }


async def test_new_version_migrates_the_draft_and_asks_consent_again(
    chatter: Chatter, app: App
) -> None:
    as_member(chatter)
    await begin(chatter)
    q = one(await chatter.send("Klubas"))
    q = one(await chatter.press(q, "Local community"))
    await type_municipality(chatter, "Trakai")
    original: Questionnaire = app.dispatcher["questionnaires"][QUESTIONNAIRE]
    kind = original.question("org_type")
    narrower = replace(kind, options=tuple(o for o in kind.options if o.id != "community"))
    v2 = replace(
        original,
        version=NEXT,
        questions=tuple(narrower if q.id == "org_type" else q for q in original.questions),
    )
    app.dispatcher["questionnaires"] = {QUESTIONNAIRE: v2}

    # Typing the next answer reopens the questionnaire with the policy explained.
    consent = one(await chatter.send("Ona"))
    assert "This questionnaire has changed since you started it" in consent.text
    assert buttons(consent) == [AGREE, "No, thanks"]
    row = await draft_row(app)
    assert row is not None and row.version == NEXT and row.consent_at is None
    assert surveys.draft_of(row).answers == {
        "org_name": "Klubas",
        "municipality": "trakai-district",
    }

    asked = one(await chatter.press(consent, AGREE))
    assert "What kind of organisation" in asked.text  # the answer that no longer fits
    assert "Local community" not in buttons(asked)
    row = await draft_row(app)
    assert row is not None and row.consent_version == f"civic-organisations@{NEXT}"


async def test_several_questionnaires_are_listed(chatter: Chatter, app: App) -> None:
    as_member(chatter)
    default = app.dispatcher["questionnaires"][QUESTIONNAIRE]
    other = replace(default, id="youth-survey", title={"lt": "J", "lv": "J", "en": "Youth survey"})
    app.dispatcher["questionnaires"] = {QUESTIONNAIRE: default, "youth-survey": other}
    listing = one(await chatter.send("/survey"))
    assert buttons(listing) == ["Survey of civic organisations", "Youth survey"]
    consent = one(await chatter.press(listing, "Youth survey"))
    assert consent.text.startswith("<b>Youth survey</b>")
    one(await chatter.press(consent, AGREE))
    async with app.sessionmaker() as session:
        row = await surveys.get_draft(session, member_id=7, questionnaire_id="youth-survey")
    assert row is not None


def test_every_button_fits_in_telegram_callback_data() -> None:
    municipalities = load_municipalities()
    longest_id = max((m.id for m in municipalities), key=len)
    for questionnaire in load_questionnaires().values():
        draft = replace(start_draft(questionnaire), editing=True)
        for question in questionnaire.questions:
            with Translations(default_locale="lt").context():
                keyboard = question_keyboard(
                    questionnaire, draft, question, "lt", municipalities, longest_id
                )
            for row in keyboard.inline_keyboard:
                for button in row:
                    assert len((button.callback_data or "").encode()) <= 64
            Step(a="m", q=question.id, o=longest_id).pack()  # raises if over 64 bytes
        with Translations(default_locale="lt").context():
            consent = consent_keyboard(replace(questionnaire, version=2**31))
        for row in consent.inline_keyboard:
            for button in row:
                assert len((button.callback_data or "").encode()) <= 64


# --- coordinators -------------------------------------------------------------------------------


def documents(chatter: Chatter, since: int) -> list[BufferedInputFile]:
    sent = [r for r in chatter.requests_since(since) if isinstance(r, SendDocument)]
    files = [method.document for method in sent]
    assert all(isinstance(f, BufferedInputFile) for f in files)
    return files  # type: ignore[return-value]


def by_id(header: list[str], row: list[Any]) -> dict[str, Any]:
    ids = [re.search(r"\[([a-z0-9_-]+)\]$", title).group(1) for title in header]  # type: ignore[union-attr]
    return dict(zip(ids, row, strict=True))


async def test_non_coordinators_may_not_export_or_see_stats(chatter: Chatter) -> None:
    as_member(chatter)
    before = len(chatter.session.requests)
    for command in ("/export", "/stats"):
        reply = one(await chatter.send(command))
        assert reply.text == "Only coordinators may do this."
    # A coordinator's button replayed by a member.
    await chatter.press_data(ExportChoice(q=QUESTIONNAIRE, personal=True).pack())
    alert = last_alert(chatter)
    assert alert.show_alert and alert.text == "Only coordinators may do this."
    assert documents(chatter, before) == []


async def test_export_sends_csv_and_xlsx_without_then_with_contact_details(
    chatter: Chatter,
) -> None:
    as_member(chatter)
    await chatter.press(await to_review(chatter), "Submit")
    as_member(chatter, 8)
    await chatter.press(await to_review(chatter, name="Kaimynai", cooperates=False), "Submit")

    as_member(chatter, 42)
    before = len(chatter.session.requests)
    summary = one(await chatter.send("/export"))
    assert summary.text.startswith("Survey of civic organisations: 2 submissions.")
    assert "left out" in summary.text
    csv_file, xlsx_file = documents(chatter, before)
    assert re.fullmatch(r"civic-organisations-\d{4}-\d{2}-\d{2}\.csv", csv_file.filename or "")
    assert (xlsx_file.filename or "").endswith(".xlsx")

    table = list(csv.reader(io.StringIO(csv_file.data.decode("utf-8-sig"))))
    assert len(table) == 3
    header = table[0]
    assert header[0] == "Submitted [submitted_at]"
    assert not any("[contact_" in title for title in header)
    first, second = (by_id(header, row) for row in table[1:])
    assert first["org_name"] == "Trakų bendruomenė" and second["org_name"] == "Kaimynai"
    assert first["submission_language"] == "en"
    assert first["submission_municipality"] == "Trakai District Municipality"
    assert first["municipality"] == "Trakai District Municipality"
    assert first["org_type"] == "Local community"
    assert first["areas"] == "Culture, arts and heritage; Other"
    assert first["areas_other"] == "Repair café"
    assert first["members"] == "25" and first["volunteers"] == "7"
    assert first["cooperates"] == "Yes" and second["cooperates"] == "No"
    assert first["cooperation_rating"] == "4" and second["cooperation_rating"] == ""
    assert first["challenges_details"] == ""
    assert first["training_interest"] == "None at the moment"
    assert first["website"] == "https://bendruomene.lt"
    submitted = datetime.fromisoformat(first["submitted_at"])
    assert abs(datetime.now(UTC) - submitted) < timedelta(minutes=5)

    sheet = load_workbook(io.BytesIO(xlsx_file.data)).active
    assert sheet is not None
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert [str(title) for title in cells[0]] == header
    for csv_row, xlsx_row in zip(table[1:], cells[1:], strict=True):
        for title, text, value in zip(header, csv_row, xlsx_row, strict=True):
            if isinstance(value, datetime):
                assert text.startswith(value.strftime("%Y-%m-%d %H:%M")), title
            elif value is None:
                assert text == "", title
            else:
                assert str(value) == text, title
    assert by_id(header, cells[1])["members"] == 25  # a number, not text

    before = len(chatter.session.requests)
    last = one(await chatter.press(summary, "Export with contact details"))
    assert "keep these files safe" in last.text
    csv_file, _xlsx = documents(chatter, before)
    table = list(csv.reader(io.StringIO(csv_file.data.decode("utf-8-sig"))))
    record = by_id(table[0], table[1])
    assert record["contact_person"] == "Ona Onaitė"
    assert record["contact_email"] == "ona@example.lt"
    assert record["contact_phone"] == "+37061234567"


async def test_export_has_only_the_latest_submission_of_each_member(chatter: Chatter) -> None:
    as_member(chatter)
    await chatter.press(await to_review(chatter), "Submit")
    consent = one(await chatter.send("/survey"))
    review = one(await chatter.press(consent, AGREE))
    await chatter.press(review, "Submit")
    as_member(chatter, 42)
    before = len(chatter.session.requests)
    summary = one(await chatter.send("/export"))
    assert summary.text.startswith("Survey of civic organisations: 1 submission.")
    csv_file, _xlsx = documents(chatter, before)
    assert len(list(csv.reader(io.StringIO(csv_file.data.decode("utf-8-sig"))))) == 2


async def test_export_asks_which_questionnaire_when_there_are_several(
    chatter: Chatter, app: App
) -> None:
    default = app.dispatcher["questionnaires"][QUESTIONNAIRE]
    other = replace(default, id="youth-survey", title={"lt": "J", "lv": "J", "en": "Youth survey"})
    app.dispatcher["questionnaires"] = {QUESTIONNAIRE: default, "youth-survey": other}
    as_member(chatter, 42)
    before = len(chatter.session.requests)
    listing = one(await chatter.send("/export"))
    assert listing.text == "Which questionnaire should I export?"
    assert buttons(listing) == ["Survey of civic organisations", "Youth survey"]
    assert documents(chatter, before) == []
    summary = one(await chatter.press(listing, "Youth survey"))
    assert summary.text.startswith("Youth survey: 0 submissions.")
    names = [document.filename or "" for document in documents(chatter, before)]
    assert len(names) == 2 and all(name.startswith("youth-survey-") for name in names)


async def test_stats_count_per_municipality(chatter: Chatter) -> None:
    as_member(chatter)
    await chatter.press(await to_review(chatter), "Submit")
    as_member(chatter, 8)
    await chatter.press(await to_review(chatter, name="Kaimynai"), "Submit")
    as_member(chatter, 9)
    await chatter.press(await to_review(chatter, name="Ogrenieki", municipality="Ogre"), "Submit")
    as_member(chatter, 10)
    await begin(chatter)  # in progress

    as_member(chatter, 42)
    stats = one(await chatter.send("/stats"))
    assert "<b>Survey of civic organisations</b>" in stats.text
    # Never a count of one or two people: they could be recognised.
    assert "Submitted: 3 (updated later: 0); in progress: <3" in stats.text
    lines = stats.text.splitlines()
    ogre = lines.index("• Ogre Municipality: <3")
    trakai = lines.index("• Trakai District Municipality: <3")
    assert ogre < trakai  # small cells by name, not by size


# --- the directory ------------------------------------------------------------------------------


async def test_orgs_lists_only_consenting_organisations_with_public_fields(
    chatter: Chatter,
) -> None:
    as_member(chatter)
    await chatter.press(await to_review(chatter, name="Trakų <bendruomenė>"), "Submit")
    as_member(chatter, 8)
    await chatter.press(await to_review(chatter, name="Slapta grupė", listed=False), "Submit")

    as_member(chatter, 9)
    listing = one(await chatter.send("/orgs trakai"))
    assert "Civic organisations in Trakai District Municipality:" in listing.text
    assert "<b>Trakų &lt;bendruomenė&gt;</b> (Local community)" in listing.text
    assert "Culture, arts and heritage; Other; Repair café" in listing.text
    assert "info@bendruomene.lt · https://bendruomene.lt" in listing.text
    assert "Slapta grupė" not in listing.text
    assert "Ona" not in listing.text and "ona@example.lt" not in listing.text
    assert "25" not in listing.text


async def test_orgs_asks_for_the_municipality_and_offers_choices(chatter: Chatter) -> None:
    as_member(chatter)
    ask = one(await chatter.send("/orgs"))
    assert "In which municipality" in ask.text
    choices = one(await chatter.send("Vilnius"))
    assert buttons(choices) == ["Vilnius city", "Vilnius district"]
    empty = one(await chatter.press(choices, "Vilnius city"))
    assert empty.text == "No organisations in Vilnius City Municipality are listed yet."
    nothing = one(await chatter.send("/orgs atlantis"))
    assert "I found no municipality" in nothing.text


async def test_orgs_in_the_middle_of_a_survey_leaves_it_going(chatter: Chatter, app: App) -> None:
    as_member(chatter)
    await begin(chatter)
    hint = one(await chatter.send("/orgs"))
    assert "/orgs Trakai" in hint.text
    q = one(await chatter.send("Klubas"))
    assert "What kind of organisation" in q.text
    assert (await answers_so_far(app))["org_name"] == "Klubas"


async def test_an_edit_in_the_review_asks_only_what_it_made_necessary(
    chatter: Chatter, app: App
) -> None:
    as_member(chatter)
    review = await to_review(chatter, cooperates=False)
    number = _review_number(review, "cooperate with the municipality?")
    q = one(await chatter.press(review, f"✏️ {number}"))
    q = one(await chatter.press(q, "Yes"))
    assert "In what ways" in q.text  # newly needed
    await chatter.press(q, "☐ Funding and grant competitions")
    q = one(await chatter.press(q, "Done"))
    q = one(await chatter.press(q, "Every month"))
    review = one(await chatter.press(q, "4"))
    assert "Please check your answers" in review.text  # not the challenges again

    # Back to "No", then "Yes" once more: the cooperation answers are not typed again.
    number = _review_number(review, "cooperate with the municipality?")
    q = one(await chatter.press(review, f"✏️ {number}"))
    review = one(await chatter.press(q, "No"))
    assert "Every month" not in review.text
    number = _review_number(review, "cooperate with the municipality?")
    q = one(await chatter.press(review, f"✏️ {number}"))
    review = one(await chatter.press(q, "Yes"))
    assert "Please check your answers" in review.text
    assert "Every month" in review.text and "Funding and grant competitions" in review.text
    answers = await answers_so_far(app)
    assert answers["cooperation_rating"] == 4


async def test_declining_to_update_a_submission_does_not_claim_nothing_is_stored(
    chatter: Chatter, app: App
) -> None:
    as_member(chatter)
    one(await chatter.press(await to_review(chatter), "Submit"))
    consent = one(await chatter.send("/survey"))
    assert "You submitted this questionnaire on" in consent.text
    declined = one(await chatter.press(consent, "No, thanks"))
    assert declined.text == (
        "Understood: nothing new is stored. The answers you submitted before stay as they "
        "were; send /survey if you want to update them."
    )
    async with app.sessionmaker() as session:
        kept = await surveys.current_submission(
            session, member_id=7, questionnaire_id=QUESTIONNAIRE
        )
    assert kept is not None


async def test_back_to_the_review_says_why_a_required_question_comes_first(
    chatter: Chatter,
) -> None:
    as_member(chatter)
    review = await to_review(chatter, cooperates=False)
    number = _review_number(review, "cooperate with the municipality?")
    q = one(await chatter.press(review, f"✏️ {number}"))
    forms = one(await chatter.press(q, "Yes"))
    assert "In what ways" in forms.text and "Back to the review" in buttons(forms)
    again = one(await chatter.press(forms, "Back to the review"))
    assert again.text.startswith(
        "This question is required, so the review can only come after it: please answer it."
    )
    assert "In what ways" in again.text

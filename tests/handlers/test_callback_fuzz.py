"""Random and mutated button data for every router: always answered, never an exception.

Telegram lets anyone send any callback data up to 64 bytes (an old client, a replayed button,
a forged one). Whatever arrives, in whatever conversation, the bot answers the button press
(so the spinner stops), changes nothing it should not, and logs nothing above WARNING.
"""

from __future__ import annotations

import itertools
import logging
import random

import pytest
from aiogram.filters.callback_data import CallbackData
from aiogram.methods import AnswerCallbackQuery

import handlers  # noqa: F401  (every router's module, so every kind of button is known)
from bot.app import App
from bot.surveys import StepAction
from handlers.survey_views import Step
from tests.support import Chatter, make_user

# Values a field may get: ids of real things, wrong types, odd text, other buttons' actions.
VALUES = (
    *("", "x", "0", "1", "-1", "99999999999999999999", "True", "false", "None"),
    *("trakai-district", "ogre-municipality", "civic-organisations", "org_name", "org_type"),
    *("municipality", "areas", "members", "cooperates", "community", "ngo", "yes", "no"),
    *("p", "m", "t", "d", "b", "s", "r", "e", "u", "x", "e", "c"),
    *("skip", "agree", "decline", "all", "done", "nolink", "save", "cancel", "lt", "lv", "de"),
    *("pilot-about", "community-pilot-2021", "ąčęėįšųūž", "💥", "a:b", "%3A"),
)
SAMPLES_PER_KIND = 25
MAX_BYTES = 64


def button_kinds() -> list[type[CallbackData]]:
    """Every kind of button the bot makes."""
    found: list[type[CallbackData]] = []
    pending = list(CallbackData.__subclasses__())
    while pending:
        kind = pending.pop()
        found.append(kind)
        pending.extend(kind.__subclasses__())
    return sorted(found, key=lambda kind: kind.__prefix__)


def mutated_data(rng: random.Random) -> list[str]:
    """Random and mutated callback data of every kind of button, each within 64 bytes."""
    samples: list[str] = []
    for kind in button_kinds():
        fields = list(kind.model_fields)
        for _ in range(SAMPLES_PER_KIND):
            count = rng.choice([len(fields), len(fields), max(0, len(fields) - 1), len(fields) + 1])
            parts = [kind.__prefix__, *(rng.choice(VALUES) for _ in range(count))]
            samples.append(":".join(parts))
        samples += [kind.__prefix__, f"{kind.__prefix__}:", f"{kind.__prefix__}" + ":" * 6]
    samples += ["", ":", "co-", "unknown:1", "x" * MAX_BYTES]
    return [data for data in samples if len(data.encode()) <= MAX_BYTES]


def survey_buttons() -> list[str]:
    """Every action of a questionnaire button on real questions with real and odd options."""
    questions = ("org_name", "org_type", "municipality", "areas", "members", "cooperates")
    options = ("", "x", "ngo", "trakai-district", "culture", "yes")
    return [
        Step(a=action, q=question, o=option).pack()
        for action in StepAction
        if action is not StepAction.PAUSE  # a real Cancel: it would end the survey
        for question in questions
        for option in options
    ]


async def in_survey(chatter: Chatter) -> None:
    """A member at the first question of the default questionnaire."""
    [consent] = await chatter.send("/survey")
    await chatter.press(consent, "I agree, let's begin")


async def in_new_call(chatter: Chatter) -> None:
    """A coordinator in the /newcall wizard."""
    await chatter.send("/newcall")


async def in_onboarding(chatter: Chatter) -> None:
    """A member at the language step of /start."""
    await chatter.send("/start")


async def idle(chatter: Chatter) -> None:
    """A member doing nothing in particular."""


@pytest.mark.parametrize(
    ("user_id", "setup"),
    [(7, idle), (7, in_survey), (7, in_onboarding), (42, in_new_call), (42, idle)],
    ids=[
        "member",
        "member-in-survey",
        "member-onboarding",
        "coordinator-in-newcall",
        "coordinator",
    ],
)
async def test_every_button_press_is_answered_and_nothing_fails(
    chatter: Chatter,
    app: App,
    caplog: pytest.LogCaptureFixture,
    user_id: int,
    setup: object,
) -> None:
    chatter.user = make_user(user_id, "en")
    chatter.chat = chatter.chat.model_copy(update={"id": user_id})
    assert callable(setup)
    await setup(chatter)
    rng = random.Random(user_id * 1000 + len(str(setup)))
    caplog.set_level(logging.WARNING)
    unanswered = []
    extra = survey_buttons() if setup is in_survey else []
    for data in itertools.chain(extra, mutated_data(rng)):
        before = len(chatter.session.requests)
        await chatter.press_data(data)
        answers = [
            request
            for request in chatter.requests_since(before)
            if isinstance(request, AnswerCallbackQuery)
        ]
        if len(answers) != 1:
            unanswered.append((data, len(answers)))
    failures = [
        record.getMessage() for record in caplog.records if record.levelno > logging.WARNING
    ]
    assert failures == []
    assert unanswered == []

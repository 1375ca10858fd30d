"""Who an announcement reaches (each filter, and filters combined) and which version they read."""

from __future__ import annotations

from datetime import timedelta

import pytest

from knowledge.announcements import (
    Audience,
    Candidate,
    Progress,
    count_by_language,
    matches,
    progress_lines,
    version_for,
)

ONA = Candidate(7, "lt", "vilnius-city", follows_call=True, answers={"areas": ["children_youth"]})
JANIS = Candidate(8, "lv", "riga", answers={"areas": ["culture"], "org_type": "ngo"})
MARY = Candidate(9, "en", "vilnius-city", answers={"org_type": "ngo"})
GROUP = Candidate(-100, "lt", "vilnius-city", follows_call=True)
EVERYONE = (ONA, JANIS, MARY, GROUP)


def reached(audience: Audience) -> set[int]:
    return {candidate.chat_id for candidate in EVERYONE if matches(audience, candidate)}


def test_by_default_every_member_and_no_group() -> None:
    assert reached(Audience()) == {7, 8, 9}


def test_groups_alone_and_with_members() -> None:
    assert reached(Audience(people=False, groups=True)) == {-100}
    assert reached(Audience(groups=True)) == {7, 8, 9, -100}
    assert reached(Audience(people=False, groups=False)) == set()


def test_municipalities_several_allowed() -> None:
    assert reached(Audience(municipalities=("riga",))) == {8}
    assert reached(Audience(municipalities=("riga", "vilnius-city"), groups=True)) == {
        7,
        8,
        9,
        -100,
    }


def test_language() -> None:
    assert reached(Audience(language="en")) == {9}
    assert reached(Audience(language="lt", groups=True)) == {7, -100}


def test_subscribers_of_a_call() -> None:
    assert reached(Audience(call="youth-fund", groups=True)) == {7, -100}


def test_questionnaire_answer_single_and_multiple_choice() -> None:
    assert reached(Audience(answer=("survey", "areas", "children_youth"))) == {7}
    assert reached(Audience(answer=("survey", "org_type", "ngo"))) == {8, 9}
    # Groups fill in no questionnaire: an answer filter never reaches them.
    assert reached(Audience(answer=("survey", "org_type", "ngo"), groups=True)) == {8, 9}


def test_filters_combine_with_and() -> None:
    both = Audience(municipalities=("vilnius-city",), answer=("survey", "org_type", "ngo"))
    assert reached(both) == {9}
    assert reached(Audience(municipalities=("vilnius-city",), language="lt", groups=True)) == {
        7,
        -100,
    }
    assert reached(Audience(municipalities=("riga",), language="lt")) == set()
    assert reached(Audience(call="youth-fund", language="en")) == set()


def test_audience_survives_storage() -> None:
    audience = Audience(
        groups=True,
        municipalities=("riga", "trakai-district"),
        language="lv",
        call="youth-fund",
        answer=("survey", "areas", "culture"),
    )
    assert Audience.from_json(audience.as_json()) == audience
    assert Audience.from_json({"language": "xx"}).language is None


@pytest.mark.parametrize(
    ("lang", "versions", "default", "expected"),
    [
        ("lv", ["lt", "lv", "en"], "lt", "lv"),  # their own
        ("en", ["lt", "lv"], "lt", "lt"),  # else the default language's
        ("en", ["lv", "lt"], "lt", "lt"),  # ... whatever the order
        ("lt", ["en", "lv"], "lt", "en"),  # else the first added
        ("lt", ["lv"], "en", "lv"),
    ],
)
def test_language_choice(lang: str, versions: list[str], default: str, expected: str) -> None:
    assert version_for(lang, versions, default) == expected  # type: ignore[arg-type]


def test_count_by_language() -> None:
    assert count_by_language(["lt", "en", "lt"]) == {"lt": 2, "en": 1}


def test_progress_lines_with_the_time_left_and_the_redelivered() -> None:
    progress = Progress(sent=10, failed=1, blocked=2, waiting=300, cancelled=3, redelivered=4)
    lines = progress_lines(progress, "en", left=timedelta(seconds=150))
    assert lines[:4] == ["Sent: 10", "Failed: 1", "Blocked the bot: 2", "Waiting: 300"]
    assert "Not sent (cancelled, opted out or unreachable): 3" in lines
    assert "Sent again after a restart (may have arrived twice): 4" in lines
    assert lines[-1] == "About 2 minutes left."
    finished = Progress(sent=10, failed=0, blocked=0, waiting=0)
    assert finished.done
    assert not any("left" in line for line in progress_lines(finished, "en", left=None))
    assert "Liko apie 21 minutę." in progress_lines(progress, "lt", left=timedelta(minutes=21))

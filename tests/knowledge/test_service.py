"""The knowledge base: answers in each language, call texts at a fixed moment, reload, new calls."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import Translations
from knowledge.municipalities import MunicipalityDirectory, load_municipalities
from knowledge.pack import Call
from knowledge.service import PACK_DIR, KnowledgeBase
from knowledge.text import LANGUAGES, Lang

VILNIUS = ZoneInfo("Europe/Vilnius")
NOW = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def municipalities() -> MunicipalityDirectory:
    return load_municipalities()


@pytest.fixture(scope="module")
def knowledge(municipalities: MunicipalityDirectory) -> KnowledgeBase:
    """The real pack (tests that change the knowledge build their own)."""
    return KnowledgeBase(municipalities)


@pytest.fixture(autouse=True)
def translations() -> Iterator[Translations]:
    """gettext for the texts the knowledge base writes (English ids when not translated)."""
    catalogue = Translations(default_locale="en")
    with catalogue.context():
        yield catalogue


@pytest.fixture
def pack_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(PACK_DIR, tmp_path / "pack"))


def spring_call(call_id: str = "spring-grants-2027", title: str = "Spring grants") -> Call:
    """A call open from 1 March 2027 09:00 until 31 March 2027 23:59, Vilnius time."""
    same = dict.fromkeys(LANGUAGES, title)
    return Call(
        id=call_id,
        title=same,
        programme=dict.fromkeys(LANGUAGES, "Community Fund"),
        funder=dict.fromkeys(LANGUAGES, "Ogre municipality"),
        opens=datetime(2027, 3, 1, 9, 0, tzinfo=VILNIUS),
        closes=datetime(2027, 3, 31, 23, 59, tzinfo=VILNIUS),
        timezone="Europe/Vilnius",
        who_may_apply=dict.fromkeys(LANGUAGES, "Youth clubs"),
        municipalities=("ogre-municipality",),
        contact="grants@example.org",
        link="https://example.org/grants",
    )


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VILNIUS)


@pytest.mark.parametrize(
    ("lang", "question", "entry_id"),
    [
        ("lt", "Kas yra bendruomenių pilotas?", "pilot-about"),
        ("lv", "Kas ir LPA?", "lpa-organisation"),
        ("en", "What are the aims of the Resilient Society Programme?", "avp-aims"),
    ],
)
def test_answer_in_each_language(
    knowledge: KnowledgeBase, lang: Lang, question: str, entry_id: str
) -> None:
    answer = knowledge.answer(question, lang, NOW)
    assert answer.confident
    assert (answer.kind, answer.id, answer.lang) == ("entry", entry_id, lang)
    assert answer.text == knowledge.pack.entry(entry_id).answer[lang]
    assert answer.suggestions == ()


def test_typed_without_diacritics_the_pilot_call_answers_with_its_dates(
    knowledge: KnowledgeBase,
) -> None:
    answer = knowledge.answer("iki kada teikti paraiskas bendruomeniu pilotui", "lt", NOW)
    assert (answer.kind, answer.id) == ("call", "community-pilot-2021")
    assert "2021 m. rugpjūčio 17 d., 00:00" in answer.text
    assert "2021 m. rugpjūčio 27 d., 23:59" in answer.text
    assert "Kvietimas baigėsi" in answer.text  # closed, in Lithuanian
    assert "bendruomenes@nisc.lt" in answer.text


def test_out_of_scope_question_is_never_answered(knowledge: KnowledgeBase) -> None:
    for question in ("What is the capital of France?", "tell me a joke", "Who won the match?"):
        answer = knowledge.answer(question, "en", NOW)
        assert not answer.confident, question
        assert answer.id is None
        assert "not sure" in answer.text


def test_unsure_answer_offers_the_closest_questions(knowledge: KnowledgeBase) -> None:
    answer = knowledge.answer("community pilot pizza", "en", NOW)
    assert not answer.confident
    assert answer.text.startswith("I am not sure")
    assert 1 <= len(answer.suggestions) <= 3
    assert all(s.id.startswith("pilot-") for s in answer.suggestions)
    assert (
        answer.suggestions[0].question
        in knowledge.pack.entry(answer.suggestions[0].id).questions["en"]
    )
    assert answer.guess == (answer.suggestions[0].kind, answer.suggestions[0].id)


def test_json_shape(knowledge: KnowledgeBase) -> None:
    unsure = knowledge.answer("community pilot pizza", "en", NOW).as_json()
    assert set(unsure) == {"lang", "answer", "score", "entry", "suggestions"}
    assert unsure["entry"] is None
    assert set(unsure["suggestions"][0]) == {"id", "question"}
    sure = knowledge.answer("What is the community pilot?", "en", NOW).as_json()
    assert (sure["entry"], sure["suggestions"]) == ("pilot-about", [])


def test_call_before_opening(knowledge: KnowledgeBase) -> None:
    text = knowledge.describe_call(spring_call(), "en", at(2027, 2, 20, 10))
    assert "Not open yet: applications from March 1, 2027, 9:00\u202fAM" in text
    assert "until March 31, 2027, 11:59\u202fPM" in text


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(2027, 3, 30, 23, 0), "closes in 1 day,"),
        (at(2027, 3, 29, 12, 0), "closes in 2 days,"),
        (at(2027, 3, 10, 23, 59), "closes in 21 days,"),
        (at(2027, 3, 31, 12, 0), "closes in less than a day,"),
    ],
)
def test_open_call_counts_the_days_left(
    knowledge: KnowledgeBase, now: datetime, expected: str
) -> None:
    text = knowledge.describe_call(spring_call(), "en", now)
    assert f"Open now: {expected} on March 31, 2027, 11:59\u202fPM." in text


def test_closed_call(knowledge: KnowledgeBase) -> None:
    text = knowledge.describe_call(spring_call(), "en", at(2027, 4, 1, 0, 0))
    assert text.splitlines()[1].startswith("Closed: applications were accepted from March 1")


def test_call_dates_in_the_readers_locale_and_the_calls_zone(knowledge: KnowledgeBase) -> None:
    call = spring_call()
    now = at(2027, 3, 10, 12)
    assert "2027 m. kovo 31 d., 23:59" in knowledge.describe_call(call, "lt", now)
    assert "2027. gada 31. marts, 23:59" in knowledge.describe_call(call, "lv", now)
    london_call = Call(**{**call.__dict__, "timezone": "Europe/London"})
    # The same moment on London's clock is two hours earlier.
    assert "March 31, 2027, 9:59\u202fPM" in knowledge.describe_call(london_call, "en", now)


def test_call_details(knowledge: KnowledgeBase) -> None:
    text = knowledge.describe_call(spring_call(), "en", at(2027, 3, 10, 12))
    assert text.splitlines()[0] == "Spring grants"
    assert "Municipalities: Ogre municipality" in text
    assert "Contact: grants@example.org" in text
    assert "More information: https://example.org/grants" in text
    everywhere = Call(**{**spring_call().__dict__, "municipalities": ()})
    assert "Municipalities: all municipalities" in knowledge.describe_call(
        everywhere, "en", at(2027, 3, 10, 12)
    )


def test_add_calls_makes_a_call_searchable_at_once(municipalities: MunicipalityDirectory) -> None:
    knowledge = KnowledgeBase(municipalities)
    question = "When do the beekeeping club grants close?"
    assert knowledge.answer(question, "en", NOW).id is None
    knowledge.add_calls([spring_call("beekeeping-2027", "Grants for beekeeping clubs")])
    answer = knowledge.answer(question, "en", at(2027, 3, 29, 12))
    assert (answer.kind, answer.id) == ("call", "beekeeping-2027")
    assert "closes in 2 days" in answer.text
    # The pack's own knowledge is still there.
    assert knowledge.answer("What is the community pilot?", "en", NOW).id == "pilot-about"


def test_calls_overview_without_open_calls_shows_the_latest_closed(
    knowledge: KnowledgeBase,
) -> None:
    text = knowledge.calls_overview("en", NOW)
    assert text.startswith("No call is open or upcoming right now.")
    assert "The latest closed calls:" in text
    assert "measure 1.1.4" in text and "Closed:" in text


def test_calls_overview_lists_open_upcoming_and_recently_closed(
    municipalities: MunicipalityDirectory,
) -> None:
    knowledge = KnowledgeBase(municipalities)
    now = at(2027, 3, 10, 12)
    knowledge.add_calls(
        [
            spring_call("open-one", "Open grants"),
            Call(
                **{
                    **spring_call().__dict__,
                    "id": "upcoming-one",
                    "title": dict.fromkeys(LANGUAGES, "Summer grants"),
                    "opens": at(2027, 6, 1, 0),
                    "closes": at(2027, 6, 30, 23, 59),
                }
            ),
            Call(
                **{
                    **spring_call().__dict__,
                    "id": "closed-one",
                    "title": dict.fromkeys(LANGUAGES, "Winter grants"),
                    "opens": now - timedelta(days=60),
                    "closes": now - timedelta(days=30),
                }
            ),
        ]
    )
    text = knowledge.calls_overview("en", now)
    current, recent, _hint = text.split("\n\n")
    assert current.splitlines()[0] == "Open and upcoming calls:"
    assert current.index("Open grants") < current.index("Summer grants")
    assert "closes in 21 days" in current and "Not open yet" in current
    assert recent.splitlines()[0] == "Recently closed:"
    assert "Winter grants" in recent
    assert "measure 1.1.4" not in text  # closed in 2021: not recent


def test_contacts(knowledge: KnowledgeBase) -> None:
    assert knowledge.contact("call", "community-pilot-2021") == "bendruomenes@nisc.lt"
    # An entry without an address of its own gets its programme's (its file's).
    assert "@" not in knowledge.pack.entry("pilot-about").answer["en"]
    assert knowledge.contact("entry", "pilot-about") == "bendruomenes@nisc.lt"
    assert knowledge.contact("entry", "lpa-organisation") is None  # the text gives none
    assert knowledge.contact("entry", "no-such-entry") is None


def test_suggestion_of_a_removed_entry_is_none(knowledge: KnowledgeBase) -> None:
    assert knowledge.answer_about("entry", "no-such-entry", "en", NOW) is None
    found = knowledge.answer_about("entry", "pilot-about", "lv", NOW)
    assert found is not None and found.text == knowledge.pack.entry("pilot-about").answer["lv"]


def test_reload_keeps_the_old_pack_when_the_new_one_is_broken(
    municipalities: MunicipalityDirectory, pack_copy: Path
) -> None:
    knowledge = KnowledgeBase(municipalities, pack_copy)
    knowledge.add_calls([spring_call()])
    before = knowledge.pack
    broken = pack_copy / "community-pilot.yaml"
    broken.write_text(
        broken.read_text(encoding="utf-8").replace("  - id: pilot-about", "  - id: Pilot About", 1),
        encoding="utf-8",
    )
    problems = knowledge.reload()
    assert problems
    assert str(problems[0]).startswith("pack/community-pilot.yaml:")
    assert "bad id" in str(problems[0])
    assert knowledge.pack is before
    assert knowledge.answer("What is the community pilot?", "en", NOW).id == "pilot-about"


def test_reload_picks_up_changes_and_keeps_stored_calls(
    municipalities: MunicipalityDirectory, pack_copy: Path
) -> None:
    knowledge = KnowledgeBase(municipalities, pack_copy)
    knowledge.add_calls([spring_call()])
    (pack_copy / "latvian-civic-alliance.yaml").unlink()
    assert knowledge.reload() == []
    assert all(not entry.id.startswith("lpa-") for entry in knowledge.pack.entries)
    assert knowledge.pack.call("spring-grants-2027").title["en"] == "Spring grants"
    assert knowledge.reload(stored_calls=[]) == []
    with pytest.raises(KeyError):
        knowledge.pack.call("spring-grants-2027")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("iki kada teikti paraiskas bendruomeniu pilotui", "lt"),
        ("Ar galima gauti paramą?", "lt"),
        ("Vai vēl ir atvērts kopienu uzsaukums?", "lv"),
        ("līdz kuram datumam", "lv"),
        ("When is the community pilot call?", "en"),
        ("AVP", None),
    ],
)
def test_guess_language(knowledge: KnowledgeBase, text: str, expected: str | None) -> None:
    assert knowledge.guess_language(text) == expected


def test_language_of_a_question_without_distinctive_letters(knowledge: KnowledgeBase) -> None:
    # No distinctive letters: the pack's Latvian words tell; nothing at all: the default.
    assert knowledge.language_of("Kad ir kopienu pilotprojekta uzsaukums?", "lt") == "lv"
    assert knowledge.language_of("Kas ir Geri norai?", "lt") == "lv"
    assert knowledge.language_of("Kas finansuoja Local-y-mpact?", "en") == "lt"
    assert knowledge.language_of("Who funds Local-y-mpact?", "lt") == "en"
    assert knowledge.language_of("xyzzy", "en") == "en"

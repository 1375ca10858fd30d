"""Questionnaire engine: answer validation per kind, conditions, navigation, drafts, loader."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from knowledge.municipalities import load_municipalities
from knowledge.questionnaire import (
    QUESTIONNAIRES_DIR,
    Answer,
    AnswerValue,
    Draft,
    Invalid,
    Kind,
    Option,
    Problem,
    Progress,
    Question,
    Questionnaire,
    QuestionnaireError,
    answer_current,
    check_questionnaire,
    check_questionnaires,
    choose_option,
    confirm_selection,
    current_question,
    edit_question,
    final_answers,
    first_unanswered,
    format_answer,
    go_back,
    is_complete,
    load_questionnaire,
    load_questionnaires,
    migrate_draft,
    next_question,
    previous_question,
    progress,
    resubmission_draft,
    return_to_review,
    skip_current,
    start_draft,
    toggle_current,
    toggle_option,
    validate_answer,
    validate_value,
    visible_answers,
    visible_questions,
)
from knowledge.text import LANGUAGES, Lang

TODAY = date(2024, 6, 1)
KNOWN_MUNICIPALITIES = frozenset({"trakai-district", "riga-city", "taurage-district"})


def texts(word: str) -> dict[Lang, str]:
    return {"lt": f"{word} (lt)", "lv": f"{word} (lv)", "en": word}


def make(kind: Kind, **fields: Any) -> Question:
    return Question(id="q", kind=kind, text=texts("Question"), **fields)


ORG_TYPE = make(
    Kind.SINGLE_CHOICE,
    options=(
        Option(
            "community",
            {"lt": "Vietos bendruomenė", "lv": "Vietējā kopiena", "en": "Local community"},
        ),
        Option(
            "ngo",
            {"lt": "Nevyriausybinė organizacija", "lv": "Nevalstiskā organizācija", "en": "NGO"},
        ),
        Option(
            "youth",
            {
                "lt": "Jaunimo organizacija",
                "lv": "Jauniešu organizācija",
                "en": "Youth organisation",
            },
        ),
    ),
)
AREAS = make(
    Kind.MULTIPLE_CHOICE,
    options=(
        Option("culture", {"lt": "Kultūra", "lv": "Kultūra", "en": "Culture"}),
        Option("sport", {"lt": "Sportas", "lv": "Sports", "en": "Sport"}),
        Option(
            "social", {"lt": "Socialinė pagalba", "lv": "Sociālā palīdzība", "en": "Social support"}
        ),
        Option("none", {"lt": "Nė viena", "lv": "Neviena", "en": "None"}, exclusive=True),
    ),
)


def value_of(result: Answer | Invalid) -> AnswerValue:
    assert isinstance(result, Answer), result
    return result.value


def moved(result: Draft | Invalid) -> Draft:
    assert isinstance(result, Draft), result
    return result


def english(result: Answer | Invalid | list[str] | Draft) -> str:
    assert isinstance(result, Invalid), result
    return result.message("en")


# --------------------------------------------------------------------------------------------
# Validation of typed answers, kind by kind
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Trakų bendruomenė  ", "Trakų bendruomenė"),
        ("Senųjų\n  Trakų   klubas", "Senųjų Trakų klubas"),
        ("x" * 200, "x" * 200),
        ("0", "0"),
    ],
)
def test_short_text_is_trimmed_and_kept_on_one_line(raw: str, expected: str) -> None:
    assert value_of(validate_answer(make(Kind.SHORT_TEXT), raw)) == expected


def test_short_text_rejects_empty_and_too_long_text() -> None:
    question = make(Kind.SHORT_TEXT)
    assert english(validate_answer(question, "   ")) == "The answer cannot be empty."
    too_long = validate_answer(question, "ž" * 201)
    assert english(too_long) == "The answer is too long (201 characters, at most 200 allowed)."
    assert isinstance(too_long, Invalid)
    assert too_long.message("lt") == (
        "Atsakymas per ilgas (simbolių skaičius: 201, leidžiama daugiausia 200)."
    )
    assert too_long.message("lv") == (
        "Atbilde ir pārāk gara (rakstzīmju skaits: 201, atļauts ne vairāk kā 200)."
    )


def test_text_length_limits_come_from_min_and_max() -> None:
    question = make(Kind.SHORT_TEXT, minimum=3, maximum=10)
    assert value_of(validate_answer(question, "abcdefghij")) == "abcdefghij"
    assert english(validate_answer(question, "abcdefghijk")).startswith("The answer is too long")
    assert english(validate_answer(question, "ab")) == (
        "The answer is too short (2 characters, at least 3 needed)."
    )


def test_long_text_keeps_line_breaks_drops_control_characters_and_limits_to_2000() -> None:
    question = make(Kind.LONG_TEXT)
    assert value_of(validate_answer(question, "Pirma.\nAntra\x00.")) == "Pirma.\nAntra."
    assert value_of(validate_answer(question, "a" * 2000)) == "a" * 2000
    assert english(validate_answer(question, "a" * 2001)) == (
        "The answer is too long (2,001 characters, at most 2,000 allowed)."
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ngo", "ngo"),
        ("2", "ngo"),
        ("Jaunimo organizacija", "youth"),
        ("jauniesu organizacija", "youth"),  # Latvian, typed without diacritics
        ("LOCAL COMMUNITY", "community"),
    ],
)
def test_single_choice_accepts_id_number_or_text_in_any_language(raw: str, expected: str) -> None:
    assert value_of(validate_answer(ORG_TYPE, raw)) == expected


@pytest.mark.parametrize("raw", ["4", "0", "-1", "bendruomene ir ngo", "ngo, youth"])
def test_single_choice_rejects_anything_else(raw: str) -> None:
    assert english(validate_answer(ORG_TYPE, raw)) == "Please choose one of the options."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("3, 1", ["culture", "social"]),
        ("Sportas; kultura", ["culture", "sport"]),
        ("Social support", ["social"]),
        ("2\n2", ["sport"]),
        ("none", ["none"]),
    ],
)
def test_multiple_choice_accepts_a_list_in_questionnaire_order(
    raw: str, expected: list[str]
) -> None:
    assert value_of(validate_answer(AREAS, raw)) == expected


def test_multiple_choice_rejects_unknown_options_exclusive_mixes_and_empty_lists() -> None:
    assert english(validate_answer(AREAS, "1, 9")) == (
        "There is no such option; please choose one of those offered."
    )
    mixed = validate_answer(AREAS, "none, 1")
    assert english(mixed) == "“None” cannot be chosen together with other options."
    assert isinstance(mixed, Invalid)
    assert mixed.message("lt") == "Atsakymo „Nė viena“ negalima pasirinkti kartu su kitais."
    assert english(validate_answer(AREAS, " , ; ")) == "Please choose at least one option."


MEMBERS = make(Kind.NUMBER, minimum=0, maximum=100000)
BUDGET_SHARE = make(Kind.NUMBER, integer=False, minimum=0, maximum=100)


@pytest.mark.parametrize(
    ("question", "raw", "expected"),
    [
        (MEMBERS, "0", 0),
        (MEMBERS, "25", 25),
        (MEMBERS, "+25", 25),
        (MEMBERS, "1 000", 1000),
        (MEMBERS, "1\u00a0000", 1000),
        (MEMBERS, "3,0", 3),
        (MEMBERS, "100000", 100000),
        (BUDGET_SHARE, "3,5", 3.5),
        (BUDGET_SHARE, "3.5", 3.5),
        (BUDGET_SHARE, "12", 12.0),
        (make(Kind.NUMBER), "-4", -4),
        (make(Kind.NUMBER), "\u22124", -4),
    ],
)
def test_number_accepts_whole_and_decimal_numbers(
    question: Question, raw: str, expected: float
) -> None:
    value = value_of(validate_answer(question, raw))
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("question", "raw", "message"),
    [
        (MEMBERS, "-1", "The number must be at least 0."),
        (MEMBERS, "100001", "The number must be at most 100,000."),
        (MEMBERS, "3,5", "Please enter a whole number."),
        (MEMBERS, "3.5", "Please enter a whole number."),
        (MEMBERS, "apie 20", "Please enter a number, for example 12."),
        (MEMBERS, "1e3", "Please enter a number, for example 12."),
        (MEMBERS, "12 narių", "Please enter a number, for example 12."),
        (MEMBERS, "1,2,3", "Please enter a number, for example 12."),
        (BUDGET_SHARE, "100,5", "The number must be at most 100."),
        (BUDGET_SHARE, "-0,5", "The number must be at least 0."),
    ],
)
def test_number_rejects_bad_and_out_of_range_input(
    question: Question, raw: str, message: str
) -> None:
    assert english(validate_answer(question, raw)) == message


def test_number_messages_use_each_languages_number_format() -> None:
    result = validate_answer(MEMBERS, "200000")
    assert isinstance(result, Invalid)
    assert result.message("lt") == "Skaičius turi būti ne didesnis kaip 100\u00a0000."
    assert result.message("lv") == "Skaitlim jābūt ne lielākam par 100\u00a0000."


FOUNDED = make(Kind.DATE)
EVENT_DAY = make(Kind.DATE, earliest=date(2024, 1, 1), latest="today")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-31", "2024-05-31"),
        ("31.05.2024", "2024-05-31"),
        ("2024.05.31", "2024-05-31"),
        ("31.05.2024.", "2024-05-31"),
        ("1.5.2024", "2024-05-01"),
        ("2024-02-29", "2024-02-29"),
    ],
)
def test_date_accepts_iso_and_dotted_forms(raw: str, expected: str) -> None:
    assert value_of(validate_answer(FOUNDED, raw, today=TODAY)) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("31.02.2024", "That date does not exist in the calendar."),
        ("2023-02-29", "That date does not exist in the calendar."),
        ("2024-13-01", "That date does not exist in the calendar."),
        ("05/31/2024", "Please enter a date, for example 2024-05-31 or 31.05.2024."),
        ("vakar", "Please enter a date, for example 2024-05-31 or 31.05.2024."),
        ("2024-05-31T10:00", "Please enter a date, for example 2024-05-31 or 31.05.2024."),
    ],
)
def test_date_rejects_impossible_and_unknown_forms(raw: str, message: str) -> None:
    assert english(validate_answer(FOUNDED, raw, today=TODAY)) == message


def test_date_bounds_including_today() -> None:
    assert value_of(validate_answer(EVENT_DAY, "01.06.2024", today=TODAY)) == "2024-06-01"
    assert english(validate_answer(EVENT_DAY, "2023-12-31", today=TODAY)) == (
        "The date must be on or after 2024-01-01."
    )
    assert english(validate_answer(EVENT_DAY, "2024-06-02", today=TODAY)) == (
        "The date must be on or before 2024-06-01."
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Info@Bendruomene.LT", "Info@bendruomene.lt"),
        ("  vardas.pavarde+trakai@3sektorius.lt ", "vardas.pavarde+trakai@3sektorius.lt"),
        ("biedriba@pasvaldiba.gov.lv", "biedriba@pasvaldiba.gov.lv"),
        ("info@bendruomenė.lt", "info@bendruomenė.lt"),
    ],
)
def test_email_accepts_addresses_and_lowercases_the_domain(raw: str, expected: str) -> None:
    assert value_of(validate_answer(make(Kind.EMAIL), raw)) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "info@",
        "info",
        "info@bendruomene",
        "@bendruomene.lt",
        "a@b@c.lt",
        "vardas pavarde@c.lt",
        ".info@c.lt",
        "info..x@c.lt",
        "info@-c.lt",
        "info@c.l",
        "info@c..lt",
    ],
)
def test_email_rejects_addresses_without_a_proper_domain(raw: str) -> None:
    assert english(validate_answer(make(Kind.EMAIL), raw)) == (
        "That does not look like an e-mail address. Example: name@community.org"
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+370 612 34567", "+37061234567"),
        ("+370-612-34567", "+37061234567"),
        ("8 612 34567", "+37061234567"),
        ("0 612 34567", "+37061234567"),
        ("(8 5) 212 3456", "+37052123456"),
        ("00370 612 34567", "+37061234567"),
        ("+370 8 612 34567", "+37061234567"),
        ("+371 2012 3456", "+37120123456"),
        ("2012-3456", "+37120123456"),
        ("+371 6700 1234", "+37167001234"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+1 (202) 555-0143", "+12025550143"),
    ],
)
def test_phone_is_normalised_to_e164(raw: str, expected: str) -> None:
    assert value_of(validate_answer(make(Kind.PHONE), raw)) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "+37O 612 34567",  # a letter O for a zero
        "tel. 861234567",
        "+370 612 3456",  # one digit short
        "+371 2012 34567",  # one digit too many
        "+370 012 34567",
        "++370 612 34567",
        "123",
        "+0 123 456 789",
        "+123456789012345678",
    ],
)
def test_phone_rejects_letters_and_wrong_lengths(raw: str) -> None:
    assert english(validate_answer(make(Kind.PHONE), raw)) == (
        "Please enter a phone number, for example +370 612 34567 or +371 2012 3456."
    )


def test_phone_without_country_code_that_could_be_either_country_is_asked_again() -> None:
    assert english(validate_answer(make(Kind.PHONE), "612 34567")) == (
        "Please add the country code: +370 (Lithuania) or +371 (Latvia)."
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("3sektorius.lt", "https://3sektorius.lt"),
        ("www.3sektorius.lt/apie?x=1", "https://www.3sektorius.lt/apie?x=1"),
        ("HTTP://Bendruomene.LT/Renginiai", "http://bendruomene.lt/Renginiai"),
        ("https://www.facebook.com/groups/trakai", "https://www.facebook.com/groups/trakai"),
        ("bendruomene.lt:8080/x", "https://bendruomene.lt:8080/x"),
        ("https://bendruomenė.lt", "https://bendruomenė.lt"),
    ],
)
def test_url_accepts_web_addresses_and_bare_domains(raw: str, expected: str) -> None:
    assert value_of(validate_answer(make(Kind.URL), raw)) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "javascript://%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://files.example.lt",
        "mailto:info@bendruomene.lt",
    ],
)
def test_url_rejects_other_schemes(raw: str) -> None:
    assert english(validate_answer(make(Kind.URL), raw)) == (
        "Only http and https addresses are allowed."
    )


@pytest.mark.parametrize(
    "raw",
    ["our website", "localhost", "http://", "https://user:secret@evil.lt", "https://x.lt:99999"],
)
def test_url_rejects_what_is_not_a_web_address(raw: str) -> None:
    assert english(validate_answer(make(Kind.URL), raw)).startswith(
        "Please enter a website address"
    )


def test_municipality_checks_ids_against_the_given_container() -> None:
    question = make(Kind.MUNICIPALITY)
    assert value_of(
        validate_answer(question, "trakai-district", municipalities=KNOWN_MUNICIPALITIES)
    ) == ("trakai-district")
    assert value_of(
        validate_answer(question, " Riga-City ", municipalities=KNOWN_MUNICIPALITIES)
    ) == ("riga-city")
    assert english(validate_answer(question, "atlantis", municipalities=KNOWN_MUNICIPALITIES)) == (
        "I found no municipality by that name. Type a part of its name, "
        "for example “Trakai” or “Ogre”."
    )
    with pytest.raises(ValueError, match="known municipality ids"):
        validate_answer(question, "trakai-district")


def test_municipality_resolver_and_the_real_directory() -> None:
    directory = load_municipalities()
    question = make(Kind.MUNICIPALITY)

    def resolve(text: str) -> str | None:
        found = directory.find(text, limit=1)
        return found[0].id if found else None

    assert value_of(validate_answer(question, "Trakuose", municipalities=resolve)) == (
        "trakai-district"
    )
    assert value_of(validate_answer(question, "taurage-district", municipalities=directory)) == (
        "taurage-district"
    )
    assert isinstance(validate_answer(question, "Trakai", municipalities=directory), Invalid)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("taip", True),
        ("Taip.", True),
        ("ne", False),
        ("jā", True),
        ("Jā", True),
        ("ja", True),
        ("nē", False),
        ("yes", True),
        ("YES", True),
        ("no", False),
    ],
)
def test_yes_no_understands_all_three_languages(raw: str, expected: bool) -> None:
    assert value_of(validate_answer(make(Kind.YES_NO), raw)) is expected


@pytest.mark.parametrize("raw", ["gal", "maybe", "nezinau", "1"])
def test_yes_no_rejects_other_words(raw: str) -> None:
    result = validate_answer(make(Kind.YES_NO), raw)
    assert english(result) == "Please answer “yes” or “no”."
    assert isinstance(result, Invalid)
    assert result.message("lv") == "Atbildiet „jā“ vai „nē“."


@pytest.mark.parametrize(("raw", "expected"), [("1", 1), ("3", 3), (" 5 ", 5)])
def test_scale_accepts_one_to_five(raw: str, expected: int) -> None:
    assert value_of(validate_answer(make(Kind.SCALE), raw)) == expected


@pytest.mark.parametrize("raw", ["6", "0", "-1", "3,5", "penki", "10"])
def test_scale_rejects_anything_outside_one_to_five(raw: str) -> None:
    assert english(validate_answer(make(Kind.SCALE), raw)) == "Please choose a number from 1 to 5."


def test_custom_error_text_replaces_the_built_in_message() -> None:
    question = make(Kind.NUMBER, minimum=1, error=texts("Members: a whole number from 1"))
    result = validate_answer(question, "0")
    assert isinstance(result, Invalid)
    assert result.messages == texts("Members: a whole number from 1")


# --------------------------------------------------------------------------------------------
# Button input
# --------------------------------------------------------------------------------------------


def test_buttons_for_single_choice_yes_no_and_scale() -> None:
    assert value_of(choose_option(ORG_TYPE, "youth")) == "youth"
    assert value_of(choose_option(make(Kind.YES_NO), "yes")) is True
    assert value_of(choose_option(make(Kind.YES_NO), "no")) is False
    assert value_of(choose_option(make(Kind.SCALE), "4")) == 4
    # A button from an old message whose option no longer exists
    assert english(choose_option(ORG_TYPE, "school")) == (
        "There is no such option; please choose one of those offered."
    )
    assert english(choose_option(make(Kind.SCALE), "6")).startswith("There is no such option")
    with pytest.raises(ValueError, match="no single-choice buttons"):
        choose_option(AREAS, "culture")
    with pytest.raises(ValueError, match="no single-choice buttons"):
        choose_option(make(Kind.SHORT_TEXT), "x")


def test_yes_no_and_scale_offer_their_own_buttons() -> None:
    assert [(o.id, o.text["lv"]) for o in make(Kind.YES_NO).choices] == [
        ("yes", "Jā"),
        ("no", "Nē"),
    ]
    assert [o.id for o in make(Kind.SCALE).choices] == ["1", "2", "3", "4", "5"]
    assert make(Kind.EMAIL).choices == ()


def test_toggle_keeps_questionnaire_order_and_exclusive_options_alone() -> None:
    assert toggle_option(AREAS, [], "social") == ["social"]
    assert toggle_option(AREAS, ["social"], "culture") == ["culture", "social"]
    assert toggle_option(AREAS, ["culture", "social"], "culture") == ["social"]
    assert toggle_option(AREAS, ["culture", "social"], "none") == ["none"]
    assert toggle_option(AREAS, ["none"], "sport") == ["sport"]
    assert toggle_option(AREAS, ["none"], "none") == []
    assert english(toggle_option(AREAS, ["culture"], "gone")).startswith("There is no such option")
    with pytest.raises(ValueError, match="not multiple choice"):
        toggle_option(ORG_TYPE, [], "ngo")


@pytest.mark.parametrize(
    ("question", "value", "valid"),
    [
        (ORG_TYPE, "ngo", True),
        (ORG_TYPE, "school", False),
        (AREAS, ["sport", "culture"], True),
        (AREAS, ["sport", "gone"], False),
        (AREAS, ["none", "sport"], False),
        (AREAS, [], False),
        (AREAS, "sport", False),
        (MEMBERS, 12, True),
        (MEMBERS, 12.5, False),
        (MEMBERS, -1, False),
        (MEMBERS, True, False),
        (make(Kind.SCALE), 5, True),
        (make(Kind.SCALE), 6, False),
        (make(Kind.SCALE), True, False),
        (make(Kind.YES_NO), False, True),
        (make(Kind.YES_NO), "no", False),
        (make(Kind.DATE), "2024-05-31", True),
        (make(Kind.DATE), "2024-02-31", False),
        (make(Kind.SHORT_TEXT, maximum=5), "Trakai", False),
        (make(Kind.SHORT_TEXT), None, False),
        (make(Kind.SHORT_TEXT, required=False), None, True),
        (make(Kind.MUNICIPALITY), "trakai-district", True),
    ],
)
def test_validate_value_checks_stored_answers(
    question: Question, value: object, valid: bool
) -> None:
    result = validate_value(question, value, today=TODAY)
    assert isinstance(result, Answer) is valid, result


def test_format_answer_in_each_language() -> None:
    assert format_answer(ORG_TYPE, "ngo", "lv") == "Nevalstiskā organizācija"
    assert format_answer(AREAS, ["culture", "social"], "en") == "Culture; Social support"
    assert format_answer(make(Kind.YES_NO), True, "lt") == "Taip"
    assert format_answer(make(Kind.YES_NO), False, "lv") == "Nē"
    assert format_answer(make(Kind.SCALE), 4, "en") == "4 / 5"
    assert format_answer(BUDGET_SHARE, 3.5, "lt") == "3,5"
    assert format_answer(MEMBERS, 1500, "en") == "1,500"
    assert format_answer(make(Kind.SHORT_TEXT), None, "lt") == "(praleista)"
    assert format_answer(FOUNDED, "2024-05-31", "en") == "2024-05-31"
    assert (
        format_answer(
            FOUNDED, "2024-05-31", "lt", format_date=lambda day, lang: f"{lang}:{day.day}"
        )
        == "lt:31"
    )
    assert (
        format_answer(
            make(Kind.MUNICIPALITY),
            "trakai-district",
            "en",
            municipality_name=lambda mid, lang: f"{mid}/{lang}",
        )
        == "trakai-district/en"
    )


# --------------------------------------------------------------------------------------------
# A small questionnaire with conditions, read from YAML
# --------------------------------------------------------------------------------------------

HEADER = """\
id: club
version: 1
title: {lt: Klubas, lv: Klubs, en: Club}
intro: {lt: Sveiki, lv: Sveiki, en: Hello}
closing: {lt: Ačiū, lv: Paldies, en: Thanks}
consent: {lt: Saugome atsakymus, lv: Glabājam atbildes, en: We store answers}
"""

CLUB = (
    HEADER
    + """\
questions:
  - id: name
    kind: short_text
    text: {lt: Pavadinimas, lv: Nosaukums, en: Name}
  - id: cooperates
    kind: yes_no
    text: {lt: "Bendradarbiaujate?", lv: "Sadarbojaties?", en: "Cooperate?"}
  - id: forms
    kind: multiple_choice
    when: {question: cooperates, equals: yes}
    text: {lt: Formos, lv: Veidi, en: Forms}
    options:
      - {id: funding, text: {lt: Finansavimas, lv: Finansējums, en: Funding}}
      - {id: events, text: {lt: Renginiai, lv: Pasākumi, en: Events}}
      - {id: other, text: {lt: Kita, lv: Cits, en: Other}}
  - id: forms_other
    kind: short_text
    when: {question: forms, includes: other}
    text: {lt: "Kokia kita?", lv: "Kāds cits?", en: "Which other?"}
  - id: frequency
    kind: single_choice
    when: {question: cooperates, equals: "yes"}
    text: {lt: Dažnumas, lv: Biežums, en: Frequency}
    options:
      - {id: weekly, text: {lt: Kas savaitę, lv: Katru nedēļu, en: Weekly}}
      - {id: monthly, text: {lt: Kas mėnesį, lv: Katru mēnesi, en: Monthly}}
      - {id: rarely, text: {lt: Retai, lv: Reti, en: Rarely}}
  - id: why_rarely
    kind: long_text
    required: false
    when: {question: frequency, in: [monthly, rarely]}
    text: {lt: "Kodėl retai?", lv: "Kāpēc reti?", en: "Why rarely?"}
  - id: members
    kind: number
    min: 0
    max: 1000
    text: {lt: Nariai, lv: Biedri, en: Members}
  - id: note
    kind: long_text
    required: false
    text: {lt: Pastaba, lv: Piezīme, en: Note}
"""
)


def write(folder: Path, text: str, name: str = "club.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def club(tmp_path: Path) -> Questionnaire:
    return load_questionnaire(write(tmp_path, CLUB))


def ids(questions: list[Question]) -> list[str]:
    return [question.id for question in questions]


def test_conditional_questions_are_asked_only_when_their_condition_holds(
    club: Questionnaire,
) -> None:
    assert ids(visible_questions(club, {})) == ["name", "cooperates", "members", "note"]
    assert ids(visible_questions(club, {"cooperates": False})) == [
        "name",
        "cooperates",
        "members",
        "note",
    ]
    assert ids(visible_questions(club, {"cooperates": True})) == [
        "name",
        "cooperates",
        "forms",
        "frequency",
        "members",
        "note",
    ]
    answers: dict[str, AnswerValue] = {
        "cooperates": True,
        "forms": ["funding", "other"],
        "frequency": "rarely",
    }
    assert ids(visible_questions(club, answers)) == [
        "name",
        "cooperates",
        "forms",
        "forms_other",
        "frequency",
        "why_rarely",
        "members",
        "note",
    ]
    assert "why_rarely" not in ids(visible_questions(club, {**answers, "frequency": "weekly"}))


def test_a_skipped_condition_question_keeps_its_followers_hidden(club: Questionnaire) -> None:
    assert "forms_other" not in ids(visible_questions(club, {"cooperates": True, "forms": None}))


def test_editing_a_to_no_drops_b_from_visible_answers(club: Questionnaire) -> None:
    answers: dict[str, AnswerValue] = {
        "name": "Klubas",
        "cooperates": True,
        "forms": ["other"],
        "forms_other": "Talkos",
        "frequency": "weekly",
        "members": 12,
        "unknown": "x",
    }
    assert visible_answers(club, answers) == {k: v for k, v in answers.items() if k != "unknown"}
    answers["cooperates"] = False
    assert visible_answers(club, answers) == {"name": "Klubas", "cooperates": False, "members": 12}


def test_next_and_previous_step_over_questions_not_asked(club: Questionnaire) -> None:
    no: dict[str, AnswerValue] = {"name": "Klubas", "cooperates": False}
    yes: dict[str, AnswerValue] = {
        "name": "Klubas",
        "cooperates": True,
        "forms": ["funding"],
        "frequency": "weekly",
    }
    assert next_question(club, {}) == club.question("name")
    assert next_question(club, no, after="cooperates") == club.question("members")
    assert next_question(club, yes, after="cooperates") == club.question("forms")
    assert next_question(club, yes, after="forms") == club.question("frequency")
    assert next_question(club, yes, after="frequency") == club.question("members")
    assert next_question(club, yes, after="note") is None
    assert previous_question(club, no, before="members") == club.question("cooperates")
    assert previous_question(club, yes, before="members") == club.question("frequency")
    assert previous_question(club, yes, before="frequency") == club.question("forms")
    assert previous_question(club, yes, before="name") is None
    assert previous_question(club, yes) == club.question("note")  # from the review
    with pytest.raises(KeyError):
        next_question(club, yes, after="nope")


def test_completeness_and_progress(club: Questionnaire) -> None:
    answers: dict[str, AnswerValue] = {"name": "Klubas", "cooperates": True}
    assert progress(club, {}, "name") == Progress(1, 4)
    assert progress(club, answers, "forms") == Progress(3, 6)
    assert progress(club, answers, None) == Progress(6, 6)
    assert first_unanswered(club, answers) == club.question("forms")
    assert not is_complete(club, answers)
    answers.update(forms=["funding"], frequency="weekly", members=3)
    assert is_complete(club, answers)  # the optional note may stay unanswered
    answers["members"] = None
    assert not is_complete(club, answers)


# --------------------------------------------------------------------------------------------
# Drafts: the whole flow a member goes through
# --------------------------------------------------------------------------------------------


def answer(club: Questionnaire, draft: Draft, raw: str) -> Draft:
    question = current_question(club, draft)
    assert question is not None
    result = validate_answer(question, raw)
    assert isinstance(result, Answer), result
    return answer_current(club, draft, result)


def test_a_member_answers_edits_and_submits(club: Questionnaire) -> None:
    draft = start_draft(club)
    assert (draft.questionnaire_id, draft.version, draft.current) == ("club", 1, "name")
    draft = answer(club, draft, "Trakų klubas")
    draft = answer(club, draft, "taip")
    assert draft.current == "forms"
    draft = moved(toggle_current(club, draft, "events"))
    draft = moved(toggle_current(club, draft, "funding"))
    assert draft.selection == ("funding", "events")
    draft = moved(confirm_selection(club, draft))
    assert draft.answers["forms"] == ["funding", "events"]
    assert draft.current == "frequency"
    draft = answer_current(
        club, draft, value_check(choose_option(club.question("frequency"), "weekly"))
    )
    draft = answer(club, draft, "15")
    assert draft.current == "note"
    skipped = skip_current(club, draft)
    assert isinstance(skipped, Draft)
    draft = skipped
    assert draft.current is None  # the review
    assert draft.answers["note"] is None
    assert is_complete(club, draft.answers)

    # Editing A (cooperates) to "no" hides B (forms, frequency) and returns to the review; B's
    # answers are not shown or submitted, but kept in case A goes back to "yes".
    edited = edit_question(club, draft, "cooperates")
    assert isinstance(edited, Draft)
    assert (edited.current, edited.editing) == ("cooperates", True)
    draft = answer(club, edited, "ne")
    assert (draft.current, draft.editing) == (None, False)
    assert "forms" not in visible_answers(club, draft.answers)
    assert "frequency" not in final_answers(club, draft)
    assert draft.answers["forms"] == ["funding", "events"]

    # Back to "yes": B's answers still fit, so nothing is asked again: back to the review.
    draft = answer(club, moved(edit_question(club, draft, "cooperates")), "jā")
    assert (draft.current, draft.editing) == (None, False)
    assert final_answers(club, draft)["forms"] == ["funding", "events"]

    # A question the change makes necessary for the first time is asked, then the review again.
    draft = answer(club, moved(edit_question(club, draft, "cooperates")), "ne")
    no_forms = {key: value for key, value in draft.answers.items() if key != "forms"}
    draft = replace(draft, answers=no_forms)
    draft = answer(club, moved(edit_question(club, draft, "cooperates")), "jā")
    assert (draft.current, draft.editing) == ("forms", True)
    assert draft.selection == ()
    draft = answer(club, draft, "1")
    assert (draft.current, draft.editing) == (None, False)
    assert final_answers(club, draft) == {
        "name": "Trakų klubas",
        "cooperates": True,
        "forms": ["funding"],
        "frequency": "weekly",
        "members": 15,
        "note": None,
    }


def value_check(result: Answer | Invalid) -> Answer:
    assert isinstance(result, Answer), result
    return result


def test_required_questions_cannot_be_skipped(club: Questionnaire) -> None:
    draft = start_draft(club)
    refused = skip_current(club, draft)
    assert isinstance(refused, Invalid)
    assert refused.message("en") == "This question is required and cannot be skipped."
    assert refused.message("lt") == "Į šį klausimą atsakyti privaloma, jo praleisti negalima."


def test_back_returns_to_the_question_actually_asked_before(club: Questionnaire) -> None:
    draft = start_draft(club)
    assert go_back(club, draft) == draft  # nothing before the first question
    draft = answer(club, answer(club, draft, "Klubas"), "ne")
    assert draft.current == "members"
    draft = go_back(club, draft)
    assert draft.current == "cooperates"  # not the hidden frequency/forms
    draft = answer(club, draft, "taip")
    assert draft.current == "forms"
    draft = answer(club, draft, "1, 3")
    draft = answer(club, draft, "Talkos")
    assert draft.current == "frequency"
    draft = go_back(club, draft)
    assert draft.current == "forms_other"
    draft = go_back(club, draft)
    assert (draft.current, draft.selection) == ("forms", ("funding", "other"))


def test_skipped_optional_question_is_reached_again_by_back(club: Questionnaire) -> None:
    draft = Draft("club", 1, "note", {"name": "K", "cooperates": False, "members": 1})
    draft = moved(skip_current(club, draft))
    assert draft.current is None
    back = go_back(club, draft)
    assert back.current == "note"
    assert return_to_review(club, back).current is None


def test_questions_not_asked_cannot_be_edited(club: Questionnaire) -> None:
    draft = Draft("club", 1, None, {"name": "K", "cooperates": False, "members": 1})
    assert english(edit_question(club, draft, "forms")) == "This question is not asked any more."
    assert english(edit_question(club, draft, "nope")) == "This question is not asked any more."


def test_a_selection_must_not_be_empty(club: Questionnaire) -> None:
    draft = Draft("club", 1, "forms", {"name": "K", "cooperates": True})
    assert english(confirm_selection(club, draft)) == "Please choose at least one option."
    assert english(toggle_current(club, draft, "gone")).startswith("There is no such option")


def test_review_and_unfinished_drafts_refuse_what_makes_no_sense(club: Questionnaire) -> None:
    at_review = Draft("club", 1, None, {"name": "K"})
    with pytest.raises(ValueError, match="review"):
        answer_current(club, at_review, Answer("x"))
    with pytest.raises(ValueError, match="not complete"):
        final_answers(club, at_review)
    assert return_to_review(club, at_review).current == "cooperates"


def test_draft_survives_a_round_trip_through_json(club: Questionnaire) -> None:
    draft = start_draft(club)
    for raw in ("Klubas", "taip"):
        draft = answer(club, draft, raw)
    draft = moved(toggle_current(club, draft, "other"))
    stored = json.dumps(draft.to_dict())
    restored = Draft.from_dict(json.loads(stored))
    assert restored == draft
    assert json.loads(stored) == {
        "questionnaire_id": "club",
        "version": 1,
        "current": "forms",
        "answers": {"name": "Klubas", "cooperates": True},
        "kinds": {"name": "short_text", "cooperates": "yes_no"},
        "editing": False,
        "selection": ["other"],
    }


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"questionnaire_id": "club", "version": "1", "current": None},
        {"questionnaire_id": "club", "version": 1, "current": 3},
        {"questionnaire_id": "club", "version": 1, "current": None, "answers": {"a": {"b": 1}}},
        {"questionnaire_id": "club", "version": 1, "current": None, "answers": {"a": [1]}},
        {"questionnaire_id": "club", "version": 1, "current": None, "selection": "x"},
        {"questionnaire_id": "club", "version": 1, "current": None, "kinds": {"a": 1}},
    ],
)
def test_draft_from_damaged_data_is_refused(data: Mapping[str, object]) -> None:
    with pytest.raises(ValueError, match="draft"):
        Draft.from_dict(data)


# --------------------------------------------------------------------------------------------
# Version policy
# --------------------------------------------------------------------------------------------

CLUB_V2 = (
    HEADER.replace("version: 1", "version: 2")
    + """\
questions:
  - id: name
    kind: short_text
    text: {lt: Pavadinimas, lv: Nosaukums, en: Name}
  - id: email
    kind: email
    text: {lt: El. paštas, lv: E-pasts, en: E-mail}
  - id: cooperates
    kind: yes_no
    text: {lt: "Bendradarbiaujate?", lv: "Sadarbojaties?", en: "Cooperate?"}
  - id: forms
    kind: multiple_choice
    when: {question: cooperates, equals: yes}
    text: {lt: Formos, lv: Veidi, en: Forms}
    options:
      - {id: funding, text: {lt: Finansavimas, lv: Finansējums, en: Funding}}
      - {id: other, text: {lt: Kita, lv: Cits, en: Other}}
  - id: frequency
    kind: short_text
    when: {question: cooperates, equals: yes}
    text: {lt: Dažnumas, lv: Biežums, en: Frequency}
  - id: members
    kind: number
    min: 0
    max: 100
    text: {lt: Nariai, lv: Biedri, en: Members}
  - id: volunteers
    kind: number
    required: false
    text: {lt: Savanoriai, lv: Brīvprātīgie, en: Volunteers}
"""
)


def test_migrate_draft_keeps_valid_answers_and_resumes_at_the_first_gap(
    club: Questionnaire, tmp_path: Path
) -> None:
    v2 = load_questionnaire(write(tmp_path, CLUB_V2, "club-v2.yaml"))
    draft = start_draft(club)
    for raw in ("Klubas", "taip", "1, 2", "weekly", "500", "Pastaba"):
        draft = answer(club, draft, raw)
    assert draft.current is None
    migrated = migrate_draft(draft, v2)
    # name and cooperates unchanged; forms lost its "events" option; frequency changed kind;
    # members is now at most 100; note no longer exists.
    assert migrated.answers == {"name": "Klubas", "cooperates": True}
    assert migrated.kinds == {"name": "short_text", "cooperates": "yes_no"}
    assert (migrated.version, migrated.current, migrated.editing) == (2, "email", False)
    assert migrate_draft(migrated, v2) == migrated


def test_migrate_draft_keeps_an_answer_whose_options_survive(
    club: Questionnaire, tmp_path: Path
) -> None:
    v2 = load_questionnaire(write(tmp_path, CLUB_V2, "club-v2.yaml"))
    draft = Draft(
        "club",
        1,
        None,
        {"name": "K", "cooperates": True, "forms": ["other"], "members": 7},
        editing=True,
    )  # no kinds: a draft stored before they were recorded is judged by its values
    migrated = migrate_draft(draft, v2)
    assert migrated.answers == {"name": "K", "cooperates": True, "forms": ["other"], "members": 7}
    assert migrated.current == "email"
    complete = migrate_draft(
        Draft("club", 1, None, {**migrated.answers, "email": "a@b.lt", "frequency": "kas savaitę"}),
        v2,
    )
    assert complete.current == "volunteers"
    with pytest.raises(ValueError, match="cannot move"):
        migrate_draft(Draft("other", 1, None), v2)


def test_migrate_draft_checks_municipalities_when_ids_are_given(tmp_path: Path) -> None:
    text = HEADER + textwrap.dedent(
        """\
        questions:
          - id: where
            kind: municipality
            text: {lt: Kur, lv: Kur, en: Where}
        """
    )
    v2 = load_questionnaire(write(tmp_path, text.replace("version: 1", "version: 2")))
    draft = Draft("club", 1, None, {"where": "augsdaugava-municipality"})
    assert migrate_draft(draft, v2).answers == {"where": "augsdaugava-municipality"}
    checked = migrate_draft(draft, v2, municipalities=KNOWN_MUNICIPALITIES)
    assert (checked.answers, checked.current) == ({}, "where")


def test_updating_a_submission_starts_at_the_review_or_at_what_is_missing(
    club: Questionnaire, tmp_path: Path
) -> None:
    submitted: dict[str, AnswerValue] = {
        "name": "Klubas",
        "cooperates": True,
        "forms": ["funding"],
        "frequency": "weekly",
        "members": 12,
        "note": None,
    }
    same = resubmission_draft(club, submitted, 1)
    assert (same.version, same.current, same.editing) == (1, None, False)
    assert same.answers == submitted
    incomplete = resubmission_draft(club, {"name": "Klubas", "cooperates": True}, 1)
    assert (incomplete.current, incomplete.selection) == ("forms", ())

    # Submitted to version 1, updated under version 2: what still fits is kept (a submission
    # has no kinds, so answers are judged by their values; note is gone) and the draft waits at
    # the new e-mail question.
    v2 = load_questionnaire(write(tmp_path, CLUB_V2, "club-v2.yaml"))
    carried = resubmission_draft(v2, {**submitted, "members": 500}, 1)
    assert carried.answers == {
        "name": "Klubas",
        "cooperates": True,
        "forms": ["funding"],
        "frequency": "weekly",
    }
    assert (carried.version, carried.current, carried.editing) == (2, "email", False)


# --------------------------------------------------------------------------------------------
# Loader: every problem with its file and line
# --------------------------------------------------------------------------------------------


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    """1-based number of the line holding the OCCURRENCE-th FRAGMENT."""
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if fragment in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{fragment!r} not found")


def problems_in(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text, "broken.yaml")
    problems = check_questionnaire(path)
    assert all(isinstance(problem, Problem) for problem in problems)
    return [str(problem) for problem in problems]


def with_questions(body: str) -> str:
    return HEADER + "questions:\n" + textwrap.indent(textwrap.dedent(body), "  ")


def test_missing_translation_is_reported_at_its_field(tmp_path: Path) -> None:
    text = with_questions(
        """\
        - id: members
          kind: number
          text:
            lt: Kiek narių?
            en: How many members?
        """
    )
    assert problems_in(tmp_path, text) == [
        f"broken.yaml:{line_of(text, 'text:')}: question 'members': text is missing language 'lv'"
    ]


def test_empty_translation_and_unknown_language(tmp_path: Path) -> None:
    text = with_questions(
        """\
        - id: members
          kind: number
          text: {lt: "Kiek?", lv: "", en: "How many?", ru: "Сколько?"}
        """
    )
    line = line_of(text, "text:")
    assert problems_in(tmp_path, text) == [
        f"broken.yaml:{line}: question 'members': text.lv is empty",
        f"broken.yaml:{line}: question 'members': unknown language 'ru' in text (use lt, lv, en)",
    ]


def test_unknown_kind_and_unknown_field(tmp_path: Path) -> None:
    text = with_questions(
        """\
        - id: name
          kind: essay
          requird: false
          text: {lt: Vardas, lv: Vārds, en: Name}
        """
    )
    kinds = ", ".join(kind.value for kind in Kind)
    assert problems_in(tmp_path, text) == [
        f"broken.yaml:{line_of(text, 'kind: essay')}: question 'name': unknown kind 'essay'; "
        f"known kinds: {kinds}",
        f"broken.yaml:{line_of(text, 'requird')}: question 'name': unknown key 'requird' "
        "(did you mean 'required'?)",
    ]


def test_duplicate_question_and_option_ids(tmp_path: Path) -> None:
    text = with_questions(
        """\
        - id: name
          kind: short_text
          text: {lt: Vardas, lv: Vārds, en: Name}
        - id: areas
          kind: multiple_choice
          text: {lt: Sritys, lv: Jomas, en: Areas}
          options:
            - {id: culture, text: {lt: Kultūra, lv: Kultūra, en: Culture}}
            - {id: culture, text: {lt: Menas, lv: Māksla, en: Arts}}
        - id: name
          kind: long_text
          text: {lt: Vardas, lv: Vārds, en: Name}
        """
    )
    assert problems_in(tmp_path, text) == [
        f"broken.yaml:{line_of(text, 'Menas')}: question 'areas': duplicate option id 'culture' "
        f"(first at line {line_of(text, 'Kultūra, en: Culture')})",
        f"broken.yaml:{line_of(text, 'id: name', 2)}: duplicate question id 'name' "
        f"(first at line {line_of(text, 'id: name')})",
    ]


def test_conditions_must_refer_to_earlier_questions_and_real_options(tmp_path: Path) -> None:
    text = with_questions(
        """\
        - id: early
          kind: yes_no
          when: {question: late, equals: yes}
          text: {lt: A, lv: A, en: A}
        - id: kind_of
          kind: single_choice
          text: {lt: B, lv: B, en: B}
          options:
            - {id: ngo, text: {lt: NVO, lv: NVO, en: NGO}}
            - {id: community, text: {lt: Bendruomenė, lv: Kopiena, en: Community}}
        - id: late
          kind: yes_no
          when: {question: ghost, equals: yes}
          text: {lt: C, lv: C, en: C}
        - id: own
          kind: yes_no
          when: {question: own, equals: yes}
          text: {lt: D, lv: D, en: D}
        - id: pick
          kind: short_text
          when: {question: kind_of, in: [ngo, school]}
          text: {lt: E, lv: E, en: E}
        - id: maybe
          kind: short_text
          when: {question: early, equals: maybe}
          text: {lt: F, lv: F, en: F}
        - id: wrong_operator
          kind: short_text
          when: {question: kind_of, includes: ngo}
          text: {lt: G, lv: G, en: G}
        - id: two_operators
          kind: short_text
          when: {question: kind_of, equals: ngo, in: [ngo]}
          text: {lt: H, lv: H, en: H}
        """
    )
    assert problems_in(tmp_path, text) == [
        f"broken.yaml:{line_of(text, 'question: late')}: question 'early': condition refers to "
        "question 'late', which comes later",
        f"broken.yaml:{line_of(text, 'question: ghost')}: question 'late': condition refers to "
        "unknown question 'ghost'",
        f"broken.yaml:{line_of(text, 'question: own')}: question 'own': condition refers to the "
        "question itself",
        f"broken.yaml:{line_of(text, 'school')}: question 'pick': condition: 'school' is not an "
        "option of question 'kind_of'",
        f"broken.yaml:{line_of(text, 'equals: maybe')}: question 'maybe': condition: a yes_no "
        "answer is yes or no (got 'maybe')",
        f"broken.yaml:{line_of(text, 'includes: ngo')}: question 'wrong_operator': condition "
        "'includes' does not apply to single_choice question 'kind_of'",
        f"broken.yaml:{line_of(text, 'equals: ngo, in')}: question 'two_operators': condition "
        "needs exactly one of equals, in, includes",
    ]


def test_bounds_options_and_flags_are_checked_against_the_kind(tmp_path: Path) -> None:
    text = with_questions(
        """\
        - id: members
          kind: number
          min: 10
          max: 5
          text: {lt: Nariai, lv: Biedri, en: Members}
        - id: founded
          kind: date
          min: 2024-12-31
          max: 2024-01-01
          text: {lt: Įkurta, lv: Dibināta, en: Founded}
        - id: agree
          kind: yes_no
          min: 3
          required: maybe
          options:
            - {id: yes, text: {lt: Taip, lv: Jā, en: Yes}}
          text: {lt: "Sutinkate?", lv: "Piekrītat?", en: "Agree?"}
        - id: type
          kind: single_choice
          integer: true
          text: {lt: Tipas, lv: Veids, en: Type}
        - id: submitted_at
          kind: short_text
          max: zero
          text: {lt: Laikas, lv: Laiks, en: Time}
        - id: Bad Id
          kind: short_text
          text: {lt: X, lv: X, en: X}
        """
    )
    assert problems_in(tmp_path, text) == [
        f"broken.yaml:{line_of(text, 'min: 10')}: question 'members': min 10 is greater than max 5",
        f"broken.yaml:{line_of(text, 'min: 2024')}: question 'founded': min 2024-12-31 is "
        "greater than max 2024-01-01",
        f"broken.yaml:{line_of(text, 'min: 3')}: question 'agree': min does not apply to yes_no "
        "questions",
        f"broken.yaml:{line_of(text, 'required: maybe')}: question 'agree': required must be "
        "true or false",
        f"broken.yaml:{line_of(text, 'options:')}: question 'agree': a yes_no question takes no "
        "options",
        f"broken.yaml:{line_of(text, 'kind: single_choice')}: question 'type': a single_choice "
        "question needs options",
        f"broken.yaml:{line_of(text, 'integer: true')}: question 'type': integer applies to "
        "number questions only",
        f"broken.yaml:{line_of(text, 'id: submitted_at')}: question 'submitted_at': id "
        "'submitted_at' is reserved for exports",
        f"broken.yaml:{line_of(text, 'max: zero')}: question 'submitted_at': max length must be "
        "a whole number from 1",
        f"broken.yaml:{line_of(text, 'Bad Id')}: question 'Bad Id': bad id 'Bad Id' (use "
        "lowercase a-z, 0-9, '-' and '_', starting with a letter or digit, at most 24 characters)",
    ]


def test_missing_top_level_fields_and_bad_version(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        id: club
        version: 0
        title: {lt: Klubas, lv: Klubs, en: Club}
        directory_consent: nowhere
        questions:
          - id: name
            kind: short_text
            text: {lt: Vardas, lv: Vārds, en: Name}
        """
    )
    assert problems_in(tmp_path, text) == [
        "broken.yaml:1: questionnaire: missing required field 'intro'",
        "broken.yaml:1: questionnaire: missing required field 'closing'",
        "broken.yaml:1: questionnaire: missing required field 'consent'",
        "broken.yaml:2: questionnaire: version must be a whole number from 1",
        "broken.yaml:4: questionnaire: directory_consent names no question ('nowhere')",
    ]


def test_directory_consent_must_be_a_yes_no_question(tmp_path: Path) -> None:
    text = (
        HEADER
        + "directory_consent: name\n"
        + with_questions(
            """\
        - id: name
          kind: short_text
          text: {lt: Vardas, lv: Vārds, en: Name}
        """
        ).removeprefix(HEADER)
    )
    assert problems_in(tmp_path, text) == [
        f"broken.yaml:{line_of(text, 'directory_consent')}: questionnaire: directory_consent "
        "'name' is not a yes_no question"
    ]


def test_yaml_syntax_errors_empty_files_and_repeated_keys(tmp_path: Path) -> None:
    broken = HEADER + "questions:\n  - id: name\n    kind: [short_text\n"
    [syntax] = problems_in(tmp_path, broken)
    assert syntax.startswith("broken.yaml:")
    assert "YAML syntax error" in syntax
    assert int(syntax.split(":")[1]) >= line_of(broken, "kind: [")
    assert problems_in(tmp_path, "") == ["broken.yaml:1: the file is empty"]
    assert problems_in(tmp_path, "- just\n- a list\n") == [
        "broken.yaml:1: questionnaire: expected a mapping of fields"
    ]
    repeated = HEADER + "title: {lt: A, lv: A, en: A}\nquestions: []\n"
    assert problems_in(tmp_path, repeated) == [
        f"broken.yaml:{line_of(repeated, 'title', 2)}: questionnaire: duplicate key 'title' "
        "(first at line 3)",
        f"broken.yaml:{line_of(repeated, 'questions')}: questionnaire: questions must be a "
        "non-empty list",
    ]


def test_loading_a_broken_questionnaire_raises_with_every_problem(tmp_path: Path) -> None:
    text = with_questions(
        """\
        - id: a
          kind: essay
          text: {lt: A, en: A}
        """
    )
    path = write(tmp_path, text, "broken.yaml")
    with pytest.raises(QuestionnaireError) as caught:
        load_questionnaire(path)
    assert [str(problem) for problem in caught.value.problems] == problems_in(tmp_path, text)
    assert len(caught.value.problems) == 2
    assert str(caught.value) == "\n".join(problems_in(tmp_path, text))


def test_a_folder_reports_problems_per_file_and_clashing_ids(tmp_path: Path) -> None:
    folder = tmp_path / "questionnaires"
    folder.mkdir()
    write(folder, CLUB, "a.yaml")
    write(folder, CLUB, "b.yaml")
    write(
        folder, with_questions("- id: x\n  kind: nope\n  text: {lt: X, lv: X, en: X}\n"), "c.yaml"
    )
    assert [str(problem) for problem in check_questionnaires(folder)] == [
        "questionnaires/b.yaml:1: questionnaire id 'club' is also used in questionnaires/a.yaml",
        f"questionnaires/c.yaml:{HEADER.count(chr(10)) + 3}: question 'x': unknown kind 'nope'; "
        f"known kinds: {', '.join(kind.value for kind in Kind)}",
    ]
    with pytest.raises(QuestionnaireError):
        load_questionnaires(folder)
    (folder / "b.yaml").unlink()
    (folder / "c.yaml").unlink()
    assert list(load_questionnaires(folder)) == ["club"]
    assert [str(p) for p in check_questionnaires(tmp_path / "empty")] == [
        "empty:0: no questionnaire files (*.yaml) here"
    ]


# --------------------------------------------------------------------------------------------
# The default questionnaire: the Local-y-mpact survey of civic organisations
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def survey() -> Questionnaire:
    return load_questionnaires()["civic-organisations"]


def test_default_questionnaire_loads_without_problems(survey: Questionnaire) -> None:
    assert check_questionnaires(QUESTIONNAIRES_DIR) == []
    assert (survey.id, survey.version) == ("civic-organisations", 2)
    assert 18 <= len(survey.questions) <= 22
    assert survey.file == "questionnaires/civic-organisations.yaml"


def test_every_text_of_the_default_questionnaire_exists_in_lt_lv_and_en(
    survey: Questionnaire,
) -> None:
    all_texts = [survey.title, survey.intro, survey.closing, survey.consent]
    for question in survey.questions:
        all_texts += [question.text, *(t for t in (question.help, question.error) if t)]
        all_texts += [option.text for option in question.options]
        # The three languages are real translations, not copies of one another.
        assert len(set(question.text.values())) == 3, question.id
    for text in all_texts:
        assert set(text) == set(LANGUAGES)
        assert all(text[lang].strip() for lang in LANGUAGES)


def test_default_questionnaire_follows_the_survey_design(survey: Questionnaire) -> None:
    kinds = {question.id: question.kind for question in survey.questions}
    assert kinds["municipality"] is Kind.MUNICIPALITY
    assert kinds["contact_email"] is Kind.EMAIL
    assert kinds["contact_phone"] is Kind.PHONE
    assert kinds["website"] is Kind.URL
    assert kinds["cooperation_rating"] is Kind.SCALE
    assert len(survey.question("areas").options) >= 10
    assert {o.id for o in survey.question("org_type").options} == {
        "community",
        "ngo",
        "youth",
        "social_business",
        "informal_group",
        "individual",
    }
    forms = {o.id for o in survey.question("cooperation_forms").options}
    assert forms == {
        "funding",
        "consultations",
        "joint_events",
        "decision_making",
        "premises",
        "information",
        "other",
    }
    training = {o.id for o in survey.question("training_interest").options}
    assert training == {
        "legal",
        "financial",
        "project_writing",
        "communication",
        "municipality",
        "none",
    }
    for members in ("members", "volunteers"):
        assert (survey.question(members).minimum, survey.question(members).maximum) == (0, 100000)
    cooperating = [q.id for q in survey.questions if q.when and q.when.question == "cooperates"]
    assert cooperating == ["cooperation_forms", "cooperation_frequency", "cooperation_rating"]
    assert {q.id for q in survey.questions if q.personal} == {
        "contact_person",
        "contact_email",
        "contact_phone",
    }
    assert {q.id for q in survey.questions if q.public} == {
        "org_name",
        "org_type",
        "municipality",
        "public_email",
        "website",
        "areas",
        "areas_other",
    }
    assert survey.directory_consent == "directory_consent"
    assert survey.questions[-1].kind is Kind.YES_NO


def test_a_member_can_fill_in_the_whole_default_questionnaire(survey: Questionnaire) -> None:
    directory = load_municipalities()
    typed = {
        "org_name": "Senųjų Trakų bendruomenė",
        "org_type": "1",
        "municipality": "trakai-district",
        "contact_person": "Ona Onaitė",
        "contact_email": "ona@example.lt",
        "contact_phone": "8 612 34567",
        "public_email": "info@example.lt",
        "website": "example.lt",
        "areas": "1, 6",
        "members": "45",
        "volunteers": "12",
        "cooperates": "taip",
        "cooperation_forms": "1, 3",
        "cooperation_frequency": "Kas mėnesį",
        "cooperation_rating": "4",
        "challenges": "1, 2",
        "challenges_details": "Trūksta lėšų patalpų šildymui.",
        "needs": "Nuolatinio finansavimo ir savanorių.",
        "training_interest": "3",
        "directory_consent": "taip",
    }
    draft = start_draft(survey)
    asked = []
    while draft.current is not None:
        question = survey.question(draft.current)
        asked.append(question.id)
        result = validate_answer(question, typed[question.id], municipalities=directory)
        assert isinstance(result, Answer), (question.id, result)
        draft = answer_current(survey, draft, result)
    assert "areas_other" not in asked
    assert progress(survey, draft.answers, None) == Progress(len(asked), len(asked))
    answers = final_answers(survey, draft)
    assert answers["contact_phone"] == "+37061234567"
    assert answers["website"] == "https://example.lt"
    assert answers["cooperation_frequency"] == "monthly"
    assert answers["areas"] == ["community_life", "culture"]

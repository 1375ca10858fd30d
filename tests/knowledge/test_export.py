"""Exports of submitted answers (CSV, XLSX), read back cell by cell, and the public listing."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from knowledge.export import (
    Submission,
    directory_entry,
    directory_listing,
    directory_questionnaires,
    export_csv,
    export_xlsx,
    exported_questions,
    header,
)
from knowledge.questionnaire import (
    AnswerValue,
    Questionnaire,
    load_questionnaire,
    load_questionnaires,
)

CLUB = """\
id: club
version: 1
title: {lt: "Klubų apklausa: 2024", lv: Klubu aptauja, en: Club survey}
intro: {lt: Sveiki, lv: Sveiki, en: Hello}
closing: {lt: Ačiū, lv: Paldies, en: Thanks}
consent: {lt: Saugome atsakymus, lv: Glabājam atbildes, en: We store answers}
directory_consent: listed
questions:
  - id: name
    kind: short_text
    public: true
    text: {lt: Pavadinimas, lv: Nosaukums, en: Name}
  - id: contact
    kind: email
    personal: true
    text: {lt: El. paštas, lv: E-pasts, en: E-mail}
  - id: phone
    kind: phone
    personal: true
    required: false
    text: {lt: Telefonas, lv: Tālrunis, en: Phone}
  - id: internal
    kind: short_text
    export: false
    required: false
    text: {lt: Vidinė pastaba, lv: Iekšēja piezīme, en: Internal note}
  - id: areas
    kind: multiple_choice
    public: true
    text: {lt: Sritys, lv: Jomas, en: Areas}
    options:
      - {id: culture, text: {lt: Kultūra, lv: Kultūra, en: Culture}}
      - {id: sport, text: {lt: Sportas, lv: Sports, en: Sport}}
      - {id: social, text: {lt: Socialinė pagalba, lv: Sociālā palīdzība, en: Social support}}
  - id: members
    kind: number
    min: 0
    text: {lt: Nariai, lv: Biedri, en: Members}
  - id: share
    kind: number
    integer: false
    required: false
    text: {lt: Dalis, lv: Daļa, en: Share}
  - id: founded
    kind: date
    text: {lt: Įkurta, lv: Dibināta, en: Founded}
  - id: cooperates
    kind: yes_no
    text: {lt: Bendradarbiaujate, lv: Sadarbojaties, en: Cooperates}
  - id: rating
    kind: scale
    when: {question: cooperates, equals: yes}
    text: {lt: Įvertinimas, lv: Vērtējums, en: Rating}
  - id: where
    kind: municipality
    public: true
    text: {lt: Savivaldybė, lv: Pašvaldība, en: Municipality}
  - id: listed
    kind: yes_no
    text: {lt: Viešas sąrašas, lv: Publisks saraksts, en: Public listing}
"""

FIRST: Submission = {
    "submitted_at": datetime(2024, 5, 31, 9, 30, tzinfo=UTC),
    "language": "lt",
    "municipality": "trakai-district",
    "answers": {
        "name": "Senųjų Trakų bendruomenė",
        "contact": "ona@example.lt",
        "phone": "+37061234567",
        "internal": "do not export",
        "areas": ["culture", "sport"],
        "members": 45,
        "share": 3.5,
        "founded": "2019-04-01",
        "cooperates": True,
        "rating": 4,
        "where": "trakai-district",
        "listed": True,
    },
}
SECOND: Submission = {
    "submitted_at": datetime(2024, 1, 15, 10, 0),  # naive: UTC
    "language": "lv",
    "municipality": None,
    "answers": {
        "name": '=HYPERLINK("http://evil.example")',
        "contact": "info@biedriba.lv",
        "phone": None,
        "areas": ["social"],
        "members": 0,
        "share": None,
        "founded": "2024-01-02",
        "cooperates": False,
        "rating": 2,  # left over from before "cooperates" became "no": not exported
        "where": "riga-city",
        "listed": False,
        "gone": "an answer to a question removed since",
    },
}


@pytest.fixture
def club(tmp_path: Path) -> Questionnaire:
    path = tmp_path / "club.yaml"
    path.write_text(CLUB, encoding="utf-8")
    return load_questionnaire(path)


def column_id(title: str) -> str:
    match = re.fullmatch(r".* \[(\w+)\]", title, re.DOTALL)
    assert match is not None, title
    return match.group(1)


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel then reads the file as UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


LT_HEADER = [
    "Pateikta [submitted_at]",
    "Kalba [submission_language]",
    "Savivaldybė [submission_municipality]",
    "Pavadinimas [name]",
    "Sritys [areas]",
    "Nariai [members]",
    "Dalis [share]",
    "Įkurta [founded]",
    "Bendradarbiaujate [cooperates]",
    "Įvertinimas [rating]",
    "Savivaldybė [where]",
    "Viešas sąrašas [listed]",
]


def test_csv_has_one_header_row_and_one_row_per_submission(club: Questionnaire) -> None:
    rows = read_csv(export_csv(club, [FIRST, SECOND], lang="lt"))
    assert rows == [
        LT_HEADER,
        [
            "2024-05-31 12:30+03:00",
            "lt",
            "trakai-district",
            "Senųjų Trakų bendruomenė",
            "Kultūra; Sportas",
            "45",
            "3.5",
            "2019-04-01",
            "Taip",
            "4",
            "trakai-district",
            "Taip",
        ],
        [
            "2024-01-15 12:00+02:00",
            "lv",
            "",
            '\'=HYPERLINK("http://evil.example")',
            "Socialinė pagalba",
            "0",
            "",
            "2024-01-02",
            "Ne",
            "",
            "riga-city",
            "Ne",
        ],
    ]


def test_csv_personal_columns_only_on_request_and_phone_keeps_its_plus(
    club: Questionnaire,
) -> None:
    rows = read_csv(export_csv(club, [FIRST, SECOND], lang="en", include_personal=True))
    assert rows[0][3:6] == ["Name [name]", "E-mail [contact]", "Phone [phone]"]
    assert rows[1][4:6] == ["ona@example.lt", "+37061234567"]
    assert rows[2][4:6] == ["info@biedriba.lv", ""]
    assert all("[internal]" not in title for title in rows[0])
    assert [q.id for q in exported_questions(club)] == [
        "name",
        "areas",
        "members",
        "share",
        "founded",
        "cooperates",
        "rating",
        "where",
        "listed",
    ]


def test_csv_in_another_language_and_with_municipality_names(club: Questionnaire) -> None:
    names = {"trakai-district": "Traķu rajona pašvaldība", "riga-city": "Rīga"}
    data = export_csv(
        club, [FIRST], lang="lv", municipality_name=lambda mid, lang: names[mid], timezone="UTC"
    )
    [titles, row] = read_csv(data)
    assert titles[:4] == [
        "Iesniegts [submitted_at]",
        "Valoda [submission_language]",
        "Pašvaldība [submission_municipality]",
        "Nosaukums [name]",
    ]
    assert row == [
        "2024-05-31 09:30+00:00",
        "lt",
        "Traķu rajona pašvaldība",
        "Senųjų Trakų bendruomenė",
        "Kultūra; Sports",
        "45",
        "3.5",
        "2019-04-01",
        "Jā",
        "4",
        "Traķu rajona pašvaldība",
        "Jā",
    ]


def test_csv_without_submissions_is_just_the_header(club: Questionnaire) -> None:
    assert read_csv(export_csv(club, [], lang="lt")) == [LT_HEADER]
    assert header(club, lang="lt") == LT_HEADER


def test_xlsx_has_typed_cells_a_bold_frozen_header_and_widths(club: Questionnaire) -> None:
    data = export_xlsx(club, [FIRST, SECOND], lang="lt")
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert sheet.title == "Klubų apklausa  2024"  # ':' is not allowed in sheet names
    assert sheet.freeze_panes == "A2"
    assert sheet.max_row == 3
    assert [cell.value for cell in sheet[1]] == LT_HEADER
    assert all(cell.font.bold for cell in sheet[1])

    first = [cell.value for cell in sheet[2]]
    assert first == [
        datetime(2024, 5, 31, 12, 30),
        "lt",
        "trakai-district",
        "Senųjų Trakų bendruomenė",
        "Kultūra; Sportas",
        45,
        3.5,
        datetime(2019, 4, 1),
        "Taip",
        4,
        "trakai-district",
        "Taip",
    ]
    a2, members, share, founded, rating = (sheet[f"{c}2"] for c in "AFGHJ")
    assert a2.is_date
    assert a2.number_format == "yyyy-mm-dd hh:mm"
    assert founded.is_date
    assert founded.number_format == "yyyy-mm-dd"
    assert (members.data_type, share.data_type, rating.data_type) == ("n", "n", "n")
    assert type(members.value) is int
    assert type(share.value) is float

    second = [cell.value for cell in sheet[3]]
    assert second == [
        datetime(2024, 1, 15, 12, 0),
        "lv",
        None,
        '=HYPERLINK("http://evil.example")',
        "Socialinė pagalba",
        0,
        None,
        datetime(2024, 1, 2),
        "Ne",
        None,
        "riga-city",
        "Ne",
    ]
    assert sheet["D3"].data_type == "s"  # stored as text, never run as a formula

    widths = {letter: dim.width for letter, dim in sheet.column_dimensions.items()}
    assert all(10 <= widths[letter] <= 50 for letter in "ABCDEFGHIJKL")
    assert widths["D"] > widths["B"]  # the long name gets a wider column than "lt"
    assert sheet.auto_filter.ref == "A1:L3"


def test_xlsx_respects_the_personal_rule(club: Questionnaire) -> None:
    plain = load_workbook(io.BytesIO(export_xlsx(club, [FIRST], lang="en"))).active
    full = load_workbook(
        io.BytesIO(export_xlsx(club, [FIRST], lang="en", include_personal=True))
    ).active
    assert plain is not None
    assert full is not None
    assert plain.max_column == 12
    assert [cell.value for cell in full[1]][4:6] == ["E-mail [contact]", "Phone [phone]"]
    assert [cell.value for cell in full[2]][4:6] == ["ona@example.lt", "+37061234567"]


def test_default_questionnaire_exports_without_personal_columns_by_default() -> None:
    survey = load_questionnaires()["civic-organisations"]
    submission: Submission = {
        "submitted_at": datetime(2024, 5, 31, 9, 30, tzinfo=UTC),
        "language": "lt",
        "municipality": "trakai-district",
        "answers": {
            "org_name": "Senųjų Trakų bendruomenė",
            "contact_person": "Ona Onaitė",
            "areas": ["community_life", "culture"],
            "cooperates": True,
            "cooperation_rating": 4,
        },
    }
    [titles, row] = read_csv(export_csv(survey, [submission], lang="lv"))
    ids = [column_id(title) for title in titles]
    assert "contact_person" not in ids
    assert "contact_email" not in ids
    assert ids[:5] == [
        "submitted_at",
        "submission_language",
        "submission_municipality",
        "org_name",
        "org_type",
    ]
    assert titles[3] == "Kāds ir jūsu organizācijas vai grupas nosaukums? [org_name]"
    assert (
        row[ids.index("areas")]
        == "Kopienas dzīve un vietējā attīstība; Kultūra, māksla un kultūras mantojums"
    )
    assert row[ids.index("cooperation_rating")] == "4"
    assert row[ids.index("org_type")] == ""


def test_directory_entry_shows_public_answers_only_with_consent(club: Questionnaire) -> None:
    assert directory_entry(club, FIRST["answers"]) == {
        "name": "Senųjų Trakų bendruomenė",
        "areas": ["culture", "sport"],
        "where": "trakai-district",
    }
    assert directory_entry(club, SECOND["answers"]) is None
    assert directory_entry(club, {"name": "Klubas"}) is None


def test_no_directory_without_a_consent_question(tmp_path: Path) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(CLUB.replace("directory_consent: listed\n", ""), encoding="utf-8")
    plain = load_questionnaire(path)
    assert directory_entry(plain, FIRST["answers"]) is None


def test_only_questionnaires_asking_to_be_listed_feed_the_directory(
    club: Questionnaire, tmp_path: Path
) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(CLUB.replace("directory_consent: listed\n", "").replace("club", "plain"))
    plain = load_questionnaire(path)
    assert directory_questionnaires([plain, club]) == ["club"]
    assert directory_questionnaires([]) == []


def test_the_directory_lists_consenting_entries_by_name_case_and_accents_aside(
    club: Questionnaire,
) -> None:
    def answers(name: str, *, listed: bool = True) -> dict[str, AnswerValue]:
        return {**FIRST["answers"], "name": name, "listed": listed}

    def render(questionnaire: Questionnaire, entry: dict[str, AnswerValue]) -> str:
        assert questionnaire is club
        assert "contact" not in entry  # only the public answers reach the text
        return f"<b>{entry['name']}</b> {'; '.join(entry['areas'])}"  # type: ignore[arg-type]

    submissions = [
        ("club", answers("Žalias klubas")),
        ("club", answers("zeta")),
        ("club", answers("Slapta grupė", listed=False)),
        ("gone", answers("Removed questionnaire")),
        ("club", answers("Ąžuolas")),
        ("club", answers("alfa")),
    ]
    assert directory_listing({"club": club}, submissions, render) == [
        "<b>alfa</b> culture; sport",
        "<b>Ąžuolas</b> culture; sport",
        "<b>Žalias klubas</b> culture; sport",
        "<b>zeta</b> culture; sport",
    ]
    assert directory_listing({"club": club}, [], render) == []


def test_default_questionnaire_directory_lists_name_areas_municipality_and_public_contact() -> None:
    survey = load_questionnaires()["civic-organisations"]
    answers: dict[str, AnswerValue] = {
        "org_name": "Jaunimo klubas",
        "org_type": "youth",
        "municipality": "taurage-district",
        "contact_person": "Jonas Jonaitis",
        "contact_email": "jonas@example.lt",
        "public_email": "klubas@example.lt",
        "website": "https://klubas.example.lt",
        "areas": ["children_youth", "other"],
        "areas_other": "Žygiai",
        "members": 20,
        "directory_consent": True,
    }
    assert directory_entry(survey, answers) == {
        "org_name": "Jaunimo klubas",
        "org_type": "youth",
        "municipality": "taurage-district",
        "public_email": "klubas@example.lt",
        "website": "https://klubas.example.lt",
        "areas": ["children_youth", "other"],
        "areas_other": "Žygiai",
    }

"""Export of submitted questionnaire answers for coordinators (CSV, XLSX) and the public listing.

Layout of both exports: one header row, then one row per submission. The first three columns
describe the submission (`submitted_at`, `submission_language`, `submission_municipality`),
then one column per exported question in questionnaire order. Each header cell reads
"<text in the export language> [<stable id>]", e.g. "Kiek narių turi jūsų organizacija?
[members]": people read the text, scripts split off the id in brackets, which never changes
between languages or wordings.

Cells: choices are option texts in the export language (several joined with "; "), yes/no the
words of that language, scale points and numbers are numbers, dates ISO dates, municipalities
their ids (or names, given `municipality_name`), a skipped or unasked question an empty cell.
The submission time is shown in `timezone` (Europe/Vilnius by default); a naive time is taken
as UTC. CSV is UTF-8 with a byte order mark so that Excel shows Lithuanian and Latvian letters,
comma-separated, with a dot as the decimal sign; text that a spreadsheet would run as a formula
(starting with =, +, -, @) gets a leading apostrophe. In XLSX such text is stored as plain text.

Which questions are exported (see knowledge/questionnaire.py): never those with `export: false`;
those with `personal: true` only when `include_personal=True`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Final, NamedTuple, TypedDict
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from knowledge.i18n import N_, translator
from knowledge.questionnaire import (
    AnswerValue,
    Kind,
    MunicipalityNamer,
    Question,
    Questionnaire,
    format_answer,
    visible_answers,
)
from knowledge.text import Lang, fold


class Submission(TypedDict):
    """One submitted questionnaire, as storage hands it over."""

    submitted_at: datetime
    language: str
    municipality: str | None
    answers: Mapping[str, AnswerValue]


CellValue = str | int | float | date | datetime | None

# The submission's own columns and their headers (translated in the catalogues).
_META_HEADERS: Final[Mapping[str, str]] = {
    "submitted_at": N_("Submitted"),
    "submission_language": N_("Language"),
    "submission_municipality": N_("Municipality"),
}
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
_MIN_WIDTH = 10
_MAX_WIDTH = 50
_HEADER_WIDTH = 30


def exported_questions(
    questionnaire: Questionnaire, *, include_personal: bool = False
) -> list[Question]:
    """The questions that get a column, in questionnaire order."""
    return [
        question
        for question in questionnaire.questions
        if question.export and (include_personal or not question.personal)
    ]


def header(
    questionnaire: Questionnaire, *, lang: Lang, include_personal: bool = False
) -> list[str]:
    """The header row: "text [id]" for the submission columns and each exported question."""
    words = translator(lang)
    meta = [f"{words.gettext(text)} [{column}]" for column, text in _META_HEADERS.items()]
    questions = exported_questions(questionnaire, include_personal=include_personal)
    return meta + [f"{question.text[lang]} [{question.id}]" for question in questions]


def rows(
    questionnaire: Questionnaire,
    submissions: Iterable[Submission],
    *,
    lang: Lang,
    include_personal: bool = False,
    timezone: str = "Europe/Vilnius",
    municipality_name: MunicipalityNamer | None = None,
) -> list[list[CellValue]]:
    """One row of typed cells per submission (dates as dates, numbers as numbers)."""
    zone = ZoneInfo(timezone)
    questions = exported_questions(questionnaire, include_personal=include_personal)
    table: list[list[CellValue]] = []
    for submission in submissions:
        moment = submission["submitted_at"]
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        municipality = submission["municipality"]
        if municipality and municipality_name is not None:
            municipality = municipality_name(municipality, lang)
        answers = visible_answers(questionnaire, submission["answers"])
        row: list[CellValue] = [moment.astimezone(zone), submission["language"], municipality]
        for question in questions:
            row.append(_cell(question, answers.get(question.id), lang, municipality_name))
        table.append(row)
    return table


def _cell(
    question: Question, value: AnswerValue, lang: Lang, municipality_name: MunicipalityNamer | None
) -> CellValue:
    if value is None:
        return None
    kind = question.kind
    if kind in (Kind.NUMBER, Kind.SCALE) and isinstance(value, int | float):
        return value if not isinstance(value, bool) else str(value)
    if kind is Kind.DATE and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return format_answer(question, value, lang, municipality_name=municipality_name)


class _Table(NamedTuple):
    """What both file formats are written from."""

    titles: list[str]  # the header row
    kinds: list[Kind | None]  # the kind of each column's question; None for submission columns
    rows: list[list[CellValue]]  # one row of typed cells per submission


def _table(
    questionnaire: Questionnaire,
    submissions: Iterable[Submission],
    *,
    lang: Lang,
    include_personal: bool,
    timezone: str,
    municipality_name: MunicipalityNamer | None,
) -> _Table:
    questions = exported_questions(questionnaire, include_personal=include_personal)
    return _Table(
        titles=header(questionnaire, lang=lang, include_personal=include_personal),
        kinds=[None] * len(_META_HEADERS) + [question.kind for question in questions],
        rows=rows(
            questionnaire,
            submissions,
            lang=lang,
            include_personal=include_personal,
            timezone=timezone,
            municipality_name=municipality_name,
        ),
    )


def export_csv(
    questionnaire: Questionnaire,
    submissions: Iterable[Submission],
    *,
    lang: Lang,
    include_personal: bool = False,
    timezone: str = "Europe/Vilnius",
    municipality_name: MunicipalityNamer | None = None,
) -> bytes:
    """The submissions as CSV (UTF-8 with BOM, header row "text [id]")."""
    titles, kinds, table = _table(
        questionnaire,
        submissions,
        lang=lang,
        include_personal=include_personal,
        timezone=timezone,
        municipality_name=municipality_name,
    )
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(titles)
    for row in table:
        writer.writerow([_csv_text(cell, kind) for cell, kind in zip(row, kinds, strict=True)])
    return out.getvalue().encode("utf-8-sig")


def _csv_text(cell: CellValue, kind: Kind | None) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime):
        return cell.isoformat(sep=" ", timespec="minutes")
    if isinstance(cell, date):
        return cell.isoformat()
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)
    if isinstance(cell, int):
        return str(cell)
    # Phone numbers are validated "+370..." and must keep their plus sign.
    if kind is not Kind.PHONE and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell


def export_xlsx(
    questionnaire: Questionnaire,
    submissions: Iterable[Submission],
    *,
    lang: Lang,
    include_personal: bool = False,
    timezone: str = "Europe/Vilnius",
    municipality_name: MunicipalityNamer | None = None,
) -> bytes:
    """The submissions as an XLSX workbook: bold frozen header, typed cells, fitted widths."""
    titles, _, table = _table(
        questionnaire,
        submissions,
        lang=lang,
        include_personal=include_personal,
        timezone=timezone,
        municipality_name=municipality_name,
    )
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = _sheet_title(questionnaire.title[lang])
    bold = Font(bold=True)
    wrapped = Alignment(wrap_text=True, vertical="top")
    for column, title in enumerate(titles, start=1):
        cell = sheet.cell(row=1, column=column, value=title)
        cell.font = bold
        cell.alignment = wrapped
        cell.data_type = "s"
    for row_number, row in enumerate(table, start=2):
        for column, value in enumerate(row, start=1):
            if isinstance(value, datetime):
                value = value.replace(tzinfo=None)  # Excel has no time zones
            cell = sheet.cell(row=row_number, column=column, value=value)
            if isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
            elif isinstance(value, str):
                cell.data_type = "s"  # text such as "=1+1" must never become a formula
    sheet.freeze_panes = "A2"
    if table:
        sheet.auto_filter.ref = sheet.dimensions
    for column, width in enumerate(_widths(titles, table), start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _sheet_title(title: str) -> str:
    """TITLE made acceptable as a worksheet name (at most 31 characters, no []:*?/\\)."""
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in title).strip()
    return cleaned[:31] or "Answers"


def _widths(titles: Sequence[str], table: Sequence[Sequence[CellValue]]) -> list[int]:
    widths = []
    for column, title in enumerate(titles):
        longest = min(len(title), _HEADER_WIDTH)
        for row in table:
            value = row[column]
            if isinstance(value, datetime):
                length = 16
            elif isinstance(value, date):
                length = 10
            elif value is None:
                length = 0
            else:
                length = max(len(line) for line in str(value).splitlines() or [""])
            longest = max(longest, length)
        widths.append(max(_MIN_WIDTH, min(_MAX_WIDTH, longest + 2)))
    return widths


def directory_entry(
    questionnaire: Questionnaire, answers: Mapping[str, AnswerValue]
) -> dict[str, AnswerValue] | None:
    """The answers shown in the public directory, or None without a "yes" to directory consent.

    Only questions marked `public: true` that were asked and answered are included.
    """
    consent = questionnaire.directory_consent
    asked = visible_answers(questionnaire, answers)
    if consent is None or asked.get(consent) is not True:
        return None
    return {
        question.id: asked[question.id]
        for question in questionnaire.questions
        if question.public and asked.get(question.id) is not None
    }


def directory_questionnaires(questionnaires: Iterable[Questionnaire]) -> list[str]:
    """Ids of the questionnaires that feed the public directory: those asking to be listed."""
    return [q.id for q in questionnaires if q.directory_consent is not None]


def directory_listing(
    questionnaires: Mapping[str, Questionnaire],
    submissions: Iterable[tuple[str, Mapping[str, AnswerValue]]],
    render: Callable[[Questionnaire, dict[str, AnswerValue]], str],
) -> list[str]:
    """The directory entries among SUBMISSIONS (questionnaire id, answers), as RENDER writes them.

    A submission is listed with its public answers (`directory_entry`) when it has any. The
    entries are in the alphabetical order of their texts, case and accents aside: by the
    organisation's name, which each entry starts with.
    """
    entries: list[tuple[str, str]] = []
    for questionnaire_id, answers in submissions:
        questionnaire = questionnaires.get(questionnaire_id)
        if questionnaire is None:
            continue  # not loaded any more: its answers cannot be shown
        entry = directory_entry(questionnaire, answers)
        if entry:
            text = render(questionnaire, entry)
            entries.append((fold(text), text))
    return [text for _key, text in sorted(entries)]

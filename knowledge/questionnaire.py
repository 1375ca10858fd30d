"""Questionnaires as data: the YAML format, its checker, and the engine that walks a member through.

A questionnaire is one YAML file in `knowledge/questionnaires/`:

    id: civic-organisations          # lowercase letters, digits, '-' and '_', at most 24
    version: 1                       # raise it whenever questions change
    title: {lt: ..., lv: ..., en: ...}
    intro: {lt: ..., lv: ..., en: ...}
    consent: {lt: ..., lv: ..., en: ...}    # what is stored and why; shown before question 1
    closing: {lt: ..., lv: ..., en: ...}
    directory_consent: listed        # optional: the yes_no question that allows public listing
    questions:
      - id: cooperates
        kind: yes_no
        text: {lt: ..., lv: ..., en: ...}
        help: {lt: ..., lv: ..., en: ...}      # optional
      - id: forms
        kind: multiple_choice
        required: false              # default true
        when: {question: cooperates, equals: yes}   # or `in: [a, b]`, or `includes: a`
        options:
          - {id: funding, text: {lt: ..., lv: ..., en: ...}}
          - {id: none, exclusive: true, text: {lt: ..., lv: ..., en: ...}}

Other question fields: `error` (a custom message shown instead of the built-in one on a bad
answer), `min`/`max` (numbers and dates: bounds, `today` allowed for dates; short_text and
long_text: length in characters, default max 200 and 2000), `integer` (number: whole numbers
only, default true), `export`, `personal` and `public` (see below). Question and option ids are
short (at most 24 characters) so that both fit in Telegram's 64-byte button data.

Privacy rule: a question with `export: false` never appears in an export. A question with
`personal: true` (a contact person's name, e-mail, phone) appears in an export only when the
coordinator asks for personal data explicitly. A question with `public: true` is shown in the
public directory of organisations, and only when the member answered "yes" to the question named
by `directory_consent`.

Answers are plain JSON values: text, option id, ISO date (`2024-05-31`), E.164 phone, URL and
municipality id are `str`; numbers `int` (or `float` when `integer: false`); yes/no `bool`;
scale `int` 1-5; multiple choice `list[str]` of option ids in the questionnaire's order; a
skipped optional question is `None`.

A `Draft` is a member's progress, stored after every answer (`Draft.to_dict()` is plain JSON).

Version policy: when a questionnaire gets a new version while members hold drafts of the old
one, `migrate_draft` keeps each answer whose question id still exists with the same kind and
whose value is still valid (options still exist, within min/max), drops the others, and resumes
at the first unanswered question that is asked. A question whose meaning changes must therefore
get a new id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Final, Literal, NamedTuple, TypeAlias, cast

import yaml

from knowledge.i18n import (
    N_,
    LazyText,
    TranslatedText,
    format_number,
    lazy_gettext,
    lazy_ngettext,
    translator,
)
from knowledge.text import LANGUAGES, Lang, fold
from knowledge.values import (
    DateProblem,
    normalise_email,
    normalise_phone,
    normalise_url,
    parse_date,
    read_date,
)
from knowledge.yamlfile import (
    Fields,
    KnowledgeFileError,
    YamlFileReader,
    line_of,
    scalar,
    yaml_files,
)
from knowledge.yamlfile import Problem as Problem  # callers and tests import it from here

AnswerValue: TypeAlias = str | int | float | bool | list[str] | None
# Known municipality ids, or a resolver that turns what a member typed into an id (None: unknown).
MunicipalityIds: TypeAlias = Container[str] | Callable[[str], str | None]
DateBound: TypeAlias = date | Literal["today"]
# Formats a date for a reader of the given language (the bot passes a Babel-based one).
DateFormatter: TypeAlias = Callable[[date, Lang], str]
# Turns a municipality id into its name in the given language.
MunicipalityNamer: TypeAlias = Callable[[str, Lang], str]

QUESTIONNAIRES_DIR: Final = Path(__file__).with_name("questionnaires")
# Column ids that exports use for the submission itself; no question may take them.
RESERVED_IDS: Final = frozenset({"submitted_at", "submission_language", "submission_municipality"})

SHORT_TEXT_MAX: Final = 200
LONG_TEXT_MAX: Final = 2000
SCALE_MAX: Final = 5
# Questionnaire, question and option ids are short, so that all of them fit in a button's data.
ID_MAX: Final = 24


class Kind(StrEnum):
    """What kind of answer a question takes."""

    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    NUMBER = "number"
    DATE = "date"
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"
    MUNICIPALITY = "municipality"
    YES_NO = "yes_no"
    SCALE = "scale"


_TEXT_KINDS: Final = frozenset({Kind.SHORT_TEXT, Kind.LONG_TEXT})
_OPTION_KINDS: Final = frozenset({Kind.SINGLE_CHOICE, Kind.MULTIPLE_CHOICE})


@dataclass(frozen=True)
class Option:
    """One answer a choice question offers; an exclusive one ("none") excludes all others."""

    id: str
    text: Mapping[Lang, str]
    exclusive: bool = False


@dataclass(frozen=True)
class Condition:
    """`when` of a question: it is asked only if an earlier answer matches."""

    question: str
    operator: Literal["equals", "in", "includes"]
    values: tuple[str | bool | int | float, ...]

    def holds(self, answers: Mapping[str, AnswerValue]) -> bool:
        """Whether ANSWERS (of the questions asked so far) satisfy the condition."""
        value = answers.get(self.question)
        if value is None:
            return False
        if self.operator == "equals":
            expected = self.values[0]
            if isinstance(expected, bool) or isinstance(value, bool):
                return value is expected  # True must not equal a scale answer of 1
            return value == expected
        if self.operator == "includes":
            return isinstance(value, list) and self.values[0] in value
        if isinstance(value, list):
            return any(item in self.values for item in value)
        return value in self.values


@dataclass(frozen=True)
class Question:
    """One question of a questionnaire, as read from its file."""

    id: str
    kind: Kind
    text: Mapping[Lang, str]
    required: bool = True
    help: Mapping[Lang, str] | None = None
    error: Mapping[Lang, str] | None = None
    options: tuple[Option, ...] = ()
    # number: bounds of the value; short_text/long_text: bounds of the length
    minimum: int | float | None = None
    maximum: int | float | None = None
    earliest: DateBound | None = None
    latest: DateBound | None = None
    integer: bool = True
    when: Condition | None = None
    export: bool = True
    personal: bool = False
    public: bool = False
    line: int = 0

    @property
    def choices(self) -> tuple[Option, ...]:
        """The buttons to offer: the options, yes/no, or 1-5 for a scale; empty otherwise."""
        if self.kind is Kind.YES_NO:
            return _YES_NO_OPTIONS
        if self.kind is Kind.SCALE:
            return _SCALE_OPTIONS
        return self.options

    def option(self, option_id: str) -> Option | None:
        """The option with OPTION_ID, or None."""
        return next((option for option in self.choices if option.id == option_id), None)

    @property
    def max_length(self) -> int:
        """Longest text accepted by a text question."""
        if self.maximum is not None:
            return int(self.maximum)
        return LONG_TEXT_MAX if self.kind is Kind.LONG_TEXT else SHORT_TEXT_MAX

    @property
    def min_length(self) -> int:
        """Shortest text accepted by a text question."""
        return max(1, int(self.minimum)) if self.minimum is not None else 1


@dataclass(frozen=True)
class Questionnaire:
    """A questionnaire: texts shown around it and its questions in the order they are asked."""

    id: str
    version: int
    title: Mapping[Lang, str]
    intro: Mapping[Lang, str]
    closing: Mapping[Lang, str]
    consent: Mapping[Lang, str]
    questions: tuple[Question, ...]
    directory_consent: str | None = None
    file: str = ""

    def get(self, question_id: str) -> Question | None:
        """The question with QUESTION_ID, or None."""
        return next((q for q in self.questions if q.id == question_id), None)

    def question(self, question_id: str) -> Question:
        """The question with QUESTION_ID; KeyError if there is none."""
        found = self.get(question_id)
        if found is None:
            raise KeyError(f"questionnaire {self.id!r} has no question {question_id!r}")
        return found

    def position(self, question_id: str) -> int:
        """Index of QUESTION_ID in the questionnaire; KeyError if there is none."""
        for index, question in enumerate(self.questions):
            if question.id == question_id:
                return index
        raise KeyError(f"questionnaire {self.id!r} has no question {question_id!r}")


# --------------------------------------------------------------------------------------------
# Loading and checking
# --------------------------------------------------------------------------------------------


class QuestionnaireError(KnowledgeFileError):
    """A questionnaire cannot be loaded; `problems` says why and where."""


def check_questionnaire(path: Path | str, *, label: str | None = None) -> list[Problem]:
    """Every problem of the questionnaire file PATH, in line order; empty if all is well."""
    return _read(Path(path), label)[1]


def load_questionnaire(path: Path | str, *, label: str | None = None) -> Questionnaire:
    """Read the questionnaire file PATH; raise QuestionnaireError listing all problems if any."""
    questionnaire, problems = _read(Path(path), label)
    if questionnaire is None:
        raise QuestionnaireError(problems)
    return questionnaire


def check_questionnaires(folder: Path | str = QUESTIONNAIRES_DIR) -> list[Problem]:
    """Every problem of the questionnaire files (*.yaml) in FOLDER; empty if all is well."""
    return _read_folder(Path(folder))[1]


def load_questionnaires(folder: Path | str = QUESTIONNAIRES_DIR) -> dict[str, Questionnaire]:
    """Every questionnaire in FOLDER by id; raise QuestionnaireError listing all problems."""
    questionnaires, problems = _read_folder(Path(folder))
    if problems:
        raise QuestionnaireError(problems)
    return questionnaires


def _read_folder(folder: Path) -> tuple[dict[str, Questionnaire], list[Problem]]:
    paths = yaml_files(folder)
    if not paths:
        return {}, [Problem(folder.name, 0, "no questionnaire files (*.yaml) here")]
    found: dict[str, Questionnaire] = {}
    problems: list[Problem] = []
    for path in paths:
        label = path.relative_to(folder.parent).as_posix()
        questionnaire, file_problems = _read(path, label)
        problems.extend(file_problems)
        if questionnaire is None:
            continue
        if questionnaire.id in found:
            other = found[questionnaire.id].file
            problems.append(
                Problem(label, 1, f"questionnaire id {questionnaire.id!r} is also used in {other}")
            )
            continue
        found[questionnaire.id] = questionnaire
    return found, problems


def _read(path: Path, label: str | None) -> tuple[Questionnaire | None, list[Problem]]:
    reader = _FileReader(label or path.name)
    questionnaire = reader.read(path)
    problems = sorted(reader.problems, key=lambda problem: problem.line)
    return (questionnaire if not problems else None), problems


_TOP_REQUIRED: Final = ("id", "version", "title", "intro", "closing", "consent", "questions")
_TOP_OPTIONAL: Final = ("directory_consent",)
_QUESTION_REQUIRED: Final = ("id", "kind", "text")
_QUESTION_OPTIONAL: Final = (
    *("required", "help", "error", "options", "min", "max", "integer", "when"),
    *("export", "personal", "public"),
)
_OPERATORS: Final = ("equals", "in", "includes")


@dataclass
class _Parsed:
    """A question read from its node, with its `when` still to be checked against the others."""

    question: Question
    when: yaml.Node | None


class _FileReader(YamlFileReader):
    """Walks the YAML nodes of one questionnaire file, collecting problems with their lines."""

    def read(self, path: Path) -> Questionnaire | None:
        try:
            root = self.compose(path)
        except OSError as error:
            self.report(0, f"cannot read the file: {error.strerror or error}")
            return None
        return self.questionnaire(root) if root is not None else None

    def date_bound(self, node: yaml.Node, where: str, name: str) -> DateBound | None:
        text = scalar(node)
        if text == "today":
            return "today"
        day = parse_date(text or "")
        if day is None:
            self.report(node, f"{where}: {name} must be a date like 2024-05-31 or 'today'")
        return day

    # -- the file ------------------------------------------------------------------------------

    def questionnaire(self, root: yaml.Node) -> Questionnaire | None:
        fields = self.fields(root, "questionnaire", _TOP_REQUIRED, _TOP_OPTIONAL)
        if fields is None:
            return None
        questionnaire_id = (
            self.identifier(fields["id"][1], "questionnaire", max_length=ID_MAX)
            if "id" in fields
            else None
        )
        version = 0
        if "version" in fields:
            node = fields["version"][1]
            raw = self.value(node) if isinstance(node, yaml.ScalarNode) else None
            if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
                self.report(node, "questionnaire: version must be a whole number from 1")
            else:
                version = raw
        texts: dict[str, Mapping[Lang, str]] = {}
        for name in ("title", "intro", "closing", "consent"):
            if name in fields:
                texts[name] = self.texts(*fields[name], "questionnaire") or {}
        questions = self.questions(fields["questions"][1]) if "questions" in fields else ()
        directory_consent = None
        if "directory_consent" in fields:
            directory_consent = self.directory_consent(fields["directory_consent"][1], questions)
        if self.problems or questionnaire_id is None:
            return None
        return Questionnaire(
            id=questionnaire_id,
            version=version,
            title=texts["title"],
            intro=texts["intro"],
            closing=texts["closing"],
            consent=texts["consent"],
            questions=questions,
            directory_consent=directory_consent,
            file=self.label,
        )

    def directory_consent(self, node: yaml.Node, questions: Sequence[Question]) -> str | None:
        name = scalar(node)
        target = next((q for q in questions if q.id == name), None)
        if target is None:
            self.report(node, f"questionnaire: directory_consent names no question ({name!r})")
        elif target.kind is not Kind.YES_NO:
            self.report(node, f"questionnaire: directory_consent {name!r} is not a yes_no question")
        return name

    def questions(self, node: yaml.Node) -> tuple[Question, ...]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.report(node, "questionnaire: questions must be a non-empty list")
            return ()
        parsed: list[_Parsed] = []
        first_line: dict[str, int] = {}
        for number, item in enumerate(node.value, start=1):
            result = self.question(item, number)
            if result is None:
                continue
            question_id = result.question.id
            if question_id in first_line:
                first = first_line[question_id]
                self.report(item, f"duplicate question id {question_id!r} (first at line {first})")
                continue
            first_line[question_id] = line_of(item)
            parsed.append(result)
        everything = {p.question.id for p in parsed}
        earlier: dict[str, Question] = {}
        questions: list[Question] = []
        for item in parsed:
            question = item.question
            if item.when is not None:
                where = f"question {question.id!r}"
                condition = self.condition(item.when, where, question.id, earlier, everything)
                question = replace(question, when=condition)
            earlier[question.id] = question
            questions.append(question)
        return tuple(questions)

    def question(self, node: yaml.Node, number: int) -> _Parsed | None:
        where = f"question #{number}"
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if scalar(key_node) == "id" and scalar(value_node):
                    where = f"question {scalar(value_node)!r}"
        fields = self.fields(node, where, _QUESTION_REQUIRED, _QUESTION_OPTIONAL)
        if fields is None:
            return None
        question_id = (
            self.identifier(fields["id"][1], where, max_length=ID_MAX) if "id" in fields else None
        )
        if question_id in RESERVED_IDS:
            self.report(fields["id"][1], f"{where}: id {question_id!r} is reserved for exports")
        kind: Kind | None = None
        if "kind" in fields:
            raw_kind = scalar(fields["kind"][1])
            try:
                kind = Kind(raw_kind or "")
            except ValueError:
                known = ", ".join(k.value for k in Kind)
                self.report(
                    fields["kind"][1], f"{where}: unknown kind {raw_kind!r}; known kinds: {known}"
                )
        text = self.texts(*fields["text"], where) if "text" in fields else None
        help_text = self.optional(
            fields, "help", lambda node: self.texts(fields["help"][0], node, where)
        )
        error = self.optional(
            fields, "error", lambda node: self.texts(fields["error"][0], node, where)
        )
        question = Question(
            id=question_id or f"#{number}",
            kind=kind or Kind.SHORT_TEXT,
            text=text or {},
            required=self.flag(fields, "required", where, True),
            help=help_text,
            error=error,
            export=self.flag(fields, "export", where, True),
            personal=self.flag(fields, "personal", where, False),
            public=self.flag(fields, "public", where, False),
            line=line_of(node),
        )
        if kind is not None:
            question = self.kind_details(question, fields, where)
        if question_id is None:
            return None
        return _Parsed(question, fields["when"][1] if "when" in fields else None)

    def kind_details(self, question: Question, fields: Fields, where: str) -> Question:
        """Options, bounds and `integer`, each checked against what the kind allows."""
        kind = question.kind
        options: tuple[Option, ...] = ()
        if kind in _OPTION_KINDS:
            if "options" in fields:
                options = self.options(fields["options"][1], where)
            else:
                self.report(fields["kind"][1], f"{where}: a {kind} question needs options")
        elif "options" in fields:
            self.report(fields["options"][0], f"{where}: a {kind} question takes no options")
        if "integer" in fields and kind is not Kind.NUMBER:
            self.report(fields["integer"][0], f"{where}: integer applies to number questions only")
        integer = self.flag(fields, "integer", where, True)
        bounds: dict[str, object] = {}
        for name in ("min", "max"):
            if name not in fields:
                continue
            key_node, node = fields[name]
            if kind is Kind.DATE:
                bounds[name] = self.date_bound(node, where, name)
            elif kind is Kind.NUMBER:
                bounds[name] = self.number(node, where, name)
            elif kind in _TEXT_KINDS:
                length = self.value(node) if isinstance(node, yaml.ScalarNode) else None
                if isinstance(length, bool) or not isinstance(length, int) or length < 1:
                    self.report(node, f"{where}: {name} length must be a whole number from 1")
                else:
                    bounds[name] = length
            else:
                self.report(key_node, f"{where}: {name} does not apply to {kind} questions")
        low, high = bounds.get("min"), bounds.get("max")
        numbers = isinstance(low, int | float) and isinstance(high, int | float) and low > high
        dates = isinstance(low, date) and isinstance(high, date) and low > high
        if numbers or dates:
            self.report(fields["min"][1], f"{where}: min {low} is greater than max {high}")
        if kind is Kind.DATE:
            return replace(
                question,
                options=options,
                earliest=cast(DateBound | None, low),
                latest=cast(DateBound | None, high),
            )
        return replace(
            question,
            options=options,
            minimum=cast(int | float | None, low),
            maximum=cast(int | float | None, high),
            integer=integer,
        )

    def options(self, node: yaml.Node, where: str) -> tuple[Option, ...]:
        if not isinstance(node, yaml.SequenceNode) or len(node.value) < 2:
            self.report(node, f"{where}: options must be a list of at least two")
            return ()
        options: list[Option] = []
        first_line: dict[str, int] = {}
        for number, item in enumerate(node.value, start=1):
            fields = self.fields(item, f"{where}, option #{number}", ("id", "text"), ("exclusive",))
            if fields is None or "id" not in fields:
                continue
            option_id = self.identifier(
                fields["id"][1], f"{where}, option #{number}", max_length=ID_MAX
            )
            if option_id is None:
                continue
            option_where = f"{where}, option {option_id!r}"
            if option_id in first_line:
                self.report(
                    fields["id"][1],
                    f"{where}: duplicate option id {option_id!r} "
                    f"(first at line {first_line[option_id]})",
                )
                continue
            first_line[option_id] = line_of(fields["id"][1])
            text = (self.texts(*fields["text"], option_where) if "text" in fields else None) or {}
            exclusive = self.flag(fields, "exclusive", option_where, False)
            options.append(Option(option_id, text, exclusive))
        return tuple(options)

    def condition(
        self,
        node: yaml.Node,
        where: str,
        own_id: str,
        earlier: Mapping[str, Question],
        everything: Container[str],
    ) -> Condition | None:
        fields = self.fields(node, f"{where}: condition", ("question",), _OPERATORS)
        if fields is None or "question" not in fields:
            return None
        target_node = fields["question"][1]
        target_id = scalar(target_node) or ""
        target = earlier.get(target_id)
        if target is None:
            if target_id == own_id:
                problem = "refers to the question itself"
            elif target_id in everything:
                problem = f"refers to question {target_id!r}, which comes later"
            else:
                problem = f"refers to unknown question {target_id!r}"
            self.report(target_node, f"{where}: condition {problem}")
            return None
        operators = [name for name in _OPERATORS if name in fields]
        if len(operators) != 1:
            self.report(node, f"{where}: condition needs exactly one of equals, in, includes")
            return None
        operator = operators[0]
        allowed = {
            "equals": {Kind.SINGLE_CHOICE, Kind.YES_NO, Kind.SCALE, Kind.NUMBER, Kind.MUNICIPALITY},
            "in": {Kind.SINGLE_CHOICE, Kind.MULTIPLE_CHOICE, Kind.SCALE, Kind.MUNICIPALITY},
            "includes": {Kind.MULTIPLE_CHOICE},
        }[operator]
        value_node = fields[operator][1]
        if target.kind not in allowed:
            self.report(
                fields[operator][0],
                f"{where}: condition '{operator}' does not apply to {target.kind} question "
                f"{target_id!r}",
            )
            return None
        if operator == "in":
            if not isinstance(value_node, yaml.SequenceNode) or not value_node.value:
                self.report(value_node, f"{where}: condition 'in' needs a non-empty list")
                return None
            items = list(value_node.value)
        else:
            items = [value_node]
        values = [self.condition_value(item, where, target) for item in items]
        if any(value is None for value in values):
            return None
        return Condition(target_id, operator, tuple(v for v in values if v is not None))

    def condition_value(
        self, node: yaml.Node, where: str, target: Question
    ) -> str | bool | int | float | None:
        """A value a condition compares with, checked against the kind of its question."""
        raw = scalar(node)
        kind = target.kind
        if kind in _OPTION_KINDS:
            if raw is None or target.option(raw) is None:
                self.report(
                    node, f"{where}: condition: {raw!r} is not an option of question {target.id!r}"
                )
                return None
            return raw
        if kind is Kind.YES_NO:
            word = (raw or "").lower()
            if word in ("yes", "true"):
                return True
            if word in ("no", "false"):
                return False
            self.report(node, f"{where}: condition: a yes_no answer is yes or no (got {raw!r})")
            return None
        if kind is Kind.SCALE:
            if raw is None or not re.fullmatch(r"[1-5]", raw):
                self.report(node, f"{where}: condition: a scale answer is 1 to 5 (got {raw!r})")
                return None
            return int(raw)
        if kind is Kind.NUMBER:
            return self.number(node, f"{where}: condition", "the value")
        if not raw:
            self.report(node, f"{where}: condition: expected a municipality id")
            return None
        return raw


# --------------------------------------------------------------------------------------------
# Answers: validation of what a member typed or pressed
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """A valid, normalised answer (None: an optional question skipped)."""

    value: AnswerValue


@dataclass(frozen=True)
class Invalid:
    """A rejected answer, with the reason: a catalogue message, or the question's own texts."""

    reason: LazyText | Mapping[Lang, str]

    def message(self, lang: Lang) -> str:
        """The reason in LANG."""
        if isinstance(self.reason, LazyText):
            return self.reason.render(lang)
        return self.reason[lang]

    @property
    def messages(self) -> dict[Lang, str]:
        """The reason in every language."""
        return {lang: self.message(lang) for lang in LANGUAGES}


_EMPTY: Final = lazy_gettext("The answer cannot be empty.")
_NOT_NUMBER: Final = lazy_gettext("Please enter a number, for example 12.")
_NOT_WHOLE: Final = lazy_gettext("Please enter a whole number.")
_NOT_DATE: Final = lazy_gettext("Please enter a date, for example 2024-05-31 or 31.05.2024.")
_NO_SUCH_DATE: Final = lazy_gettext("That date does not exist in the calendar.")
_NOT_EMAIL: Final = lazy_gettext(
    "That does not look like an e-mail address. Example: name@community.org"
)
_NOT_PHONE: Final = lazy_gettext(
    "Please enter a phone number, for example +370 612 34567 or +371 2012 3456."
)
_PHONE_COUNTRY: Final = lazy_gettext(
    "Please add the country code: +370 (Lithuania) or +371 (Latvia)."
)
_NOT_URL: Final = lazy_gettext(
    "Please enter a website address, for example example.org or https://www.example.org."
)
_URL_SCHEME: Final = lazy_gettext("Only http and https addresses are allowed.")
_UNKNOWN_MUNICIPALITY: Final = lazy_gettext(
    "I found no municipality by that name. Type a part of its name, for example “Trakai” or “Ogre”."
)
_YES_NO: Final = lazy_gettext("Please answer “yes” or “no”.")
_SCALE: Final = lazy_gettext("Please choose a number from 1 to 5.")
_CHOOSE_ONE: Final = lazy_gettext("Please choose one of the options.")
_CHOOSE_SOME: Final = lazy_gettext("Please choose at least one option.")
_UNKNOWN_OPTION: Final = lazy_gettext(
    "There is no such option; please choose one of those offered."
)
_REQUIRED: Final = lazy_gettext("This question is required and cannot be skipped.")
_NOT_ASKED: Final = lazy_gettext("This question is not asked any more.")

_YES_NO_OPTIONS: Final = (
    Option("yes", TranslatedText(N_("Yes"))),
    Option("no", TranslatedText(N_("No"))),
)
_SCALE_OPTIONS: Final = tuple(
    Option(str(n), dict.fromkeys(LANGUAGES, str(n))) for n in range(1, SCALE_MAX + 1)
)
# Folded (lower-case, no diacritics): "jā" -> "ja", "nē" -> "ne".
_YES: Final = frozenset({"taip", "t", "ja", "yes", "y", "true"})
_NO: Final = frozenset({"ne", "n", "no", "false"})


def _invalid(question: Question, reason: LazyText) -> Invalid:
    """A rejection: the question's own `error` text if it has one, else REASON."""
    return Invalid(question.error if question.error is not None else reason)


def validate_answer(
    question: Question,
    raw_text: str,
    *,
    municipalities: MunicipalityIds | None = None,
    today: date | None = None,
) -> Answer | Invalid:
    """Check and normalise what a member typed as the answer to QUESTION."""
    text = raw_text.strip()
    if not text:
        return _invalid(question, _EMPTY)
    kind = question.kind
    if kind in _TEXT_KINDS:
        return _text_answer(question, text)
    if kind is Kind.SINGLE_CHOICE:
        option = _match_option(question, text)
        return Answer(option.id) if option else _invalid(question, _CHOOSE_ONE)
    if kind is Kind.MULTIPLE_CHOICE:
        return _multiple_answer(question, text)
    if kind is Kind.NUMBER:
        return _number_answer(question, text)
    if kind is Kind.DATE:
        return _date_answer(question, text, today or date.today())
    if kind is Kind.EMAIL:
        email = normalise_email(text)
        return Answer(email) if email else _invalid(question, _NOT_EMAIL)
    if kind is Kind.PHONE:
        return _phone_answer(question, text)
    if kind is Kind.URL:
        return _url_answer(question, text)
    if kind is Kind.MUNICIPALITY:
        if municipalities is None:
            raise ValueError("a municipality question needs the known municipality ids")
        return _municipality_answer(question, text, municipalities)
    if kind is Kind.YES_NO:
        word = fold(text).strip(" .!")
        if word in _YES:
            return Answer(True)
        if word in _NO:
            return Answer(False)
        return _invalid(question, _YES_NO)
    if kind is Kind.SCALE:
        return Answer(int(text)) if re.fullmatch(r"[1-5]", text) else _invalid(question, _SCALE)
    raise ValueError(f"question {question.id!r} has an unknown kind {kind!r}")


def choose_option(question: Question, option_id: str) -> Answer | Invalid:
    """The answer a button gives: an option, yes/no or a scale point (stale ids are rejected)."""
    if question.kind is Kind.MULTIPLE_CHOICE or not question.choices:
        raise ValueError(f"question {question.id!r} ({question.kind}) has no single-choice buttons")
    if question.option(option_id) is None:
        return _invalid(question, _UNKNOWN_OPTION)
    if question.kind is Kind.YES_NO:
        return Answer(option_id == "yes")
    if question.kind is Kind.SCALE:
        return Answer(int(option_id))
    return Answer(option_id)


def toggle_option(
    question: Question, selected: Sequence[str], option_id: str
) -> list[str] | Invalid:
    """SELECTED with OPTION_ID switched on or off; an exclusive option clears the others."""
    if question.kind is not Kind.MULTIPLE_CHOICE:
        raise ValueError(f"question {question.id!r} ({question.kind}) is not multiple choice")
    option = question.option(option_id)
    if option is None:
        return _invalid(question, _UNKNOWN_OPTION)
    chosen = set(selected)
    if option_id in chosen:
        chosen.discard(option_id)
    elif option.exclusive:
        chosen = {option_id}
    else:
        chosen = {item for item in chosen if not _is_exclusive(question, item)} | {option_id}
    return [o.id for o in question.options if o.id in chosen]


def validate_value(
    question: Question,
    value: object,
    *,
    municipalities: MunicipalityIds | None = None,
    today: date | None = None,
) -> Answer | Invalid:
    """Check a stored or assembled answer VALUE (municipality ids only when they are given)."""
    if value is None:
        return _invalid(question, _REQUIRED) if question.required else Answer(None)
    kind = question.kind
    if kind in (Kind.SINGLE_CHOICE, Kind.YES_NO, Kind.SCALE):
        if kind is Kind.YES_NO:
            return Answer(value) if isinstance(value, bool) else _invalid(question, _YES_NO)
        if kind is Kind.SCALE:
            if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= SCALE_MAX:
                return Answer(value)
            return _invalid(question, _SCALE)
        if isinstance(value, str) and question.option(value) is not None:
            return Answer(value)
        return _invalid(question, _UNKNOWN_OPTION)
    if kind is Kind.MULTIPLE_CHOICE:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            return _invalid(question, _CHOOSE_SOME)
        return _check_selection(question, [str(item) for item in value])
    if kind is Kind.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return _invalid(question, _NOT_NUMBER)
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return _invalid(question, _NOT_NUMBER)
        return (
            _check_number(question, number)
            if number.is_finite()
            else _invalid(question, _NOT_NUMBER)
        )
    if not isinstance(value, str):
        return _invalid(question, _EMPTY)
    if kind is Kind.MUNICIPALITY and municipalities is None:
        return Answer(value) if value else _invalid(question, _UNKNOWN_MUNICIPALITY)
    return validate_answer(question, value, municipalities=municipalities, today=today)


def _is_exclusive(question: Question, option_id: str) -> bool:
    option = question.option(option_id)
    return option is not None and option.exclusive


def _text_answer(question: Question, text: str) -> Answer | Invalid:
    if question.kind is Kind.SHORT_TEXT:
        text = " ".join(text.split())
    # Control characters have no place in an answer; tabs and line breaks do.
    text = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())
    length = len(text)
    if length > question.max_length:
        return _invalid(
            question,
            lazy_ngettext(
                "The answer is too long ({length} character, at most {max} allowed).",
                "The answer is too long ({length} characters, at most {max} allowed).",
                length,
                length=length,
                max=question.max_length,
            ),
        )
    if length < question.min_length:
        return _invalid(
            question,
            lazy_ngettext(
                "The answer is too short ({length} character, at least {min} needed).",
                "The answer is too short ({length} characters, at least {min} needed).",
                length,
                length=length,
                min=question.min_length,
            ),
        )
    return Answer(text)


def _match_option(question: Question, text: str) -> Option | None:
    """The option meant by TEXT: its id, its number in the list, or its text in any language."""
    wanted = fold(text).strip(" .")
    for number, option in enumerate(question.options, start=1):
        if wanted in (option.id, str(number)) or any(
            fold(label) == wanted for label in option.text.values()
        ):
            return option
    return None


def _multiple_answer(question: Question, text: str) -> Answer | Invalid:
    whole = _match_option(question, text)
    if whole is not None:
        return _check_selection(question, [whole.id])
    chosen: list[str] = []
    for part in re.split(r"[,;\n]", text):
        if not part.strip():
            continue
        option = _match_option(question, part)
        if option is None:
            return _invalid(question, _UNKNOWN_OPTION)
        chosen.append(option.id)
    return _check_selection(question, chosen)


def _check_selection(question: Question, chosen: list[str]) -> Answer | Invalid:
    if not chosen:
        return _invalid(question, _CHOOSE_SOME)
    if any(question.option(item) is None for item in chosen):
        return _invalid(question, _UNKNOWN_OPTION)
    unique = set(chosen)
    for option in question.options:
        if option.exclusive and option.id in unique and len(unique) > 1:
            return _invalid(
                question,
                lazy_gettext(
                    "“{option}” cannot be chosen together with other options.", option=option.text
                ),
            )
    return Answer([o.id for o in question.options if o.id in unique])


def _check_number(question: Question, number: Decimal) -> Answer | Invalid:
    if question.integer and number != number.to_integral_value():
        return _invalid(question, _NOT_WHOLE)
    if question.minimum is not None and number < Decimal(str(question.minimum)):
        return _invalid(
            question, lazy_gettext("The number must be at least {min}.", min=question.minimum)
        )
    if question.maximum is not None and number > Decimal(str(question.maximum)):
        return _invalid(
            question, lazy_gettext("The number must be at most {max}.", max=question.maximum)
        )
    return Answer(int(number) if question.integer else float(number))


def _number_answer(question: Question, text: str) -> Answer | Invalid:
    # Spaces (also no-break ones) group thousands; a comma is the decimal sign in lt and lv.
    cleaned = re.sub(r"[\s\u00a0\u202f]", "", text).replace("\u2212", "-")
    match = re.fullmatch(r"([+-]?\d{1,15})(?:[.,](\d{1,6}))?", cleaned)
    if match is None:
        return _invalid(question, _NOT_NUMBER)
    whole, fraction = match.groups()
    number = Decimal(f"{whole}.{fraction}" if fraction else whole)
    return _check_number(question, number)


def _date_answer(question: Question, text: str, today: date) -> Answer | Invalid:
    day = read_date(text)
    if day is DateProblem.NOT_A_DATE:
        return _invalid(question, _NOT_DATE)
    if day is DateProblem.NO_SUCH_DAY:
        return _invalid(question, _NO_SUCH_DATE)
    earliest = today if question.earliest == "today" else question.earliest
    latest = today if question.latest == "today" else question.latest
    if isinstance(earliest, date) and day < earliest:
        return _invalid(
            question, lazy_gettext("The date must be on or after {min}.", min=earliest.isoformat())
        )
    if isinstance(latest, date) and day > latest:
        return _invalid(
            question, lazy_gettext("The date must be on or before {max}.", max=latest.isoformat())
        )
    return Answer(day.isoformat())


def _phone_answer(question: Question, text: str) -> Answer | Invalid:
    phone = normalise_phone(text)
    if phone == "":
        return _invalid(question, _PHONE_COUNTRY)
    return Answer(phone) if phone else _invalid(question, _NOT_PHONE)


def _url_answer(question: Question, text: str) -> Answer | Invalid:
    url = normalise_url(text)
    if url == "":
        return _invalid(question, _URL_SCHEME)
    return Answer(url) if url else _invalid(question, _NOT_URL)


def _municipality_answer(
    question: Question, text: str, municipalities: MunicipalityIds
) -> Answer | Invalid:
    if callable(municipalities):
        found = municipalities(text)
    else:
        found = text.lower() if text.lower() in municipalities else None
    return Answer(found) if found else _invalid(question, _UNKNOWN_MUNICIPALITY)


# --------------------------------------------------------------------------------------------
# Walking the questionnaire
# --------------------------------------------------------------------------------------------


class Progress(NamedTuple):
    """Question POSITION of TOTAL questions asked with the answers so far."""

    position: int
    total: int


def _walk(
    questionnaire: Questionnaire, answers: Mapping[str, AnswerValue]
) -> tuple[list[Question], dict[str, AnswerValue]]:
    """The questions asked given ANSWERS, and the answers to those questions only, in order."""
    asked: list[Question] = []
    kept: dict[str, AnswerValue] = {}
    for question in questionnaire.questions:
        if question.when is None or question.when.holds(kept):
            asked.append(question)
            if question.id in answers:
                kept[question.id] = answers[question.id]
    return asked, kept


def visible_questions(
    questionnaire: Questionnaire, answers: Mapping[str, AnswerValue]
) -> list[Question]:
    """The questions asked given ANSWERS (those whose condition holds), in order."""
    return _walk(questionnaire, answers)[0]


def visible_answers(
    questionnaire: Questionnaire, answers: Mapping[str, AnswerValue]
) -> dict[str, AnswerValue]:
    """ANSWERS without those to questions no longer asked (or unknown), in questionnaire order."""
    return _walk(questionnaire, answers)[1]


def next_question(
    questionnaire: Questionnaire, answers: Mapping[str, AnswerValue], after: str | None = None
) -> Question | None:
    """The first question asked after AFTER (from the start when None); None at the end."""
    start = -1 if after is None else questionnaire.position(after)
    for question in visible_questions(questionnaire, answers):
        if questionnaire.position(question.id) > start:
            return question
    return None


def previous_question(
    questionnaire: Questionnaire, answers: Mapping[str, AnswerValue], before: str | None = None
) -> Question | None:
    """The last question asked before BEFORE (before the review when None); None at the start."""
    end = len(questionnaire.questions) if before is None else questionnaire.position(before)
    earlier = [
        q for q in visible_questions(questionnaire, answers) if questionnaire.position(q.id) < end
    ]
    return earlier[-1] if earlier else None


def first_unanswered(
    questionnaire: Questionnaire, answers: Mapping[str, AnswerValue]
) -> Question | None:
    """The first question asked that has no answer yet (skipping counts as one); None if all."""
    asked, kept = _walk(questionnaire, answers)
    return next((question for question in asked if question.id not in kept), None)


def is_complete(questionnaire: Questionnaire, answers: Mapping[str, AnswerValue]) -> bool:
    """Whether every required question that is asked has an answer."""
    asked, kept = _walk(questionnaire, answers)
    return all(kept.get(q.id) is not None for q in asked if q.required)


def progress(
    questionnaire: Questionnaire, answers: Mapping[str, AnswerValue], current: str | None
) -> Progress:
    """Where CURRENT stands among the questions asked (at the review: total of total)."""
    asked = visible_questions(questionnaire, answers)
    if current is None:
        return Progress(len(asked), len(asked))
    end = questionnaire.position(current)
    before = sum(1 for q in asked if questionnaire.position(q.id) < end)
    return Progress(before + 1, len(asked))


def format_answer(
    question: Question,
    value: AnswerValue,
    lang: Lang,
    *,
    format_date: DateFormatter | None = None,
    municipality_name: MunicipalityNamer | None = None,
) -> str:
    """VALUE as a reader of LANG sees it in the review (option texts, yes/no words, ...)."""
    words = translator(lang)
    if value is None:
        return words.gettext("(skipped)")
    kind = question.kind
    if kind is Kind.YES_NO:
        return words.gettext("Yes") if value is True else words.gettext("No")
    if kind in _OPTION_KINDS:
        ids = value if isinstance(value, list) else [str(value)]
        return "; ".join(_option_text(question, option_id, lang) for option_id in ids)
    if kind is Kind.SCALE:
        return f"{value} / {SCALE_MAX}"
    if kind is Kind.NUMBER and isinstance(value, int | float) and not isinstance(value, bool):
        return format_number(value, lang)
    if kind is Kind.DATE and format_date is not None and isinstance(value, str):
        return format_date(date.fromisoformat(value), lang)
    if kind is Kind.MUNICIPALITY and municipality_name is not None and isinstance(value, str):
        return municipality_name(value, lang)
    return str(value)


def _option_text(question: Question, option_id: str, lang: Lang) -> str:
    option = question.option(option_id)
    return option.text[lang] if option is not None else option_id


# --------------------------------------------------------------------------------------------
# Drafts: a member's progress, stored after every step
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """A member's progress through a questionnaire: plain data, stored after every answer.

    `current` is the question on screen, None at the review. `answers` maps question ids to
    answer values and `kinds` records each answered question's kind (so that a new version of
    the questionnaire can tell a changed question). `editing` is set while a member changes an
    answer from the review: afterwards they return there, through any question the change made
    necessary. `selection` holds the options ticked so far on a multiple-choice question.
    """

    questionnaire_id: str
    version: int
    current: str | None
    answers: Mapping[str, AnswerValue] = field(default_factory=dict)
    kinds: Mapping[str, str] = field(default_factory=dict)
    editing: bool = False
    selection: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """The draft as plain JSON-ready data."""
        return {
            "questionnaire_id": self.questionnaire_id,
            "version": self.version,
            "current": self.current,
            "answers": {
                key: list(value) if isinstance(value, list) else value
                for key, value in self.answers.items()
            },
            "kinds": dict(self.kinds),
            "editing": self.editing,
            "selection": list(self.selection),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Draft:
        """A draft from `to_dict` data; ValueError if it is not one."""
        questionnaire_id = data.get("questionnaire_id")
        version = data.get("version")
        current = data.get("current")
        answers = data.get("answers", {})
        kinds = data.get("kinds", {})
        editing = data.get("editing", False)
        selection = data.get("selection", [])
        if not isinstance(questionnaire_id, str) or type(version) is not int:
            raise ValueError("a draft needs a questionnaire_id and an integer version")
        if current is not None and not isinstance(current, str):
            raise ValueError("a draft's current question must be an id or null")
        if not isinstance(answers, dict) or not isinstance(editing, bool):
            raise ValueError("a draft's answers must be a mapping and editing a boolean")
        if not isinstance(kinds, dict) or not all(
            isinstance(key, str) and isinstance(kind, str) for key, kind in kinds.items()
        ):
            raise ValueError("a draft's kinds must map question ids to kinds")
        if not isinstance(selection, list) or not all(isinstance(s, str) for s in selection):
            raise ValueError("a draft's selection must be a list of option ids")
        clean: dict[str, AnswerValue] = {}
        for key, value in answers.items():
            if not isinstance(key, str) or not _is_answer_value(value):
                raise ValueError(f"a draft's answer {key!r} is not a plain answer value")
            clean[key] = list(value) if isinstance(value, list) else value
        return cls(
            questionnaire_id, version, current, clean, dict(kinds), editing, tuple(selection)
        )


def _is_answer_value(value: object) -> bool:
    if isinstance(value, list):
        return all(isinstance(item, str) for item in value)
    return value is None or isinstance(value, str | int | float | bool)


def _at(draft: Draft, question: Question | None, *, editing: bool | None = None) -> Draft:
    """DRAFT moved to QUESTION (None: the review), its ticks taken from an earlier answer."""
    selection: tuple[str, ...] = ()
    if question is not None and question.kind is Kind.MULTIPLE_CHOICE:
        earlier = draft.answers.get(question.id)
        selection = tuple(earlier) if isinstance(earlier, list) else ()
    return replace(
        draft,
        current=question.id if question else None,
        selection=selection,
        editing=draft.editing if editing is None else editing,
    )


def _with_answers(
    questionnaire: Questionnaire, draft: Draft, answers: Mapping[str, AnswerValue]
) -> Draft:
    """DRAFT holding ANSWERS to the questionnaire's questions, in its order, with their kinds.

    An answer to a question that is not asked now (B after A changed from yes to no) is kept:
    should the question be asked again, it needs no retyping. Only asked questions' answers are
    shown in the review and submitted (`visible_answers`).
    """
    kept = {
        question.id: answers[question.id]
        for question in questionnaire.questions
        if question.id in answers
    }
    kinds = {key: questionnaire.question(key).kind.value for key in kept}
    return replace(draft, answers=kept, kinds=kinds)


def start_draft(questionnaire: Questionnaire) -> Draft:
    """A fresh draft at the first question."""
    empty = Draft(questionnaire.id, questionnaire.version, None)
    return _at(empty, next_question(questionnaire, {}))


def current_question(questionnaire: Questionnaire, draft: Draft) -> Question | None:
    """The question on screen, or None at the review (or if it is no longer in the file)."""
    return questionnaire.get(draft.current) if draft.current is not None else None


def answer_current(questionnaire: Questionnaire, draft: Draft, answer: Answer) -> Draft:
    """DRAFT with ANSWER to the current question, moved on to the next question or the review.

    While editing from the review, it moves on to the first question asked that has no answer
    yet (one the change made necessary), else back to the review.
    """
    if draft.current is None:
        raise ValueError("the draft is at the review; there is no question to answer")
    updated = _with_answers(questionnaire, draft, {**draft.answers, draft.current: answer.value})
    if draft.editing:
        missing = first_unanswered(questionnaire, updated.answers)
        return _at(updated, missing, editing=missing is not None)
    return _at(updated, next_question(questionnaire, updated.answers, after=draft.current))


def skip_current(questionnaire: Questionnaire, draft: Draft) -> Draft | Invalid:
    """DRAFT with the current optional question skipped; refused for a required one."""
    question = current_question(questionnaire, draft)
    if question is None:
        raise ValueError("the draft is at the review; there is no question to skip")
    if question.required:
        return Invalid(_REQUIRED)
    return answer_current(questionnaire, draft, Answer(None))


def go_back(questionnaire: Questionnaire, draft: Draft) -> Draft:
    """DRAFT at the question asked before the current one (unchanged at the first question)."""
    previous = previous_question(questionnaire, draft.answers, before=draft.current)
    return draft if previous is None else _at(draft, previous)


def edit_question(questionnaire: Questionnaire, draft: Draft, question_id: str) -> Draft | Invalid:
    """DRAFT at QUESTION_ID to change its answer, returning to the review afterwards."""
    question = questionnaire.get(question_id)
    if question is None or question not in visible_questions(questionnaire, draft.answers):
        return Invalid(_NOT_ASKED)
    return _at(draft, question, editing=True)


def return_to_review(questionnaire: Questionnaire, draft: Draft) -> Draft:
    """DRAFT at the review (an edit abandoned), or at its first unanswered question if any."""
    return _at(draft, first_unanswered(questionnaire, draft.answers), editing=False)


def toggle_current(questionnaire: Questionnaire, draft: Draft, option_id: str) -> Draft | Invalid:
    """DRAFT with OPTION_ID ticked or unticked on the current multiple-choice question."""
    question = current_question(questionnaire, draft)
    if question is None:
        raise ValueError("the draft is at the review; there is nothing to tick")
    selection = toggle_option(question, draft.selection, option_id)
    if isinstance(selection, Invalid):
        return selection
    return replace(draft, selection=tuple(selection))


def confirm_selection(questionnaire: Questionnaire, draft: Draft) -> Draft | Invalid:
    """DRAFT with the ticked options as the answer to the current multiple-choice question."""
    question = current_question(questionnaire, draft)
    if question is None or question.kind is not Kind.MULTIPLE_CHOICE:
        raise ValueError("the current question is not multiple choice")
    result = _check_selection(question, list(draft.selection))
    if isinstance(result, Invalid):
        return result
    return answer_current(questionnaire, draft, result)


def final_answers(questionnaire: Questionnaire, draft: Draft) -> dict[str, AnswerValue]:
    """The answers to submit (only questions asked); ValueError if the draft is not complete."""
    if draft.questionnaire_id != questionnaire.id or draft.version != questionnaire.version:
        raise ValueError("the draft belongs to another questionnaire or version; migrate it")
    if not is_complete(questionnaire, draft.answers):
        raise ValueError("the draft is not complete")
    return visible_answers(questionnaire, draft.answers)


def migrate_draft(
    draft: Draft,
    questionnaire: Questionnaire,
    *,
    municipalities: MunicipalityIds | None = None,
    today: date | None = None,
) -> Draft:
    """DRAFT carried over to QUESTIONNAIRE's version: see the version policy at the top."""
    if draft.questionnaire_id != questionnaire.id:
        raise ValueError(
            f"draft of {draft.questionnaire_id!r} cannot move to questionnaire {questionnaire.id!r}"
        )
    if draft.version == questionnaire.version:
        return draft
    kept: dict[str, AnswerValue] = {}
    for question_id, value in draft.answers.items():
        question = questionnaire.get(question_id)
        if question is None:
            continue
        # Drafts stored before kinds were recorded are judged by their values alone.
        if draft.kinds.get(question_id, question.kind.value) != question.kind.value:
            continue
        checked = validate_value(question, value, municipalities=municipalities, today=today)
        if isinstance(checked, Answer):
            kept[question_id] = checked.value
    moved = _with_answers(questionnaire, Draft(questionnaire.id, questionnaire.version, None), kept)
    return _at(moved, first_unanswered(questionnaire, moved.answers), editing=False)


def resubmission_draft(
    questionnaire: Questionnaire,
    answers: Mapping[str, AnswerValue],
    version: int,
    *,
    municipalities: MunicipalityIds | None = None,
    today: date | None = None,
) -> Draft:
    """A draft to update a submission: its ANSWERS (to VERSION) carried over, at the review.

    A submission of an earlier version keeps the answers that still fit (`migrate_draft`); the
    draft is at the first question left unanswered, if any, else at the review.
    """
    earlier = Draft(questionnaire.id, version, None, dict(answers))
    moved = migrate_draft(earlier, questionnaire, municipalities=municipalities, today=today)
    return return_to_review(questionnaire, moved)

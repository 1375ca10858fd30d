"""The knowledge pack: programme facts and funding calls read from knowledge/pack/*.yaml.

Each file holds the entries (question topics with answers in lt, lv and en) and the calls
(application windows) of one programme. Every entry and call remembers the file and line it
came from, and `check_pack` lists every problem of a folder at once with its file and line, so
that a coordinator editing the YAML by hand is told exactly where to look.
"""

from __future__ import annotations

import enum
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Final, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from knowledge.text import Lang
from knowledge.values import normalise_url, parse_date, parse_local_time
from knowledge.vocabulary import EMPTY_VOCABULARY, VOCABULARY_FILE, Vocabulary, read_vocabulary
from knowledge.yamlfile import (
    Fields,
    KnowledgeFileError,
    YamlFileReader,
    line_of,
    scalar,
    yaml_files,
)
from knowledge.yamlfile import Problem as Problem  # callers and tests import it from here

# Entry and call ids stay short enough for a button's data (64 bytes) with room to spare.
ID_MAX: Final = 48

_FILE_KEYS: Final = ("source", "verified", "entries", "calls")
_ENTRY_REQUIRED: Final = ("id", "questions", "answer")
_ENTRY_OPTIONAL: Final = ("tags", "source", "verified", "call")
_CALL_REQUIRED: Final = (
    "id",
    "title",
    "programme",
    "funder",
    "opens",
    "closes",
    "timezone",
    "who_may_apply",
    "municipalities",
    "contact",
    "link",
    "questions",
)
_CALL_OPTIONAL: Final = ("tags", "source", "verified")
_CALL_TEXTS: Final = ("title", "programme", "funder", "who_may_apply")

_T = TypeVar("_T")


@dataclass(frozen=True)
class Source:
    """The seed text a fact was taken from."""

    title: str
    seed: str


@dataclass(frozen=True)
class Entry:
    """One question topic: how people ask about it and the answer, in every language."""

    id: str
    tags: tuple[str, ...]
    questions: Mapping[Lang, tuple[str, ...]]
    answer: Mapping[Lang, str]
    source: Source
    verified: date
    file: str
    line: int
    call: str | None = None  # the call this entry is about: its record answers instead


class CallStatus(enum.StrEnum):
    """Where a call's application window stands at a given moment."""

    UPCOMING = "upcoming"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Call:
    """A funding call or application window, open from `opens` until `closes` (exclusive).

    Calls added by coordinators at run time have no seed: their `source` and `verified` are None
    and `file` is empty.
    """

    id: str
    title: Mapping[Lang, str]
    programme: Mapping[Lang, str]
    funder: Mapping[Lang, str]
    opens: datetime
    closes: datetime
    timezone: str
    who_may_apply: Mapping[Lang, str]
    municipalities: tuple[str, ...]
    contact: str
    link: str
    questions: Mapping[Lang, tuple[str, ...]] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    source: Source | None = None
    verified: date | None = None
    file: str = ""
    line: int = 0

    def __post_init__(self) -> None:
        if self.opens.tzinfo is None or self.closes.tzinfo is None:
            raise ValueError(f"call {self.id!r}: opens and closes must carry a time zone")
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"call {self.id!r}: unknown time zone {self.timezone!r}") from error
        if self.closes <= self.opens:
            raise ValueError(f"call {self.id!r}: closes must be after opens")
        # Keep both moments in the call's own zone, whatever zone they were given in.
        object.__setattr__(self, "opens", self.opens.astimezone(zone))
        object.__setattr__(self, "closes", self.closes.astimezone(zone))

    def status(self, now: datetime) -> CallStatus:
        """Whether the call is upcoming, open or closed at the aware moment NOW."""
        now = _aware(now)
        if now < self.opens:
            return CallStatus.UPCOMING
        if now < self.closes:
            return CallStatus.OPEN
        return CallStatus.CLOSED

    def days_left(self, now: datetime) -> int:
        """Whole days from NOW until the call closes, on the call's local clock (0 once closed)."""
        zone = ZoneInfo(self.timezone)
        # Wall-clock difference, so a day across a DST change still counts as one day.
        closes = self.closes.astimezone(zone).replace(tzinfo=None)
        local_now = _aware(now).astimezone(zone).replace(tzinfo=None)
        return max(0, (closes - local_now) // timedelta(days=1))


@dataclass(frozen=True)
class KnowledgePack:
    """All entries and calls the bot knows, looked up by id."""

    entries: tuple[Entry, ...]
    calls: tuple[Call, ...]
    vocabulary: Vocabulary = EMPTY_VOCABULARY
    _entries_by_id: Mapping[str, Entry] = field(init=False, repr=False, compare=False)
    _calls_by_id: Mapping[str, Call] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        entries = tuple(self.entries)
        calls = tuple(self.calls)
        entries_by_id = {entry.id: entry for entry in entries}
        calls_by_id = {call.id: call for call in calls}
        if len(entries_by_id) != len(entries) or len(calls_by_id) != len(calls):
            raise ValueError("knowledge pack: entry and call ids must be unique")
        object.__setattr__(self, "entries", entries)
        object.__setattr__(self, "calls", calls)
        object.__setattr__(self, "_entries_by_id", MappingProxyType(entries_by_id))
        object.__setattr__(self, "_calls_by_id", MappingProxyType(calls_by_id))

    def entry(self, entry_id: str) -> Entry:
        """The entry with ENTRY_ID; KeyError if there is none."""
        return self._entries_by_id[entry_id]

    def call(self, call_id: str) -> Call:
        """The call with CALL_ID; KeyError if there is none."""
        return self._calls_by_id[call_id]

    def with_calls(self, extra_calls: Iterable[Call]) -> KnowledgePack:
        """A new pack with EXTRA_CALLS added; an extra call replaces a call with the same id."""
        calls = dict(self._calls_by_id)
        for call in extra_calls:
            calls[call.id] = call
        return KnowledgePack(self.entries, tuple(calls.values()), self.vocabulary)


class PackError(KnowledgeFileError):
    """The knowledge pack cannot be loaded; `problems` says why and where."""


def load_pack(folder: Path, *, municipalities: Container[str]) -> KnowledgePack:
    """Read every pack file in FOLDER; raise PackError listing all problems if any."""
    pack, problems = _read_pack(folder, municipalities)
    if problems:
        raise PackError(problems)
    return pack


def check_pack(folder: Path, *, municipalities: Container[str]) -> list[Problem]:
    """Every problem in the pack files of FOLDER, in file and line order; empty if all is well."""
    return _read_pack(folder, municipalities)[1]


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a naive datetime has no time zone; pass an aware one")
    return moment


def _read_pack(folder: Path, municipalities: Container[str]) -> tuple[KnowledgePack, list[Problem]]:
    entries: list[Entry] = []
    calls: list[Call] = []
    problems: list[Problem] = []
    paths = [path for path in yaml_files(folder) if path.name != VOCABULARY_FILE]
    if not paths:
        problems.append(Problem(folder.name, 0, "no knowledge pack files (*.yaml) here"))
    vocabulary_path = folder / VOCABULARY_FILE
    vocabulary, vocabulary_problems = read_vocabulary(
        vocabulary_path, vocabulary_path.relative_to(folder.parent).as_posix()
    )
    problems.extend(vocabulary_problems)
    seen_ids: dict[str, str] = {}
    references: list[tuple[str, str, int, str]] = []
    call_ids: set[str] = set()
    for path in paths:
        reader = _FileReader(path.relative_to(folder.parent).as_posix(), municipalities, seen_ids)
        reader.read(path)
        entries.extend(reader.entries)
        calls.extend(reader.calls)
        problems.extend(sorted(reader.problems, key=lambda problem: problem.line))
        references.extend((reader.label, *reference) for reference in reader.call_references)
        call_ids.update(reader.declared_calls)
    for label, call_id, line, ctx in references:
        if call_id not in call_ids:
            problems.append(Problem(label, line, f"{ctx}: unknown call '{call_id}'"))
    if problems:
        return KnowledgePack((), ()), problems
    return KnowledgePack(tuple(entries), tuple(calls), vocabulary), problems


@dataclass(frozen=True)
class _Defaults:
    """The file-level source and verified date, and whether the file gave them at all."""

    source: Source | None
    verified: date | None
    has_source: bool
    has_verified: bool


class _FileReader(YamlFileReader):
    """Walks the YAML nodes of one pack file, collecting entries, calls and problems."""

    def __init__(self, label: str, municipalities: Container[str], seen_ids: dict[str, str]):
        super().__init__(label)
        self.municipalities = municipalities
        self.seen_ids = seen_ids  # id -> "file:line", shared by all files of the pack
        self.call_references: list[tuple[str, int, str]] = []  # call id, line, entry context
        self.declared_calls: set[str] = set()  # also calls with problems of their own
        self.entries: list[Entry] = []
        self.calls: list[Call] = []

    def read(self, path: Path) -> None:
        root = self.compose(path, context_line=True)
        if root is None:
            return
        fields = self.fields(root, "file", (), _FILE_KEYS)
        if fields is None:
            return
        if "entries" not in fields and "calls" not in fields:
            self.report(root, "file: no 'entries' or 'calls'")
        defaults = _Defaults(
            source=self.optional(fields, "source", lambda node: self.source(node, "file")),
            verified=self.optional(fields, "verified", lambda node: self.day(node, "file")),
            has_source="source" in fields,
            has_verified="verified" in fields,
        )
        for position, node in enumerate(self.items(fields, "entries"), start=1):
            entry = self.entry(node, position, defaults)
            if entry is not None:
                self.entries.append(entry)
        for position, node in enumerate(self.items(fields, "calls"), start=1):
            call = self.call(node, position, defaults)
            if call is not None:
                self.calls.append(call)

    # -- the shapes of the file

    def entry(self, node: yaml.Node, position: int, defaults: _Defaults) -> Entry | None:
        ctx = self.context("entry", node, position)
        fields = self.fields(node, ctx, _ENTRY_REQUIRED, _ENTRY_OPTIONAL)
        if fields is None:
            return None
        before = len(self.problems)
        entry_id = self.entry_id(fields, ctx)
        tags = self.tags(fields, ctx)
        questions = self.given(
            fields, "questions", lambda key, value: self.question_lists(key, value, ctx)
        )
        answer = self.given(fields, "answer", lambda key, value: self.texts(key, value, ctx))
        source, verified = self.origin(node, fields, ctx, defaults)
        call = self.optional(fields, "call", lambda value: self.text(value, ctx, "call"))
        if call is not None:
            self.call_references.append((call, line_of(fields["call"][1]), ctx))
        if (
            len(self.problems) > before
            or entry_id is None
            or questions is None
            or answer is None
            or source is None
            or verified is None
        ):
            return None
        return Entry(
            id=entry_id,
            tags=tags,
            questions=questions,
            answer=answer,
            source=source,
            verified=verified,
            file=self.label,
            line=line_of(node),
            call=call,
        )

    def call(self, node: yaml.Node, position: int, defaults: _Defaults) -> Call | None:
        ctx = self.context("call", node, position)
        fields = self.fields(node, ctx, _CALL_REQUIRED, _CALL_OPTIONAL)
        if fields is None:
            return None
        before = len(self.problems)
        call_id = self.entry_id(fields, ctx)
        if call_id is not None:
            self.declared_calls.add(call_id)
        texts = {
            name: self.given(fields, name, lambda key, value: self.texts(key, value, ctx))
            for name in _CALL_TEXTS
        }
        opens = self.given(fields, "opens", lambda _key, value: self.local_time(value, ctx))
        closes = self.given(fields, "closes", lambda _key, value: self.local_time(value, ctx))
        zone = self.given(fields, "timezone", lambda _key, value: self.zone(value, ctx))
        places = self.given(fields, "municipalities", lambda _key, value: self.places(value, ctx))
        contact = self.given(
            fields, "contact", lambda _key, value: self.text(value, ctx, "contact")
        )
        link = self.given(fields, "link", lambda _key, value: self.link(value, ctx))
        questions = self.given(
            fields, "questions", lambda key, value: self.question_lists(key, value, ctx)
        )
        tags = self.tags(fields, ctx)
        source, verified = self.origin(node, fields, ctx, defaults)
        if opens is not None and closes is not None and zone is not None:
            opens, closes = opens.replace(tzinfo=zone), closes.replace(tzinfo=zone)
            if closes <= opens:
                self.report(
                    fields["closes"][1],
                    f"{ctx}: closes ({closes:%Y-%m-%d %H:%M}) is not after "
                    f"opens ({opens:%Y-%m-%d %H:%M})",
                )
        title, programme, funder, who_may_apply = (texts[name] for name in _CALL_TEXTS)
        if (
            len(self.problems) > before
            or call_id is None
            or title is None
            or programme is None
            or funder is None
            or who_may_apply is None
            or opens is None
            or closes is None
            or zone is None
            or places is None
            or contact is None
            or link is None
            or questions is None
        ):
            return None
        return Call(
            id=call_id,
            title=title,
            programme=programme,
            funder=funder,
            opens=opens,
            closes=closes,
            timezone=zone.key,
            who_may_apply=who_may_apply,
            municipalities=places,
            contact=contact,
            link=link,
            questions=questions,
            tags=tags,
            source=source,
            verified=verified,
            file=self.label,
            line=line_of(node),
        )

    def origin(
        self,
        node: yaml.Node,
        fields: Fields,
        ctx: str,
        defaults: _Defaults,
    ) -> tuple[Source | None, date | None]:
        """The source and verified date of an entry or call, its own or the file's."""
        source = self.optional(fields, "source", lambda value: self.source(value, ctx))
        verified = self.optional(fields, "verified", lambda value: self.day(value, ctx))
        # A broken file-level default was reported once already; a missing one is reported here.
        if "source" not in fields:
            source = defaults.source
            if not defaults.has_source:
                self.report(node, f"{ctx}: missing required field 'source' (here or in the file)")
        if "verified" not in fields:
            verified = defaults.verified
            if not defaults.has_verified:
                self.report(node, f"{ctx}: missing required field 'verified' (here or in the file)")
        return source, verified

    def tags(self, fields: Fields, ctx: str) -> tuple[str, ...]:
        """The tags of an entry or call; none if it has none or they are broken (reported)."""
        return self.optional(fields, "tags", lambda value: self.words(value, ctx, "tags")) or ()

    def source(self, node: yaml.Node, ctx: str) -> Source | None:
        fields = self.fields(node, f"{ctx} source", ("title", "seed"), ())
        if fields is None or len(fields) < 2:
            return None
        title = self.text(fields["title"][1], ctx, "source.title")
        seed = self.text(fields["seed"][1], ctx, "source.seed")
        if title is None or seed is None:
            return None
        return Source(title=title, seed=seed)

    # -- building blocks

    def context(self, kind: str, node: yaml.Node, position: int) -> str:
        """How messages name an entry or call: by its id when it has one."""
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if scalar(key) == "id" and scalar(value):
                    return f"{kind} '{scalar(value)}'"
        return f"{kind} #{position}"

    def items(self, fields: Fields, name: str) -> list[yaml.Node]:
        if name not in fields:
            return []
        node = fields[name][1]
        if not isinstance(node, yaml.SequenceNode):
            self.report(node, f"file: '{name}' must be a list")
            return []
        return list(node.value)

    def entry_id(self, fields: Fields, ctx: str) -> str | None:
        """The id of an entry or call: well formed, and used once in the whole pack."""
        if "id" not in fields:
            return None
        node = fields["id"][1]
        value = self.identifier(node, ctx, max_length=ID_MAX)
        if value is None:
            return None
        where = f"{self.label}:{line_of(node)}"
        if value in self.seen_ids:
            self.report(
                node, f"{ctx}: duplicate id '{value}' (already used at {self.seen_ids[value]})"
            )
            return None
        self.seen_ids[value] = where
        return value

    def question_lists(
        self, key: yaml.Node, node: yaml.Node, ctx: str
    ) -> Mapping[Lang, tuple[str, ...]] | None:
        def questions(value: yaml.Node, path: str) -> tuple[str, ...] | None:
            asked = self.words(value, ctx, path)
            if asked == ():
                self.report(value, f"{ctx}: {path} has no questions")
                return None
            return asked

        return self.per_language(key, node, ctx, questions)

    def places(self, node: yaml.Node, ctx: str) -> tuple[str, ...] | None:
        ids = self.words(node, ctx, "municipalities")
        if ids is None:
            return None
        known = True
        for item, municipality in zip(node.value, ids, strict=True):
            if municipality not in self.municipalities:
                self.report(item, f"{ctx}: unknown municipality id '{municipality}'")
                known = False
        return ids if known else None

    def day(self, node: yaml.Node, ctx: str) -> date | None:
        raw = scalar(node) or ""
        day = parse_date(raw, iso_only=True)
        if day is None:
            self.report(node, f"{ctx}: bad date {raw!r} (expected YYYY-MM-DD)")
        return day

    def local_time(self, node: yaml.Node, ctx: str) -> datetime | None:
        raw = scalar(node) or ""
        moment = parse_local_time(raw, iso_only=True)
        if moment is None:
            self.report(
                node,
                f"{ctx}: bad date and time {raw!r} (expected local time like 2021-08-27T23:59)",
            )
        return moment

    def link(self, node: yaml.Node, ctx: str) -> str | None:
        """A call's web page: an http(s) address (a bare domain gets https://)."""
        raw = self.text(node, ctx, "link")
        if raw is None:
            return None
        url = normalise_url(raw)
        if not url:
            self.report(node, f"{ctx}: link {raw!r} is not an http(s) web address")
            return None
        return url

    def zone(self, node: yaml.Node, ctx: str) -> ZoneInfo | None:
        raw = scalar(node) or ""
        try:
            return ZoneInfo(raw)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            self.report(
                node, f"{ctx}: unknown time zone {raw!r} (use an IANA name like Europe/Riga)"
            )
            return None

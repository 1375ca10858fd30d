"""The knowledge base the bot and `civicbot ask` answer from: the pack, the stored calls, search.

`KnowledgeBase` is the one long-lived object behind every answer. It holds the knowledge pack
read from YAML, the calls coordinators added (kept in the database, handed in with
`add_calls`) and the search index over both. `answer` turns a member's question into what the
member reads: the entry's answer, or a call described from its record and today's date, or,
when the search is not confident, an honest "I am not sure" with the closest questions.
The Telegram handlers and the command line both call it, so they answer identically.

`reload` re-reads the YAML without a restart; a broken pack is refused with its problems and
the old one stays in use. Rebuilding the index takes a fraction of a second: run `reload` and
`add_calls` in a worker thread (`asyncio.to_thread`); readers are never blocked, they keep
using the state they started with.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from knowledge import calls as call_texts
from knowledge.i18n import translator
from knowledge.language import LanguageGuesser
from knowledge.municipalities import MunicipalityDirectory
from knowledge.pack import Call, KnowledgePack, PackError, Problem, load_pack
from knowledge.search import DocumentKind, Hit, SearchIndex
from knowledge.text import Lang

PACK_DIR: Final = Path(__file__).with_name("pack")

# Suggestions scoring below this are noise (a shared common word), not a related question.
SUGGESTION_MIN_SCORE: Final = 0.15
# Longer questions are cut here before searching (a pasted document is not a question).
MAX_QUESTION_LENGTH: Final = 500

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)


@dataclass(frozen=True)
class Suggestion:
    """A question the member may have meant, offered as a button."""

    kind: DocumentKind
    id: str
    question: str


@dataclass(frozen=True)
class Answer:
    """What the member reads, and what it was built from.

    `id` and `kind` name the entry or call that answered, or are None when the search was not
    confident; then `text` says so and `suggestions` holds the closest questions. `guess` is the
    closest entry or call even then, so a coordinator's contact can be offered for its topic.
    `text` is plain text: escape it before sending it as HTML.
    """

    lang: Lang
    text: str
    score: float
    kind: DocumentKind | None = None
    id: str | None = None
    suggestions: tuple[Suggestion, ...] = ()
    guess: tuple[DocumentKind, str] | None = None

    @property
    def confident(self) -> bool:
        """Whether an entry or call answered the question."""
        return self.id is not None

    def as_json(self) -> dict[str, Any]:
        """The `civicbot ask --json` object."""
        return {
            "lang": self.lang,
            "answer": self.text,
            "score": round(self.score, 3),
            "entry": self.id,
            "suggestions": [{"id": s.id, "question": s.question} for s in self.suggestions],
        }


@dataclass(frozen=True)
class _State:
    """One consistent version of the knowledge: replaced whole, never changed in place."""

    from_yaml: KnowledgePack
    stored_calls: Mapping[str, Call]
    pack: KnowledgePack
    index: SearchIndex
    languages: LanguageGuesser
    file_contacts: Mapping[str, str]

    @classmethod
    def build(cls, from_yaml: KnowledgePack, stored_calls: Mapping[str, Call]) -> _State:
        pack = from_yaml.with_calls(stored_calls.values())
        return cls(
            from_yaml=from_yaml,
            stored_calls=MappingProxyType(dict(stored_calls)),
            pack=pack,
            index=SearchIndex.from_pack(pack),
            languages=LanguageGuesser.from_pack(pack),
            file_contacts=MappingProxyType(_file_contacts(pack)),
        )


def _file_contacts(pack: KnowledgePack) -> dict[str, str]:
    """The e-mail address each pack file gives most often: its programme's contact."""
    found: dict[str, Counter[str]] = {}
    for entry in pack.entries:
        addresses = _EMAIL.findall(entry.answer.get("en", ""))
        found.setdefault(entry.file, Counter()).update(address.lower() for address in addresses)
    for call in pack.calls:
        if call.file:
            found.setdefault(call.file, Counter()).update(_EMAIL.findall(call.contact.lower()))
    return {file: counts.most_common(1)[0][0] for file, counts in found.items() if counts}


class KnowledgeBase:
    """The pack from FOLDER plus the stored calls, searchable; raises PackError if broken."""

    def __init__(self, municipalities: MunicipalityDirectory, folder: Path = PACK_DIR) -> None:
        self.folder = folder
        self.municipalities = municipalities
        self._lock = threading.Lock()
        self._state = _State.build(load_pack(folder, municipalities=municipalities), {})

    def copy(self, folder: Path | None = None) -> KnowledgeBase:
        """Another knowledge base starting from this one's state (built once, shared).

        FOLDER, if given, is where the copy reloads the pack from (it must hold the same pack).
        """
        twin = object.__new__(KnowledgeBase)
        twin.folder, twin.municipalities = folder or self.folder, self.municipalities
        twin._lock = threading.Lock()
        twin._state = self._state
        return twin

    @property
    def pack(self) -> KnowledgePack:
        """Everything known right now: the YAML's entries and calls and the stored calls."""
        return self._state.pack

    def reload(self, stored_calls: Iterable[Call] | None = None) -> list[Problem]:
        """Re-read the pack folder (and take STORED_CALLS if given); [] when it worked.

        On problems nothing changes: the old pack stays in use and the problems are returned.
        """
        with self._lock:
            try:
                from_yaml = load_pack(self.folder, municipalities=self.municipalities)
            except PackError as error:
                return list(error.problems)
            stored = (
                self._state.stored_calls
                if stored_calls is None
                else {call.id: call for call in stored_calls}
            )
            self._state = _State.build(from_yaml, stored)
            return []

    def add_calls(self, calls: Iterable[Call]) -> None:
        """Make CALLS (from the database) known and searchable; a call replaces one of its id."""
        calls = list(calls)
        if not calls:
            return
        with self._lock:
            state = self._state
            stored = dict(state.stored_calls)
            stored.update((call.id, call) for call in calls)
            self._state = _State.build(state.from_yaml, stored)

    def set_stored_calls(self, calls: Iterable[Call]) -> bool:
        """Make CALLS the stored calls (the database's, all of them); False if nothing changed."""
        stored = {call.id: call for call in calls}
        with self._lock:
            state = self._state
            if stored == dict(state.stored_calls):
                return False
            self._state = _State.build(state.from_yaml, stored)
            return True

    def guess_language(self, text: str) -> Lang | None:
        """The language TEXT is clearly written in (see knowledge/language.py); None if unclear."""
        return self._state.languages.guess(text[:MAX_QUESTION_LENGTH])

    def language_of(self, question: str, default: Lang) -> Lang:
        """The language QUESTION is clearly written in, else DEFAULT (the member's own)."""
        return self.guess_language(question) or default

    def answer(self, question: str, lang: Lang, now: datetime) -> Answer:
        """The answer to QUESTION asked in LANG at the aware moment NOW."""
        state = self._state
        result = state.index.search(question.strip()[:MAX_QUESTION_LENGTH], lang, limit=3)
        best = result.best
        if result.confident and best is not None:
            chosen = _prefer_call(state.pack, best)
            text = self._text(state, chosen.kind, chosen.id, lang, now)
            if text is not None:
                return Answer(
                    lang=lang,
                    text=text,
                    score=chosen.score,
                    kind=chosen.kind,
                    id=chosen.id,
                    guess=(chosen.kind, chosen.id),
                )
        suggestions = tuple(
            Suggestion(kind=hit.kind, id=hit.id, question=hit.question)
            for hit in result.suggestions
            if hit.score >= SUGGESTION_MIN_SCORE
        )
        _ = translator(lang).gettext
        if suggestions:
            text = _("I am not sure I understood. Did you mean one of these questions?")
        else:
            text = _(
                "I am not sure I can answer that. Try asking in other words, "
                "or see the funding calls with /calls."
            )
        return Answer(
            lang=lang,
            text=text,
            score=result.score,
            suggestions=suggestions,
            guess=(suggestions[0].kind, suggestions[0].id) if suggestions else None,
        )

    def answer_about(
        self, kind: DocumentKind, item_id: str, lang: Lang, now: datetime
    ) -> Answer | None:
        """The answer of one entry or call (a suggestion pressed); None if it is gone."""
        text = self._text(self._state, kind, item_id, lang, now)
        if text is None:
            return None
        return Answer(lang=lang, text=text, score=1.0, kind=kind, id=item_id, guess=(kind, item_id))

    def contact(self, kind: DocumentKind, item_id: str) -> str | None:
        """Whom to write to about an entry or call: its own contact, else its programme's."""
        state = self._state
        try:
            if kind == "call":
                call = state.pack.call(item_id)
                return call.contact or state.file_contacts.get(call.file)
            entry = state.pack.entry(item_id)
        except KeyError:
            return None
        own = _EMAIL.search(entry.answer.get("en", ""))
        return own.group(0) if own else state.file_contacts.get(entry.file)

    def calls_overview(self, lang: Lang, now: datetime) -> str:
        """The /calls text in LANG at NOW."""
        return call_texts.overview(self._state.pack.calls, now, lang)

    def describe_call(self, call: Call, lang: Lang, now: datetime) -> str:
        """How members will read CALL (also one not stored yet, for a preview)."""
        return call_texts.describe(call, now, lang, self.municipalities)

    def _text(
        self, state: _State, kind: DocumentKind, item_id: str, lang: Lang, now: datetime
    ) -> str | None:
        try:
            if kind == "call":
                return call_texts.describe(state.pack.call(item_id), now, lang, self.municipalities)
            return state.pack.entry(item_id).answer[lang]
        except KeyError:
            return None


def _prefer_call(pack: KnowledgePack, best: Hit) -> Hit:
    """BEST, or the call BEST's entry is about (`call:` in the pack): its record answers."""
    if best.kind != "entry":
        return best
    call_id = pack.entry(best.id).call
    if call_id is None:
        return best
    return Hit(id=call_id, kind="call", score=best.score, question=best.question, lang=best.lang)

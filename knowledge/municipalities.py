"""Lithuanian and Latvian municipalities, and a finder for what people type when naming one.

Members name their municipality in free words ("Trakuose", "kauno r", "Rīgā", "Panevezio"):
`MunicipalityDirectory.find` turns that into a short, ranked list of municipalities to confirm.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from rapidfuzz import fuzz, process

from knowledge.text import LANGUAGES, fold

DEFAULT_PATH = Path(__file__).with_name("municipalities.yaml")

COUNTRIES = ("LT", "LV")

_ID_PATTERN = re.compile(r"[a-z]+(?:-[a-z]+)*")
_TOKEN_PATTERN = re.compile(r"[^\W_]+")

# A word used by at least this many municipalities ("rajono", "novads", "city", "r.") says what
# kind of municipality is meant, not which one: it can refine a ranking but never match alone.
_QUALIFIER_MIN_RECORDS = 5
_QUALIFIER_WEIGHT = 0.3

_EXACT = 1.0
_PREFIX = 0.9
# Inflected forms ("Trakuose", "Kaune", "Daugavpilī"): drop up to four trailing letters and
# look for names starting with what is left; each dropped letter costs a little.
_STEM_BASE = 0.85
_STEM_STEP = 0.02
_MAX_ENDING = 4
_MIN_STEM = 4
# Typos (and inflections) are tried only when no name is or starts with the typed word.
# Fuzzy scores stay below exact, prefix and stem scores.
_FUZZY_CUTOFF = 80.0
_FUZZY_MIN_LENGTH = 4
_FUZZY_LOW = 0.5
_FUZZY_HIGH = 0.75
_MIN_PREFIX = 3
# A question pasted into the finder should not cost more than a name does.
_MAX_QUERY_TOKENS = 8


@dataclass(frozen=True)
class Municipality:
    """One municipality: its id, country, names and button labels in lt, lv and en."""

    id: str
    country: str
    names: Mapping[str, str] = field(hash=False)
    short: Mapping[str, str] = field(hash=False)
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class _TokenMatch:
    score: float
    is_place: bool


class MunicipalityDirectory:
    """All known municipalities, looked up by id or found by what a member typed."""

    def __init__(self, municipalities: Iterable[Municipality]) -> None:
        self._items = tuple(municipalities)
        self._by_id = {m.id: m for m in self._items}
        if len(self._by_id) != len(self._items):
            raise ValueError("municipality ids must be unique")
        # Ties go to cities first (a bare "Kaunas" usually means the city), then by name.
        self._sort_keys = [
            (0 if m.id.endswith("-city") else 1, fold(m.names[m.country.lower()]), m.id)
            for m in self._items
        ]
        records_by_token: defaultdict[str, set[int]] = defaultdict(set)
        for index, municipality in enumerate(self._items):
            for text in _searchable_texts(municipality):
                for token in _tokens(text):
                    records_by_token[token].add(index)
        self._records_by_token = {t: tuple(sorted(r)) for t, r in records_by_token.items()}
        self._vocabulary = sorted(self._records_by_token)
        self._qualifiers = frozenset(
            t
            for t, records in self._records_by_token.items()
            if len(records) >= _QUALIFIER_MIN_RECORDS
        )
        by_prefix: defaultdict[str, set[str]] = defaultdict(set)
        for token in self._vocabulary:
            for end in range(_MIN_PREFIX, len(token) + 1):
                by_prefix[token[:end]].add(token)
        self._tokens_by_prefix = {p: frozenset(t) for p, t in by_prefix.items()}

    def get(self, municipality_id: str) -> Municipality | None:
        """The municipality with this id, or None."""
        return self._by_id.get(municipality_id)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, Municipality):
            return self._by_id.get(item.id) == item
        return isinstance(item, str) and item in self._by_id

    def __iter__(self) -> Iterator[Municipality]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def find(self, query: str, *, limit: int = 8) -> list[Municipality]:
        """Municipalities matching QUERY in any language, best first; [] when nothing fits."""
        if limit <= 0:
            return []
        words = list(dict.fromkeys(_tokens(query)))[:_MAX_QUERY_TOKENS]
        totals: defaultdict[int, float] = defaultdict(float)
        named: set[int] = set()
        for word in words:
            for index, match in self._match_word(word).items():
                totals[index] += match.score
                if match.is_place:
                    named.add(index)
        ranked = sorted(named, key=lambda i: (-totals[i], self._sort_keys[i]))
        return [self._items[i] for i in ranked[:limit]]

    def recognise(self, text: str, *, limit: int = 8) -> list[Municipality]:
        """Municipalities TEXT names, best first; [] when TEXT is not a municipality's name.

        Unlike `find`, every word must be part of some municipality's name (or a word such as
        "rajonas" or "novads"): "Jonas Jonaitis" or "Green Trakai & Co" name no municipality,
        although one of their words resembles one.
        """
        words = _tokens(text)
        if not words or len(words) > _MAX_QUERY_TOKENS:
            return []
        if any(not self._token_scores(word) for word in words if len(word) > 1):
            return []
        return self.find(text, limit=limit)

    def _match_word(self, word: str) -> dict[int, _TokenMatch]:
        """The best match of one typed word in each municipality it matches."""
        token_scores = self._token_scores(word)
        best: dict[int, _TokenMatch] = {}
        for token, score in token_scores.items():
            is_place = token not in self._qualifiers
            match = _TokenMatch(score if is_place else score * _QUALIFIER_WEIGHT, is_place)
            for index in self._records_by_token[token]:
                current = best.get(index)
                if current is None or match.score > current.score:
                    best[index] = match
        return best

    def _token_scores(self, word: str) -> dict[str, float]:
        """How well WORD matches each known name token (only the tokens it matches)."""
        scores: dict[str, float] = {}

        def offer(token: str, score: float) -> None:
            if score > scores.get(token, 0.0):
                scores[token] = score

        if word in self._records_by_token:
            offer(word, _EXACT)
        if len(word) >= _MIN_PREFIX:
            for token in self._tokens_by_prefix.get(word, ()):
                offer(token, _PREFIX)
        if scores:
            # A word that is (the start of) a known name is not an inflected form or a typo:
            # "pasvaldiba" must not be read as "Pasval-" + ending.
            return scores
        for dropped in range(1, _MAX_ENDING + 1):
            stem = word[:-dropped]
            if len(stem) < _MIN_STEM:
                break
            for token in self._tokens_by_prefix.get(stem, ()):
                offer(token, _STEM_BASE - _STEM_STEP * dropped)
        if len(word) >= _FUZZY_MIN_LENGTH:
            for token, ratio, _ in process.extract(
                word, self._vocabulary, scorer=fuzz.ratio, score_cutoff=_FUZZY_CUTOFF, limit=None
            ):
                share = (ratio - _FUZZY_CUTOFF) / (100.0 - _FUZZY_CUTOFF)
                offer(token, _FUZZY_LOW + (_FUZZY_HIGH - _FUZZY_LOW) * share)
        return scores


def load_municipalities(path: Path | str = DEFAULT_PATH) -> MunicipalityDirectory:
    """The municipality directory read from PATH (read once per path, then reused)."""
    return _load(Path(path).resolve())


@functools.cache
def _load(path: Path) -> MunicipalityDirectory:
    with path.open(encoding="utf-8") as stream:
        data = yaml.safe_load(stream)
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of municipalities")
    return MunicipalityDirectory(_parse(record, path, number) for number, record in enumerate(data))


def _parse(record: Any, path: Path, number: int) -> Municipality:
    """One validated Municipality from a YAML record."""
    where = f"{path}: municipality #{number + 1}"
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected a mapping")
    municipality_id = record.get("id")
    if not isinstance(municipality_id, str) or not _ID_PATTERN.fullmatch(municipality_id):
        raise ValueError(f"{where}: id must be a lowercase ASCII slug, got {municipality_id!r}")
    where = f"{path}: {municipality_id}"
    country = record.get("country")
    if country not in COUNTRIES:
        raise ValueError(f"{where}: country must be one of {COUNTRIES}, got {country!r}")
    aliases = record.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        raise ValueError(f"{where}: aliases must be a list of names")
    return Municipality(
        id=municipality_id,
        country=country,
        names=_per_language(record.get("names"), f"{where}: names"),
        short=_per_language(record.get("short"), f"{where}: short"),
        aliases=tuple(aliases),
    )


def _per_language(value: Any, where: str) -> Mapping[str, str]:
    """A read-only {language: text} mapping with a non-empty text for each of lt, lv, en."""
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected a mapping of {', '.join(LANGUAGES)}")
    for language in LANGUAGES:
        text = value.get(language)
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{where}: missing text for {language!r}")
    if extra := set(value) - set(LANGUAGES):
        raise ValueError(f"{where}: unknown languages {sorted(extra)}")
    return MappingProxyType({language: value[language] for language in LANGUAGES})


def _searchable_texts(municipality: Municipality) -> Iterator[str]:
    yield from municipality.names.values()
    yield from municipality.short.values()
    yield from municipality.aliases


def _tokens(text: str) -> list[str]:
    return _TOKEN_PATTERN.findall(fold(text))

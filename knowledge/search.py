"""Ranked search over the knowledge pack: which entry or call answers a member's question.

Every entry and call becomes one `Document` per language. Each language has two bm25s indexes:
one over the question variants (how people ask) and one over the answer text (plus a call's
title, programme, funder and who may apply, and the tags). A question is matched word by word:

1. Words are split on anything but letters and digits; a hyphenated word ("Local-y-mpact",
   "Covid-19") is one unit that also matches its joined form ("localympact", "covid19").
2. Stopwords of the language (and greetings, "I would like to know", ...) are dropped; question
   words ("when", "kada", "cik") are kept but weigh less and never count as a match on topic.
3. Each word gets two index terms: the stem of the word as written, folded (lower case, no
   diacritics), and the stem of the folded word. So `paraiškų` and `paraisku` meet on
   "paraisk", and `pašvaldības` and `pasvaldibas` on "pasvald". Lithuanian and English use the
   Snowball stemmers of PyStemmer; Latvian, which has none, uses `latvian_stem` below.
4. A query word typed without its diacritics is also read as the pack's own spellings of it
   ("savivaldybese" -> "savivaldybėse"); a word the index does not know at all is corrected to
   the closest word of the pack (rapidfuzz, 1 edit for 6-7 letters, 2 from 8 on); a Latvian
   word also finds the pack's compounds that start with it ("pilot" -> "pilotprojekts").
5. Names and their abbreviations (AVP, NVO/NGO/NVS, VVG/LAG, LPA, ES/EU, EEE/EEA, ...) and
   words that mean the same ("aim"/"goal", "e-pasts"/"e-mail") share a synonym term in
   documents and queries alike, so either one finds the other, in both directions. They come
   from the pack's vocabulary file (knowledge/vocabulary.py), which coordinators can edit.

Scores are in 0..1: the weighted share of the query's words a document matches. Each word
contributes its bm25s score in the document over the best score it gets in any document (a
match only in the answer counts `ANSWER_FACTOR`), weighted by its idf, so rare words count
more, and a programme's name counts `NAME_FACTOR` times more. Words the pack does not know
weigh like a rare word and match nothing, which keeps questions about the weather or football
far below `CONFIDENT_SCORE`. The best candidates are then scaled by how much of their closest
question variant the query covers (`VARIANT_FACTOR`). When the asker's own language gives no
confident answer, the other languages are tried too (a Latvian member may type a Lithuanian
programme's name) and the hit says which language matched.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Final, Literal

import bm25s
import numpy as np
import numpy.typing as npt
import Stemmer
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from knowledge.text import LANGUAGES, Lang, fold
from knowledge.vocabulary import EMPTY_VOCABULARY, Vocabulary

# bm25s sets its own logger to DEBUG when imported; its progress lines are not for our logs.
logging.getLogger("bm25s").setLevel(logging.WARNING)

if TYPE_CHECKING:
    from knowledge.pack import KnowledgePack


DocumentKind = Literal["entry", "call"]

# A result is confident when its score reaches this and it matches at least one topic word.
# Calibrated with bench/bench_search.py on tests/knowledge/eval_questions.yaml (209 questions in
# scope, 33 out of scope) against the real pack: it prints the scores of right and wrong top-1
# hits and of out-of-scope questions, and what each threshold from 0.30 to 0.75 would answer.
# Out-of-scope questions scored at most 0.33; right answers scored 0.51 or more in 90% of cases.
# 0.45 lies between the two, 0.12 above the highest out-of-scope score: there 187 of the 209
# in-scope questions get a confident right answer, 10 a confident wrong one (a sibling entry of
# the same programme, which no threshold separates) and no out-of-scope question is answered.
# Below the threshold the bot says it is not sure and offers the suggestions.
CONFIDENT_SCORE: Final = 0.45

# How much a word found only in the answer counts, against the same word in a question variant.
ANSWER_FACTOR: Final = 0.5
# How much a word counts when it was corrected from a typo.
CORRECTED_FACTOR: Final = 0.85
# Weight of question words ("when", "kada", "kur") against a topic word of the same rarity.
QUESTION_WORD_FACTOR: Final = 0.6
# Weight of a programme's or organisation's name (AVP, LPA, Local-y-mpact) against a word of
# the same rarity: a name is what a question is about, even when many entries share it.
NAME_FACTOR: Final = 2.5
# Share of the score that depends on how much of the closest question variant the query covers.
VARIANT_FACTOR: Final = 0.35
# A hit found through another language than the asker's scores this share of its own score.
CROSS_LANGUAGE_FACTOR: Final = 0.9

# BM25 parameters of the two fields. A document's question variants are indexed together, and
# how many there are says little about relevance: little length normalisation there.
_QUESTION_K1: Final = 1.0
_QUESTION_B: Final = 0.2
_ANSWER_K1: Final = 1.2
_ANSWER_B: Final = 0.75
# A Latvian query word also matches the pack's compounds that start with it ("pilot" finds
# "pilotprojekts", "pilotpašvaldība"), when there are at most this many of them.
_COMPOUNDS_KEPT: Final = 3
_MIN_COMPOUND_HEAD: Final = 5
# Words of the query that the pack does not know weigh as much as this quantile of the pack's
# word weights: an unknown word is usually a topic word (stopwords are gone by then).
_UNKNOWN_WORD_QUANTILE: Final = 0.75
# Index terms standing for a synonym group: a programme's or organisation's name, or a word.
_NAME_PREFIX: Final = "~"
_WORD_PREFIX: Final = "="
# At most this many documents are re-ranked by their closest question variant.
_RERANKED: Final = 20
# Analysed words remembered (all of the pack's, and the most recent of members' questions).
_WORDS_KEPT: Final = 200_000
# Words shorter than this are never corrected (one edit turns "teisę" into "teikė"); from
# _TWO_EDITS letters on, two edits are allowed.
_MIN_CORRECTED: Final = 6
_TWO_EDITS: Final = 8
# Typo corrections remembered per language (members repeat their typos; the bench does too).
_CORRECTIONS_KEPT: Final = 10_000

_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
_SPELLING = re.compile(r"[^\W\d_]+")


_fold_word = lru_cache(maxsize=_WORDS_KEPT)(fold)


@cache
def _stopwords(lang: Lang, asker: Lang) -> frozenset[str]:
    """Stopwords of LANG and of the asker's language (a query may mix the two)."""
    return STOPWORDS[lang] | STOPWORDS[asker]


def _words(text: str) -> frozenset[str]:
    """A stopword list written as one string, folded so that typing without diacritics works."""
    return frozenset(fold(word) for word in text.split())


# Dropped before matching: function words, greetings and the "please tell me" of a question.
STOPWORDS: Final[Mapping[str, frozenset[str]]] = {
    "lt": _words(
        """
        ir ar bei arba nei o bet tačiau todėl nes jog kad jei jeigu kai kol lyg tarsi nors
        kas koks kokia kokie kokios kokį kokią kokių kokiu kokiam kokiai kokio kokius kokias
        kokiais kokiomis kokiems kokioms kokiame kokioje kuris kuri kurie kurios kurį kurią
        kurių kuriam kuriai kurioje kuriame kuriuo kuria kurias kuriuos kuriais kuriomis
        kuriems kurioms kuo ko ką kame turi turiu turime turite
        yra buvo bus būti būtų esu esi esame esate tai tas ta tie tos to tą šis ši šie šios
        šį šią šio šios jis ji jie jos jo jų jam jai jiems joms aš tu mes jūs man tau mums
        jums mane tave mus jus mano tavo mūsų jūsų savo sau į iš su be per apie už nuo prie
        po dėl ant tarp pagal link virš prieš pas ne nėra taip jau dar tik net labai čia ten
        gal galbūt vis visi visa visos visų kažkas kažkur
        prašau ačiū sveiki sveikas labas laba labdien norėčiau noriu norime norėtume sužinoti
        žinoti pasakykite pasakyk papasakokite papasakok paaiškinkite paaiškink galite gali
        galiu galime galima būtų domina įdomu sekasi einasi laikaisi laikotės gerai
        """
    ),
    "lv": _words(
        """
        un vai ir bija būs būt ar par uz no pie iekš pēc pirms bez caur starp ap aiz pa pār
        priekš dēļ kas kurš kura kuri kuras kuru kurā kurās kurus kuram kurai kuriem kurām
        kam ko tas tā tie tās to
        tai šis šī šie šīs šo šā šai es tu mēs jūs viņš viņa viņi viņas man tev mums jums
        mani tevi mūs jūsu mans mana savs sava savu arī bet jo ja lai ka vēl jau tikai ne nav
        nē jā te tur šeit gan pat visi visas kāds kāda kādi kādas kādu kādā kādām kādiem
        kādus kādai kādam kādos kādās tiek
        tika tiks tikt lūdzu paldies sveiki labdien čau gribu gribētu vēlos vēlētos uzzināt
        zināt pastāstiet pastāsti pastāstīt varat varētu var varu varam sakiet saki iet
        klājas labi tieši
        """
    ),
    "en": _words(
        """
        a an the and or but if of to in on at by for with from about into as is are was were
        be been being am do does did done have has had can could would should will shall may
        might must i me my we us our you your he she it its they them their this that these
        those there here what which whom whose not no yes so than then too very just also any
        some all please thanks thank hello hi hey tell know want like wonder let im id dont
        whats doing going okay ok
        """
    ),
}

# Question words: they tell a deadline question from a "what is" one, but never a topic.
QUESTION_WORDS: Final[Mapping[str, frozenset[str]]] = {
    "lt": _words("kada kur kiek kaip kodėl kieno kam iki reikia reiškia"),
    "lv": _words("kad kur cik kāpēc līdz vajag nozīmē"),
    "en": _words("when where why how who much many until need mean means"),
}

# Latvian endings, longest first: verbal nouns (-šana), nouns in -ība with their case endings
# (so "sadarbība" meets "sadarboties"), definite adjectives (-ajam, -ajiem), verbs with the
# vowel of their conjugation (-oties/-ojas/-ot/-o, -īties/-īt, -ēt/-ē: "sadarbojas" meets
# "sadarboties", "piedalās" meets "piedalīties"), then noun, adjective and verb endings. Both the
# written and the folded spelling of each is listed, so "pašvaldībām" and "pasvaldibam" lose the
# same ending.
_LV_ENDINGS: Final = (
    *("šanās", "šanas", "šanai", "šanu", "šanā", "šana"),
    *("ībām", "ības", "ībai", "ību", "ībā", "ība"),
    *("ajiem", "ajām", "ajās", "ajai", "ajam", "ajos", "ajā"),
    *("oties", "īties", "ēties", "aties", "ojas", "ties"),
    *("iem", "ām", "ās", "ēm", "ēs", "īm", "īs", "ūm", "ūs", "os", "us", "is", "as", "es"),
    *("ot", "īt", "ēt", "am", "at", "em", "ai", "ei"),
    *("a", "e", "i", "u", "s", "š", "ā", "ē", "ī", "ū", "o", "t"),
)
_LV_SUFFIXES: Final = tuple(
    sorted({*_LV_ENDINGS, *(fold(ending) for ending in _LV_ENDINGS)}, key=lambda s: (-len(s), s))
)
_LV_MIN_STEM: Final = 3


def latvian_stem(word: str) -> str:
    """Strip one Latvian ending from lower-case WORD, keeping at least 3 letters.

    Latvian has no Snowball stemmer. This is a light stemmer in the spirit of Savoy's: no
    dictionary and no consonant alternation, just the longest matching ending of nouns (-a, -as,
    -ām, -ība, -ības, ...), adjectives (-ais, -ajam, -ajiem, ...), verbs (-t, -ties, -oties,
    -ojas, -ot, -ēt, -īt, -am, -at) and verbal nouns (-šana, -šanās). It works on folded words
    too: "pašvaldības" -> "pašvald", "pasvaldibas" -> "pasvald".
    """
    for suffix in _LV_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _LV_MIN_STEM:
            return word[: -len(suffix)]
    return word


@cache
def _snowball(lang: Lang) -> Stemmer.Stemmer:
    return Stemmer.Stemmer({"lt": "lithuanian", "en": "english"}[lang])


@lru_cache(maxsize=_WORDS_KEPT)
def _stem(lang: Lang, word: str) -> str:
    if lang == "lv":
        return latvian_stem(word)
    return str(_snowball(lang).stemWord(word))


@lru_cache(maxsize=_WORDS_KEPT)
def _word_terms(lang: Lang, word: str) -> tuple[str, ...]:
    """Index terms of one lower-case word: the folded stem, and the stem of the folded word."""
    if word.isdigit():
        return (word,)
    written = fold(_stem(lang, word))
    folded = _stem(lang, fold(word))
    return (written,) if written == folded else (written, folded)


@dataclass
class _Unit:
    """One word of a text (or one hyphenated group) with every index term it may match."""

    folded: str
    terms: set[str]
    question_word: bool = False
    corrected: bool = False
    plain: bool = True  # a single ordinary word: may be restored or corrected


@dataclass(frozen=True)
class _Phrase:
    group: str
    positions: tuple[frozenset[str], ...]


@dataclass(frozen=True)
class _Synonyms:
    """The synonym table compiled for one language: abbreviations and phrases by first term."""

    abbreviations: Mapping[str, str]
    phrases: Mapping[str, tuple[_Phrase, ...]]


@lru_cache(maxsize=16)
def _synonyms(vocabulary: Vocabulary, lang: Lang) -> _Synonyms:
    abbreviations: dict[str, str] = {}
    by_first: dict[str, list[_Phrase]] = {}
    groups = [
        *((_NAME_PREFIX + name, group) for name, group in vocabulary.names.items()),
        *((_WORD_PREFIX + name, group) for name, group in vocabulary.words.items()),
    ]
    for name, group in groups:
        for abbreviation in group.abbreviations:
            abbreviations[fold(abbreviation).replace("-", "")] = name
        for phrase in group.forms.get(lang, ()):
            units = _raw_units(phrase, lang, STOPWORDS[lang], vocabulary, with_abbreviations=False)
            if not units:
                continue
            compiled = _Phrase(name, tuple(frozenset(unit.terms) for unit in units))
            for term in compiled.positions[0]:
                by_first.setdefault(term, []).append(compiled)
    return _Synonyms(
        abbreviations=abbreviations,
        phrases={term: tuple(phrases) for term, phrases in by_first.items()},
    )


@dataclass(frozen=True)
class _Word:
    folded: str
    terms: frozenset[str]
    question_word: bool
    plain: bool


@lru_cache(maxsize=_WORDS_KEPT)
def _word(
    lang: Lang,
    written: str,
    stopwords: frozenset[str],
    vocabulary: Vocabulary,
    with_abbreviations: bool,
) -> _Word | None:
    """What one written word (or hyphenated group) of a text contributes; None for a stopword."""
    abbreviations = _synonyms(vocabulary, lang).abbreviations if with_abbreviations else {}
    folded = fold(written)
    parts = written.split("-")
    if len(parts) == 1:
        group = abbreviations.get(folded)
        if group is not None and (written.isupper() or folded not in stopwords):
            return _Word(folded, frozenset({folded, group}), False, False)
        if len(folded) < 2 or folded in stopwords:
            return None
        terms = frozenset(_word_terms(lang, written.lower()))
        return _Word(folded, terms, folded in QUESTION_WORDS[lang], True)
    joined = "".join(parts)
    found = set(_word_terms(lang, joined.lower()))
    group = abbreviations.get(fold(joined))  # "Local-y-mpact" written with or without hyphens
    if group is not None:
        found.add(group)
    for part in parts:
        folded_part = fold(part)
        if folded_part in abbreviations:
            found |= {folded_part, abbreviations[folded_part]}
        elif len(folded_part) > 1 and folded_part not in stopwords:
            found.update(_word_terms(lang, part.lower()))
    return _Word(folded, frozenset(found), False, False)


def _raw_units(
    text: str,
    lang: Lang,
    stopwords: frozenset[str],
    vocabulary: Vocabulary,
    *,
    with_abbreviations: bool = True,
) -> list[_Unit]:
    """The words of TEXT as units, stopwords dropped, abbreviations marked with their group."""
    units: list[_Unit] = []
    for written in _WORD.findall(text):
        word = _word(lang, written, stopwords, vocabulary, with_abbreviations)
        if word is not None:
            units.append(_Unit(word.folded, set(word.terms), word.question_word, plain=word.plain))
    return units


def _add_synonyms(units: list[_Unit], lang: Lang, vocabulary: Vocabulary) -> None:
    """Give each word of a recognised long form ("Atsparios visuomenės programa") its group."""
    phrases = _synonyms(vocabulary, lang).phrases
    for start, unit in enumerate(units):
        if unit.terms.isdisjoint(phrases):
            continue
        candidates = {phrase for term in unit.terms for phrase in phrases.get(term, ())}
        for phrase in sorted(candidates, key=lambda p: (p.group, len(p.positions))):
            window = units[start : start + len(phrase.positions)]
            if len(window) == len(phrase.positions) and all(
                position & other.terms
                for position, other in zip(phrase.positions, window, strict=True)
            ):
                for other in window:
                    other.terms.add(phrase.group)


def _text_units(text: str, lang: Lang, vocabulary: Vocabulary) -> list[_Unit]:
    units = _raw_units(text, lang, STOPWORDS[lang], vocabulary)
    _add_synonyms(units, lang, vocabulary)
    return units


def _text_terms(text: str, lang: Lang, vocabulary: Vocabulary) -> list[str]:
    return [term for unit in _text_units(text, lang, vocabulary) for term in sorted(unit.terms)]


@dataclass(frozen=True)
class Document:
    """What is indexed for one entry or call in one language."""

    id: str
    kind: DocumentKind
    lang: Lang
    questions: Sequence[str]
    answer: str
    tags: Sequence[str] = ()


@dataclass(frozen=True)
class Hit:
    """One matching entry or call.

    `question` is the question variant closest to the query, in the asker's language (for a
    suggestion button); `lang` is the language whose text matched.
    """

    id: str
    kind: DocumentKind
    score: float
    question: str
    lang: Lang


@dataclass(frozen=True)
class SearchResult:
    """The best hit, whether it is good enough to answer with, and the closest alternatives.

    `suggestions` holds up to `limit` hits in order, the best first; `score` is the best hit's.
    """

    best: Hit | None
    confident: bool
    score: float
    suggestions: list[Hit] = field(default_factory=list)


def documents_from_pack(pack: KnowledgePack) -> list[Document]:
    """One document per entry or call and language of PACK."""
    documents: list[Document] = []
    for entry in pack.entries:
        for lang in LANGUAGES:
            documents.append(
                Document(
                    id=entry.id,
                    kind="entry",
                    lang=lang,
                    questions=entry.questions.get(lang, ()),
                    answer=entry.answer.get(lang, ""),
                    tags=entry.tags,
                )
            )
    for call in pack.calls:
        for lang in LANGUAGES:
            title = call.title.get(lang, "")
            texts = (title, call.programme.get(lang, ""), call.funder.get(lang, ""))
            documents.append(
                Document(
                    id=call.id,
                    kind="call",
                    lang=lang,
                    questions=(*call.questions.get(lang, ()), *((title,) if title else ())),
                    answer=" ".join((*texts, call.who_may_apply.get(lang, ""))),
                    tags=call.tags,
                )
            )
    return documents


_FloatArray = npt.NDArray[np.float32]


class _Field:
    """One bm25s index (question variants or answers) and each term's best score in it."""

    def __init__(self, corpus: list[list[str]], *, k1: float, b: float) -> None:
        self.vocabulary: dict[str, int] = {}
        self.data: _FloatArray = np.zeros(0, dtype=np.float32)
        self.indices: npt.NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self.indptr: npt.NDArray[np.int64] = np.zeros(1, dtype=np.int64)
        if any(corpus):  # bm25s cannot index a corpus without a single word
            model = bm25s.BM25(k1=k1, b=b)
            model.index(corpus, create_empty_token=False, show_progress=False)
            self.vocabulary = model.vocab_dict
            # The eager index: one column of precomputed BM25 scores per term (CSC layout).
            self.data = model.scores["data"]
            self.indices = model.scores["indices"]
            self.indptr = model.scores["indptr"]
        self.best = np.zeros(len(self.indptr) - 1, dtype=np.float32)
        filled = np.flatnonzero(np.diff(self.indptr) > 0)
        if filled.size:
            self.best[filled] = np.maximum.reduceat(self.data, self.indptr[filled])

    def share(self, term: str, out: _FloatArray, factor: float) -> None:
        """Raise OUT to FACTOR times TERM's bm25s score in each document over its best score."""
        token = self.vocabulary.get(term)
        if token is None:
            return
        start, end = int(self.indptr[token]), int(self.indptr[token + 1])
        rows = self.indices[start:end]
        shares = self.data[start:end] * np.float32(factor / self.best[token])
        out[rows] = np.maximum(out[rows], shares)


def _idf(size: int, document_frequency: npt.NDArray[np.int64]) -> _FloatArray:
    """BM25's (Lucene's) inverse document frequency, the formula bm25s uses."""
    frequency = document_frequency.astype(np.float64)
    return np.log1p((size - frequency + 0.5) / (frequency + 0.5)).astype(np.float32)


@dataclass(frozen=True)
class _Ranking:
    scores: _FloatArray
    topic_matches: npt.NDArray[np.int_]


# A question variant: the index terms of each of its words, with the word's share of its weight.
_Variant = tuple[tuple[frozenset[str], float], ...]


class _LanguageIndex:
    """The documents of one language, their two bm25s indexes and their spelling vocabulary."""

    def __init__(self, lang: Lang, documents: list[Document], vocabulary: Vocabulary) -> None:
        self.lang = lang
        self.documents = documents
        self.vocabulary = vocabulary
        self.position = {(doc.kind, doc.id): index for index, doc in enumerate(documents)}
        self.folded_questions = [tuple(fold(q) for q in doc.questions) for doc in documents]
        asked = [
            [_text_units(question, lang, vocabulary) for question in doc.questions]
            for doc in documents
        ]
        question_terms = [
            [term for units in variants for unit in units for term in sorted(unit.terms)]
            for variants in asked
        ]
        answer_terms = [
            _text_terms(" \n ".join((doc.answer, *doc.tags)), lang, vocabulary) for doc in documents
        ]
        self.questions = _Field(question_terms, k1=_QUESTION_K1, b=_QUESTION_B)
        self.answers = _Field(answer_terms, k1=_ANSWER_K1, b=_ANSWER_B)
        # A word's weight is its idf over whole documents (questions and answer together).
        frequency: Counter[str] = Counter()
        for in_questions, in_answer in zip(question_terms, answer_terms, strict=True):
            frequency.update({*in_questions, *in_answer})
        terms = sorted(frequency)
        idf = _idf(len(documents), np.array([frequency[t] for t in terms], dtype=np.int64))
        self.weights = dict(zip(terms, idf.tolist(), strict=True))
        self.words = [term for term in terms if not term.startswith((_NAME_PREFIX, _WORD_PREFIX))]
        self.unknown_weight = float(np.quantile(idf, _UNKNOWN_WORD_QUANTILE)) if terms else 1.0
        self.variants = [tuple(self._variant(units) for units in variants) for variants in asked]
        # The pack's own spellings of each folded word, most frequent first.
        written: Counter[str] = Counter()
        for doc in documents:
            for text in (*doc.questions, doc.answer):
                written.update(part.lower() for part in _SPELLING.findall(text))
        spellings: dict[str, Counter[str]] = {}
        stopwords = STOPWORDS[lang]
        for word, count in written.items():
            folded = _fold_word(word)
            if len(folded) > 1 and folded not in stopwords:
                spellings.setdefault(folded, Counter())[word] += count
        self.spellings = {
            folded: tuple(sorted(counts, key=lambda word: (-counts[word], word)))
            for folded, counts in spellings.items()
        }
        # The pack's words by length, most frequent first, for typo corrections.
        total = {folded: counts.total() for folded, counts in spellings.items()}
        ranked = sorted(spellings, key=lambda word: (-total[word], word))
        self.frequency_rank = {word: rank for rank, word in enumerate(ranked)}
        self.dictionary: dict[int, list[str]] = {}
        for word in ranked:
            self.dictionary.setdefault(len(word), []).append(word)
        self._corrections: dict[str, str | None] = {}

    def _variant(self, units: list[_Unit]) -> _Variant:
        weights = [self._weight(unit) for unit in units]
        size = sum(weights)
        if size <= 0:
            return ()
        return tuple(
            (frozenset(unit.terms), weight / size)
            for unit, weight in zip(units, weights, strict=True)
        )

    def _weight(self, unit: _Unit) -> float:
        """How much a word counts: its idf (an unknown word's is high), more for a name."""
        known = [self.weights[term] for term in unit.terms if term in self.weights]
        weight = max(known) if known else self.unknown_weight
        if any(term.startswith(_NAME_PREFIX) for term in unit.terms):
            weight *= NAME_FACTOR
        return weight * QUESTION_WORD_FACTOR if unit.question_word else weight

    def knows(self, term: str) -> bool:
        return term in self.questions.vocabulary or term in self.answers.vocabulary

    def _correction(self, folded: str) -> str | None:
        """The pack's word closest to an unknown FOLDED word, or None when none is close."""
        if folded in self._corrections:
            return self._corrections[folded]
        correction = None
        if len(folded) >= _MIN_CORRECTED and folded.isalpha():
            edits = 1 if len(folded) < _TWO_EDITS else 2
            closest: tuple[int, int] | None = None  # (edits, rank of the word in the pack)
            # Only words whose length is within the allowed edits can be close enough.
            for length in range(len(folded) - edits, len(folded) + edits + 1):
                found = process.extractOne(
                    folded,
                    self.dictionary.get(length, ()),
                    scorer=OSA.distance,  # Levenshtein plus swapped neighbours ("tpyo")
                    score_cutoff=edits,
                )
                if found is not None:
                    key = (int(found[1]), self.frequency_rank[found[0]])
                    if closest is None or key < closest:
                        closest, correction = key, str(found[0])
        if len(self._corrections) < _CORRECTIONS_KEPT:
            self._corrections[folded] = correction
        return correction

    def query_units(self, query: str, stopwords: frozenset[str]) -> list[_Unit]:
        """The units of a query: pack spellings restored, typos corrected, synonyms added."""
        units = _raw_units(query, self.lang, stopwords, self.vocabulary)
        for unit in units:
            if not unit.plain:
                continue
            for spelling in self.spellings.get(unit.folded, ()):
                unit.terms.update(_word_terms(self.lang, spelling))
            if any(self.knows(term) for term in unit.terms):
                continue
            correction = self._correction(unit.folded)
            if correction is not None:
                unit.corrected = True
                for spelling in self.spellings[correction]:
                    unit.terms.update(_word_terms(self.lang, spelling))
                group = _synonyms(self.vocabulary, self.lang).abbreviations.get(correction)
                if group is not None:
                    unit.terms.add(group)
        if self.lang == "lv":
            for unit in units:
                if unit.plain:
                    unit.terms.update(*(self._compounds(term) for term in list(unit.terms)))
        _add_synonyms(units, self.lang, self.vocabulary)
        return units

    def _compounds(self, head: str) -> list[str]:
        """The pack's words that start with HEAD, if there are only a few ("pilot" -> ...)."""
        if len(head) < _MIN_COMPOUND_HEAD:
            return []
        start = bisect.bisect_right(self.words, head)
        found = []
        for word in self.words[start : start + _COMPOUNDS_KEPT + 1]:
            if not word.startswith(head):
                break
            found.append(word)
        return found if len(found) <= _COMPOUNDS_KEPT else []

    def rank(self, units: list[_Unit]) -> _Ranking:
        """Every document's score for the query UNITS, and how many topic words each matched."""
        size = len(self.documents)
        total = np.zeros(size, dtype=np.float32)
        topic_matches = np.zeros(size, dtype=np.int_)
        weights = [self._weight(unit) for unit in units]
        for unit, weight in zip(units, weights, strict=True):
            shares = np.zeros(size, dtype=np.float32)
            factor = CORRECTED_FACTOR if unit.corrected else 1.0
            for term in unit.terms:
                self.questions.share(term, shares, factor)
                self.answers.share(term, shares, factor * ANSWER_FACTOR)
            if not unit.question_word:
                topic_matches += shares > 0
            total += np.float32(weight) * shares
        weight_sum = sum(weights)
        if weight_sum > 0:
            total /= np.float32(weight_sum)
        return _Ranking(self._by_closest_variant(total, units), topic_matches)

    def _by_closest_variant(self, scores: _FloatArray, units: list[_Unit]) -> _FloatArray:
        """Scale SCORES by how much of a document's closest question variant the query covers.

        Of two documents matching the same query words, the one with a question variant made of
        little else ("AVP stages" for "what are the AVP stages") is the better answer. Only the
        documents that can still reach the top are looked at; the rest get the lowest factor.
        """
        final = scores * np.float32(1 - VARIANT_FACTOR)
        best = float(scores.max(initial=0.0))
        if best <= 0:
            return final
        asked: set[str] = set().union(*(unit.terms for unit in units))
        reachable = np.flatnonzero(scores >= best * (1 - VARIANT_FACTOR))
        for position in reachable[np.argsort(-scores[reachable], kind="stable")][:_RERANKED]:
            covered = max(
                (
                    sum(share for terms, share in variant if not terms.isdisjoint(asked))
                    for variant in self.variants[position]
                ),
                default=0.0,
            )
            final[position] = scores[position] * np.float32(1 - VARIANT_FACTOR * (1 - covered))
        return final

    def closest_question(self, position: int, query: str) -> tuple[int, str]:
        """The question variant of a document most like QUERY, with its position."""
        variants = self.folded_questions[position]
        if not variants:
            return 0, ""
        found = process.extractOne(fold(query), variants, scorer=fuzz.token_set_ratio)
        index = 0 if found is None else int(found[2])
        return index, self.documents[position].questions[index]


@dataclass(frozen=True)
class _Candidate:
    lang: Lang
    position: int
    score: float
    topic_matches: int
    # Every topic word of the query was corrected from a typo: a guess, offered, never answered.
    guessed: bool = False


class SearchIndex:
    """Search over the knowledge pack in lt, lv and en; build it with `SearchIndex.build`."""

    def __init__(self, languages: Mapping[Lang, _LanguageIndex]) -> None:
        self._languages = dict(languages)

    @classmethod
    def build(
        cls, documents: Iterable[Document], vocabulary: Vocabulary = EMPTY_VOCABULARY
    ) -> SearchIndex:
        """Index DOCUMENTS (at most one per kind, id and language) with VOCABULARY's synonyms."""
        by_lang: dict[Lang, dict[tuple[str, str], Document]] = {}
        for doc in documents:
            if doc.lang not in LANGUAGES:
                raise ValueError(f"document {doc.id!r}: unknown language {doc.lang!r}")
            by_lang.setdefault(doc.lang, {})[(doc.id, doc.kind)] = doc
        return cls(
            {
                lang: _LanguageIndex(lang, [docs[key] for key in sorted(docs)], vocabulary)
                for lang, docs in sorted(by_lang.items())
            }
        )

    @classmethod
    def from_pack(cls, pack: KnowledgePack) -> SearchIndex:
        """Index every entry and call of PACK."""
        return cls.build(documents_from_pack(pack), pack.vocabulary)

    def search(self, query: str, lang: Lang, *, limit: int = 3) -> SearchResult:
        """The entries and calls that best answer QUERY asked in LANG, best first."""
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r}")
        own = self._candidates(query, lang, lang, limit)
        candidates = own
        if not (own and self._is_confident(own[0])):
            for other in LANGUAGES:
                if other != lang:
                    candidates = candidates + self._candidates(query, other, lang, limit)
        best_by_key: dict[tuple[str, str], _Candidate] = {}
        for candidate in candidates:
            doc = self._languages[candidate.lang].documents[candidate.position]
            key = (doc.id, doc.kind)
            known = best_by_key.get(key)
            if known is None or candidate.score > known.score:
                best_by_key[key] = candidate
        ordered = sorted(
            best_by_key.items(),
            key=lambda item: (-item[1].score, item[0], LANGUAGES.index(item[1].lang)),
        )[: max(limit, 1)]
        hits = [self._hit(candidate, query, lang) for _, candidate in ordered]
        if not hits:
            return SearchResult(best=None, confident=False, score=0.0, suggestions=[])
        confident = self._is_confident(ordered[0][1])
        return SearchResult(
            best=hits[0], confident=confident, score=hits[0].score, suggestions=hits[:limit]
        )

    @staticmethod
    def _is_confident(candidate: _Candidate) -> bool:
        return (
            candidate.score >= CONFIDENT_SCORE
            and candidate.topic_matches >= 1
            and not candidate.guessed
        )

    def _candidates(self, query: str, lang: Lang, asker: Lang, limit: int) -> list[_Candidate]:
        index = self._languages.get(lang)
        if index is None:
            return []
        units = index.query_units(query, _stopwords(lang, asker))
        if all(unit.question_word for unit in units):
            return []  # nothing but "how", "kada", ...: no topic to look for
        ranking = index.rank(units)
        factor = 1.0 if lang == asker else CROSS_LANGUAGE_FACTOR
        # Round so that documents equal up to float noise tie, and ties go by id (stable sort).
        scores = np.round(ranking.scores.astype(np.float64) * factor, 6)
        order = np.argsort(-scores, kind="stable")[: max(limit, 1)]
        topic = [unit for unit in units if not unit.question_word]
        guessed = bool(topic) and all(unit.corrected for unit in topic)
        return [
            _Candidate(lang, int(pos), float(scores[pos]), int(ranking.topic_matches[pos]), guessed)
            for pos in order
            if scores[pos] > 0
        ]

    def _hit(self, candidate: _Candidate, query: str, asker: Lang) -> Hit:
        index = self._languages[candidate.lang]
        doc = index.documents[candidate.position]
        variant, question = index.closest_question(candidate.position, query)
        own = self._languages.get(asker)
        own_position = None if own is None else own.position.get((doc.kind, doc.id))
        if own is not None and own_position is not None and candidate.lang != asker:
            questions = own.documents[own_position].questions
            if questions:
                question = questions[variant] if variant < len(questions) else questions[0]
        return Hit(
            id=doc.id, kind=doc.kind, score=candidate.score, question=question, lang=candidate.lang
        )

"""Guessing the language a question is written in, when it is written clearly in one.

A small naive Bayes classifier over words and pairs of words, compared without diacritics (so
`paraiskas` counts like `paraiškas`), learnt from the knowledge pack's question variants and
answers in lt, lv and en and from each language's function words. Letters only one language
has count on top (ą, ę, ė, į, ų are Lithuanian; ā, ē, ģ, ī, ķ, ļ, ņ are Latvian). Words that
none of the texts has (a name, a typo) say nothing.

The guess is "unclear" (None) unless the best language leads the next one by `CLEAR_MARGIN`
(natural log of the odds): the caller then keeps the member's own language. Measured on
tests/knowledge/eval_questions.yaml by bench/bench_search.py.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from knowledge.search import QUESTION_WORDS, STOPWORDS
from knowledge.text import LANGUAGES, Lang, fold

if TYPE_CHECKING:
    from knowledge.pack import KnowledgePack

_LETTERS: Final[Mapping[Lang, frozenset[str]]] = {
    "lt": frozenset("ąęėįų"),
    "lv": frozenset("āēģīķļņ"),
    "en": frozenset(),
}
# A letter only one language has weighs this much (in log odds) for that language.
_LETTER_WEIGHT: Final = 3.0
# How far ahead the best language must be to count as clear (odds of about 20 to 1).
CLEAR_MARGIN: Final = 3.0
# The function words of each language count as if they were seen this many times.
_FUNCTION_WORD_COUNT: Final = 20
_WORD: Final = re.compile(r"[^\W\d_]+")


def _features(text: str) -> list[str]:
    """The folded words of TEXT and each pair of neighbouring words."""
    words = [fold(word) for word in _WORD.findall(text.lower())]
    words = [word for word in words if len(word) > 1]
    return [*words, *(f"{first} {second}" for first, second in itertools.pairwise(words))]


@dataclass(frozen=True)
class LanguageGuesser:
    """Log probabilities of each feature per language, learnt from texts in each language."""

    log_probability: Mapping[Lang, Mapping[str, float]]
    log_unseen: Mapping[Lang, float]

    @classmethod
    def learn(cls, texts: Mapping[Lang, Iterable[str]]) -> LanguageGuesser:
        """A guesser learnt from TEXTS of each language and the languages' function words."""
        counts: dict[Lang, Counter[str]] = {lang: Counter() for lang in LANGUAGES}
        for lang in LANGUAGES:
            for text in texts.get(lang, ()):
                counts[lang].update(_features(text))
            for word in STOPWORDS[lang] | QUESTION_WORDS[lang]:
                counts[lang][word] += _FUNCTION_WORD_COUNT
        vocabulary = set().union(*counts.values())
        size = len(vocabulary) or 1
        log_probability: dict[Lang, dict[str, float]] = {}
        log_unseen: dict[Lang, float] = {}
        for lang in LANGUAGES:
            total = counts[lang].total() + size  # add-one smoothing
            log_probability[lang] = {
                feature: math.log((count + 1) / total) for feature, count in counts[lang].items()
            }
            log_unseen[lang] = math.log(1 / total)
        return cls(log_probability, log_unseen)

    @classmethod
    def from_pack(cls, pack: KnowledgePack) -> LanguageGuesser:
        """A guesser learnt from the question variants and answers of PACK."""
        texts: dict[Lang, list[str]] = {lang: [] for lang in LANGUAGES}
        for entry in pack.entries:
            for lang in LANGUAGES:
                texts[lang] += [*entry.questions.get(lang, ()), entry.answer.get(lang, "")]
        for call in pack.calls:
            for lang in LANGUAGES:
                texts[lang] += [*call.questions.get(lang, ()), call.title.get(lang, "")]
        return cls.learn(texts)

    def scores(self, text: str) -> dict[Lang, float]:
        """Each language's log likelihood of TEXT, from the features any language knows."""
        scores = dict.fromkeys(LANGUAGES, 0.0)
        for feature in _features(text):
            if not any(feature in self.log_probability[lang] for lang in LANGUAGES):
                continue  # nobody knows it: a name or a typo, no evidence
            for lang in LANGUAGES:
                scores[lang] += self.log_probability[lang].get(feature, self.log_unseen[lang])
        lowered = text.lower()
        for lang in LANGUAGES:
            scores[lang] += _LETTER_WEIGHT * sum(ch in _LETTERS[lang] for ch in lowered)
        return scores

    def guess(self, text: str) -> Lang | None:
        """The language TEXT is clearly written in; None when it is not clear."""
        scores = self.scores(text)
        best, second = sorted(LANGUAGES, key=lambda lang: -scores[lang])[:2]
        if scores[best] - scores[second] < CLEAR_MARGIN:
            return None
        return best

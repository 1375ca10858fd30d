"""Guessing the language of a question typed without saying which (`civicbot ask`).

Letters only one of the languages has count most (ą, ę, ė, į, ų are Lithuanian; ā, ē, ģ, ī,
ķ, ļ, ņ are Latvian), then short words only one language uses ("kada", "iki" / "kad", "līdz",
"vai" / "when", "the"), compared without diacritics so that `paraiskas` and `kada` still count.
Nothing distinctive (or a tie) means "unclear": the caller decides (the knowledge base asks the
search which language's questions match best).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from knowledge.search import QUESTION_WORDS, STOPWORDS
from knowledge.text import LANGUAGES, Lang, fold

_LETTERS: Final[Mapping[Lang, frozenset[str]]] = {
    "lt": frozenset("ąęėįų"),
    "lv": frozenset("āēģīķļņ"),
    "en": frozenset(),
}
_LETTER_WEIGHT: Final = 3
_WORD: Final = re.compile(r"[^\W\d_]+")


def _distinctive_words() -> dict[Lang, frozenset[str]]:
    """Each language's stopwords and question words that the other two do not use."""
    words = {lang: STOPWORDS[lang] | QUESTION_WORDS[lang] for lang in LANGUAGES}
    return {
        lang: frozenset(
            word
            for word in words[lang]
            if not any(word in words[other] for other in LANGUAGES if other != lang)
        )
        for lang in LANGUAGES
    }


_WORDS: Final = _distinctive_words()


def detect_language(text: str) -> Lang | None:
    """The language (lt, lv or en) TEXT is most likely written in; None when unclear."""
    lowered = text.lower()
    scores = dict.fromkeys(LANGUAGES, 0)
    for lang in LANGUAGES:
        scores[lang] += _LETTER_WEIGHT * sum(ch in _LETTERS[lang] for ch in lowered)
    for word in _WORD.findall(lowered):
        folded = fold(word)
        for lang in LANGUAGES:
            if folded in _WORDS[lang]:
                scores[lang] += 1
    best = max(scores.values())
    leaders = [lang for lang in LANGUAGES if scores[lang] == best]
    return leaders[0] if best > 0 and len(leaders) == 1 else None

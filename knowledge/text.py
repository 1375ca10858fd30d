"""The three languages, and text normalisation shared by every search in the bot."""

import unicodedata
from typing import Final, Literal, TypeGuard

Lang = Literal["lt", "lv", "en"]
# The languages of everything a person reads, in the order they are offered.
LANGUAGES: Final[tuple[Lang, ...]] = ("lt", "lv", "en")

# Letters that do not decompose into a base letter plus a combining mark.
_SPECIAL = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe"})


def is_lang(value: object) -> TypeGuard[Lang]:
    """Whether VALUE is one of the three languages' codes."""
    return value in LANGUAGES


# Characters below this are remembered by the table (the alphabets and marks of our languages
# and their neighbours); the rest are looked up each time, so odd input cannot make it grow.
_REMEMBERED_BELOW: Final = 0x2000


class _CombiningMarks(dict[int, int | None]):
    """A translation table deleting combining marks, filled in as characters are met."""

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.combining(chr(code)) else code
        if code < _REMEMBERED_BELOW:
            self[code] = kept
        return kept


_COMBINING_MARKS: Final = _CombiningMarks()


def fold(text: str) -> str:
    """Lower-case TEXT and strip diacritics: 'Paraiškų Pašvaldība' -> 'paraisku pasvaldiba'."""
    lowered = text.casefold()
    if lowered.isascii():
        return lowered
    return unicodedata.normalize("NFKD", lowered.translate(_SPECIAL)).translate(_COMBINING_MARKS)

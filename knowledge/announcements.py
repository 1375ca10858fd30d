"""Announcements, as rules: who is in an audience, which version each recipient reads, and the
words of a delivery report. Nothing here knows Telegram or the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from knowledge.i18n import translator
from knowledge.text import LANGUAGES, Lang


@dataclass(frozen=True)
class Audience:
    """Who an announcement is for. Every filter given must hold (AND).

    PEOPLE and GROUPS say which kinds of chat; MUNICIPALITIES, LANGUAGE and CALL apply to both;
    ANSWER (questionnaire, question, option) to people only.
    """

    people: bool = True
    groups: bool = False
    municipalities: tuple[str, ...] = ()
    language: Lang | None = None
    call: str | None = None
    answer: tuple[str, str, str] | None = None

    def as_json(self) -> dict[str, Any]:
        """As stored with the announcement."""
        return {
            "people": self.people,
            "groups": self.groups,
            "municipalities": list(self.municipalities),
            "language": self.language,
            "call": self.call,
            "answer": list(self.answer) if self.answer else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Audience:
        """From what `as_json` stored (missing keys take their defaults)."""
        answer = data.get("answer")
        language = data.get("language")
        return cls(
            people=bool(data.get("people", True)),
            groups=bool(data.get("groups", False)),
            municipalities=tuple(data.get("municipalities") or ()),
            language=language if language in LANGUAGES else None,
            call=data.get("call") or None,
            answer=(str(answer[0]), str(answer[1]), str(answer[2])) if answer else None,
        )


@dataclass(frozen=True)
class Candidate:
    """A chat that might receive an announcement, with what the filters look at."""

    chat_id: int
    lang: Lang
    municipality: str | None
    follows_call: bool = False
    answers: Mapping[str, Any] = field(default_factory=dict)  # questionnaire answers (people)


def matches(
    audience: Audience, candidate: Candidate, *, questionnaire_answers: bool = True
) -> bool:
    """Whether CANDIDATE is in AUDIENCE."""
    is_group = candidate.chat_id < 0
    if (is_group and not audience.groups) or (not is_group and not audience.people):
        return False
    if audience.municipalities and candidate.municipality not in audience.municipalities:
        return False
    if audience.language is not None and candidate.lang != audience.language:
        return False
    if audience.call is not None and not candidate.follows_call:
        return False
    if audience.answer is not None:
        if is_group or not questionnaire_answers:
            return False
        _, question, option = audience.answer
        given = candidate.answers.get(question)
        if isinstance(given, list):
            return option in given
        return given == option
    return True


def version_for(lang: Lang, versions: Sequence[str], default: Lang) -> str:
    """The version a reader of LANG gets: theirs, else DEFAULT's, else the first added."""
    if lang in versions:
        return lang
    if default in versions:
        return default
    return versions[0]


def count_by_language(chosen: Iterable[str]) -> dict[str, int]:
    """How many recipients read each version."""
    counts: dict[str, int] = {}
    for lang in chosen:
        counts[lang] = counts.get(lang, 0) + 1
    return counts


@dataclass(frozen=True)
class Progress:
    """Where a delivery stands: counts by outcome, and how fast it goes."""

    sent: int
    failed: int
    blocked: int
    waiting: int
    cancelled: int = 0
    redelivered: int = 0

    @property
    def done(self) -> bool:
        """Whether nothing is left to send."""
        return self.waiting == 0


def progress_lines(progress: Progress, lang: Lang, *, left: timedelta | None) -> list[str]:
    """The report's lines in LANG: sent, failed, blocked, waiting, and the time left."""
    _ = translator(lang).gettext
    lines = [
        _("Sent: {count}").format(count=progress.sent),
        _("Failed: {count}").format(count=progress.failed),
        _("Blocked the bot: {count}").format(count=progress.blocked),
        _("Waiting: {count}").format(count=progress.waiting),
    ]
    if progress.cancelled:
        lines.append(
            _("Not sent (cancelled, opted out or unreachable): {count}").format(
                count=progress.cancelled
            )
        )
    if progress.redelivered:
        lines.append(
            _("Sent again after a restart (may have arrived twice): {count}").format(
                count=progress.redelivered
            )
        )
    if left is not None and not progress.done:
        minutes = max(1, round(left.total_seconds() / 60))
        lines.append(
            translator(lang)
            .ngettext("About {count} minute left.", "About {count} minutes left.", minutes)
            .format(count=minutes)
        )
    return lines

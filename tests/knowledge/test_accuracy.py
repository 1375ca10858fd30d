"""Accuracy of knowledge.search on the real knowledge pack, measured with eval_questions.yaml.

The eval set holds questions written the way members ask (paraphrases, no diacritics, typos) and
questions the bot must not answer. These tests keep the search from silently getting worse when
the engine or the pack changes; bench/bench_search.py prints the same figures in detail.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from knowledge.language import LanguageGuesser
from knowledge.municipalities import load_municipalities
from knowledge.pack import KnowledgePack, load_pack
from knowledge.search import SearchIndex
from knowledge.text import LANGUAGES, Lang, fold

PACK = Path(__file__).resolve().parents[2] / "knowledge" / "pack"
EVAL_QUESTIONS = Path(__file__).with_name("eval_questions.yaml")

MIN_TOP1_ACCURACY = 0.9
MIN_REFUSAL_RATE = 0.85
# Of the questions in scope, at most this share may get a confident but wrong answer.
MAX_CONFIDENT_WRONG = 0.1
# The language of a question: guessed clearly and rightly at least this often, never wrongly.
MIN_LANGUAGE_GUESSED = 0.9


@dataclass(frozen=True)
class EvalQuestion:
    lang: Lang
    q: str
    expect: str | None


@pytest.fixture(scope="module")
def pack() -> KnowledgePack:
    return load_pack(PACK, municipalities=load_municipalities())


@pytest.fixture(scope="module")
def index(pack: KnowledgePack) -> SearchIndex:
    return SearchIndex.from_pack(pack)


@pytest.fixture(scope="module")
def questions() -> list[EvalQuestion]:
    records = yaml.safe_load(EVAL_QUESTIONS.read_text(encoding="utf-8"))
    return [EvalQuestion(r["lang"], str(r["q"]), r["expect"]) for r in records]


def _normalised(text: str) -> str:
    return " ".join("".join(ch if ch.isalnum() else " " for ch in fold(text)).split())


def test_eval_set_is_large_and_refers_to_the_pack(
    questions: list[EvalQuestion], pack: KnowledgePack
) -> None:
    assert len(questions) >= 150
    assert {q.lang for q in questions} == set(LANGUAGES)
    for lang in LANGUAGES:
        assert sum(q.lang == lang and q.expect is not None for q in questions) >= 35, lang
    assert sum(q.expect is None for q in questions) >= 25
    known = {entry.id for entry in pack.entries} | {call.id for call in pack.calls}
    unknown = sorted({q.expect for q in questions if q.expect is not None} - known)
    assert unknown == []


def test_eval_questions_are_not_copies_of_the_packs_questions(
    questions: list[EvalQuestion], pack: KnowledgePack
) -> None:
    question_lists = [entry.questions for entry in pack.entries]
    question_lists += [call.questions for call in pack.calls]
    asked = {
        _normalised(variant)
        for questions in question_lists
        for variants in questions.values()
        for variant in variants
    }
    copies = [q.q for q in questions if _normalised(q.q) in asked]
    assert copies == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_top1_accuracy(index: SearchIndex, questions: list[EvalQuestion], lang: Lang) -> None:
    asked = [q for q in questions if q.lang == lang and q.expect is not None]
    misses = []
    for question in asked:
        best = index.search(question.q, lang).best
        found = best.id if best is not None else None
        if found != question.expect:
            misses.append(f"{question.q!r}: expected {question.expect}, got {found}")
    accuracy = 1 - len(misses) / len(asked)
    assert accuracy >= MIN_TOP1_ACCURACY, "\n".join([f"top-1 accuracy {accuracy:.1%}", *misses])


def test_out_of_scope_questions_are_refused(
    index: SearchIndex, questions: list[EvalQuestion]
) -> None:
    off_topic = [q for q in questions if q.expect is None]
    answered = [q.q for q in off_topic if index.search(q.q, q.lang).confident]
    refusal = 1 - len(answered) / len(off_topic)
    assert refusal >= MIN_REFUSAL_RATE, f"refused {refusal:.1%}; answered: {answered}"


def test_confident_answers_are_rarely_wrong(
    index: SearchIndex, questions: list[EvalQuestion]
) -> None:
    asked = [q for q in questions if q.expect is not None]
    wrong = []
    for question in asked:
        result = index.search(question.q, question.lang)
        if result.confident and result.best is not None and result.best.id != question.expect:
            wrong.append(f"{question.q!r}: expected {question.expect}, got {result.best.id}")
    assert len(wrong) / len(asked) <= MAX_CONFIDENT_WRONG, "\n".join(wrong)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_language_of_a_question_is_guessed(
    pack: KnowledgePack, questions: list[EvalQuestion], lang: Lang
) -> None:
    guesser = LanguageGuesser.from_pack(pack)
    asked = [q for q in questions if q.lang == lang]
    guesses = [guesser.guess(q.q) for q in asked]
    wrong = [q.q for q, guess in zip(asked, guesses, strict=True) if guess not in (lang, None)]
    assert wrong == []  # unclear is allowed (the member's language is used), wrong is not
    right = sum(guess == lang for guess in guesses) / len(asked)
    assert right >= MIN_LANGUAGE_GUESSED, f"{lang}: {right:.1%} guessed"

"""Benchmark of knowledge.search: accuracy on the eval set and latency on the real pack and on a
generated pack of 2,000 entries in lt, lv and en.

Run as `uv run python -m bench.bench_search`. It prints top-1 accuracy per language, the share
of out-of-scope questions refused, p50/p95 latency per question and build times, and the score
distribution that `knowledge.search.CONFIDENT_SCORE` was calibrated on.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from knowledge.language import LanguageGuesser
from knowledge.municipalities import load_municipalities
from knowledge.pack import load_pack
from knowledge.search import (
    CONFIDENT_SCORE,
    Document,
    SearchIndex,
    SearchResult,
    documents_from_pack,
)
from knowledge.text import LANGUAGES, Lang, fold

ROOT = Path(__file__).resolve().parent.parent
PACK = ROOT / "knowledge" / "pack"
EVAL_QUESTIONS = ROOT / "tests" / "knowledge" / "eval_questions.yaml"
GENERATED_ENTRIES = 2_000
GENERATED_QUERIES = 1_000
SEED = 20_261_122


def _split(words: str) -> tuple[str, ...]:
    return tuple(words.split())


# Civic words to build a large pack from, with some of their inflected forms.
CIVIC_WORDS: dict[str, tuple[str, ...]] = {
    "lt": _split(
        """
        bendruomenė bendruomenės bendruomenių bendruomenei savivaldybė savivaldybės
        savivaldybių savivaldybėje paraiška paraiškos paraiškų paraišką projektas projekto
        projektų projektą programa programos programų finansavimas finansavimo parama paramos
        organizacija organizacijos organizacijų nevyriausybinė nevyriausybinių piliečių pilietinė
        pilietinės aktyvumas aktyvumo kvietimas kvietimo terminas termino seniūnija seniūnijos
        jaunimas jaunimo mokymai mokymų seminaras seminaro ekspertas ekspertų konsultacija
        konsultacijos sutartis sutarties ataskaita ataskaitos biudžetas biudžeto tarybos taryba
        lyderis lyderių iniciatyva iniciatyvos iniciatyvų savanoriai savanorių renginys renginio
        tyrimas tyrimo apklausa apklausos partneris partnerių rajonas rajono miestas miesto
        kaimas kaimo regionas regiono demokratija demokratijos dalyvavimas dalyvavimo
        sprendimas sprendimų fondas fondo mentorystė mentorystės vertinimas vertinimo
        """
    ),
    "lv": _split(
        """
        kopiena kopienas kopienu kopienai pašvaldība pašvaldības pašvaldību pašvaldībā
        pieteikums pieteikuma pieteikumu pieteikumi projekts projekta projektu projekti
        programma programmas programmu finansējums finansējuma atbalsts atbalsta
        organizācija organizācijas organizāciju nevalstiskā nevalstisko iedzīvotāju pilsoniskā
        pilsoniskās aktivitāte aktivitātes konkurss konkursa termiņš termiņa pagasts pagasta
        jaunatne jaunatnes mācības mācību seminārs semināra eksperts ekspertu konsultācija
        konsultācijas līgums līguma pārskats pārskata budžets budžeta padome padomes līderis
        līderu iniciatīva iniciatīvas iniciatīvu brīvprātīgie brīvprātīgo pasākums pasākuma
        pētījums pētījuma aptauja aptaujas partneris partneru novads novada pilsēta pilsētas
        ciems ciema reģions reģiona demokrātija demokrātijas līdzdalība līdzdalības lēmums
        lēmumu fonds fonda mentorings mentoringa vērtēšana vērtēšanas biedrība biedrības
        """
    ),
    "en": _split(
        """
        community communities municipality municipalities application applications project
        projects programme programmes funding grant grants organisation organisations
        nongovernmental citizens civic civil activity activities call calls deadline
        deadlines ward wards youth training trainings seminar seminars expert experts
        consultation consultations contract contracts report reports budget budgets council
        councils leader leaders initiative initiatives volunteers volunteer event events
        research survey surveys partner partners district districts city cities village
        villages region regions democracy participation decision decisions fund funds
        mentoring evaluation association associations society
        """
    ),
}
OFF_TOPIC_WORDS: dict[str, tuple[str, ...]] = {
    "lt": _split("oras lietus krepšinis futbolas blynai receptas kinas muzika atostogos jūra"),
    "lv": _split("laikapstākļi lietus hokejs futbols pankūkas recepte kino mūzika atvaļinājums"),
    "en": _split("weather rain basketball football pancakes recipe cinema music holiday seaside"),
}
QUESTION_TEMPLATES: dict[str, tuple[str, ...]] = {
    "lt": ("Kas yra {}?", "Kaip veikia {}?", "Kada prasideda {}?", "Kur rasti {}?", "{}"),
    "lv": ("Kas ir {}?", "Kā darbojas {}?", "Kad sākas {}?", "Kur atrast {}?", "{}"),
    "en": ("What is {}?", "How does {} work?", "When does {} start?", "Where to find {}?", "{}"),
}


@dataclass(frozen=True)
class EvalQuestion:
    """One question of the eval set and the entry or call id it should find (None: refuse)."""

    lang: Lang
    q: str
    expect: str | None


def load_eval_questions(path: Path = EVAL_QUESTIONS) -> list[EvalQuestion]:
    """The eval set: a YAML list of {lang, q, expect}."""
    records = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [EvalQuestion(r["lang"], str(r["q"]), r.get("expect")) for r in records]


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile SHARE (0..1) of VALUES."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


@dataclass
class Timings:
    """Wall-clock and CPU milliseconds per search (CPU time ignores other busy processes)."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def search(self, index: SearchIndex, query: str, lang: Lang) -> SearchResult:
        """Search INDEX for QUERY in LANG and record how long it took."""
        wall, cpu = time.perf_counter(), time.process_time()
        result = index.search(query, lang)
        self.cpu.append((time.process_time() - cpu) * 1000)
        self.wall.append((time.perf_counter() - wall) * 1000)
        return result

    def summary(self) -> str:
        """p50 and p95 of both clocks, and the slowest search."""
        return (
            f"p50 {percentile(self.wall, 0.5):.2f} ms, p95 {percentile(self.wall, 0.95):.2f} ms, "
            f"max {max(self.wall):.2f} ms (CPU time: p50 {percentile(self.cpu, 0.5):.2f} ms, "
            f"p95 {percentile(self.cpu, 0.95):.2f} ms)"
        )


def generated_documents(entries: int, seed: int = SEED) -> list[Document]:
    """ENTRIES made-up entries in lt, lv and en, the same for the same SEED."""
    rng = random.Random(seed)
    documents = []
    for number in range(entries):
        for lang in LANGUAGES:
            words = CIVIC_WORDS[lang]
            topic = rng.sample(words, 3)
            questions = [
                template.format(" ".join(rng.sample(topic, len(topic)) + rng.sample(words, 1)))
                for template in rng.sample(QUESTION_TEMPLATES[lang], 4)
            ]
            answer = " ".join(rng.choices(words, k=rng.randint(15, 40))) + "."
            documents.append(
                Document(
                    id=f"generated-{number:05d}",
                    kind="entry",
                    lang=lang,
                    questions=questions,
                    answer=answer,
                    tags=("generated",),
                )
            )
    return documents


def _with_typo(word: str, rng: random.Random) -> str:
    if len(word) < 6:
        return word
    at = rng.randrange(1, len(word) - 1)
    return word[:at] + word[at + 1] + word[at] + word[at + 2 :]


def generated_queries(
    documents: Sequence[Document], count: int, seed: int = SEED
) -> list[tuple[Lang, str, str]]:
    """COUNT (lang, query, expected id) made from question variants: folded, with a typo."""
    rng = random.Random(seed + 1)
    queries: list[tuple[Lang, str, str]] = []
    for doc in rng.sample(list(documents), count):
        words = rng.choice(list(doc.questions)).rstrip("?").split()
        if rng.random() < 0.5:
            words = [fold(word) for word in words]
        if rng.random() < 0.3:
            at = rng.randrange(len(words))
            words[at] = _with_typo(words[at], rng)
        queries.append((doc.lang, " ".join(words), doc.id))
    return queries


def off_topic_queries(count: int, seed: int = SEED) -> list[tuple[Lang, str]]:
    """COUNT (lang, query) about nothing in the pack, some words with a typo."""
    rng = random.Random(seed + 2)
    queries: list[tuple[Lang, str]] = []
    for _ in range(count):
        lang = rng.choice(LANGUAGES)
        words = rng.sample(OFF_TOPIC_WORDS[lang], 3)
        words[0] = _with_typo(words[0], rng)
        queries.append((lang, " ".join(words)))
    return queries


def bench_real_pack() -> None:
    """Accuracy, refusals, score distribution and latency on the real pack and eval set."""
    start = time.perf_counter()
    pack = load_pack(PACK, municipalities=load_municipalities())
    documents = documents_from_pack(pack)
    index = SearchIndex.build(documents, pack.vocabulary)
    build_ms = (time.perf_counter() - start) * 1000
    questions = load_eval_questions()
    index.search("warm up", "en")
    print(
        f"real pack: {len(pack.entries)} entries, {len(pack.calls)} calls, "
        f"{len(documents)} documents, loaded and indexed in {build_ms:.0f} ms"
    )
    timings = Timings()
    right_scores: list[float] = []
    wrong_scores: list[float] = []
    refused_scores: list[float] = []
    print(f"{'lang':<5}{'questions':>10}{'top-1':>8}{'confident':>11}{'wrong+conf':>12}")
    for lang in LANGUAGES:
        asked = [q for q in questions if q.lang == lang and q.expect is not None]
        right = confident = wrong_confident = 0
        for question in asked:
            result = timings.search(index, question.q, question.lang)
            best = result.best.id if result.best else None
            right += best == question.expect
            confident += result.confident
            wrong_confident += result.confident and best != question.expect
            (right_scores if best == question.expect else wrong_scores).append(result.score)
        print(
            f"{lang:<5}{len(asked):>10}{right / max(len(asked), 1):>8.1%}"
            f"{confident / max(len(asked), 1):>11.1%}{wrong_confident:>12}"
        )
    off_topic = [q for q in questions if q.expect is None]
    refused = 0
    for question in off_topic:
        result = timings.search(index, question.q, question.lang)
        refused += not result.confident
        refused_scores.append(result.score)
    print(f"out of scope: {len(off_topic)} questions, refused {refused / len(off_topic):.1%}")
    guesser = LanguageGuesser.from_pack(pack)
    print("language of the question (every question of the evaluation set):")
    for lang in LANGUAGES:
        asked = [q for q in questions if q.lang == lang]
        guesses = [guesser.guess(q.q) for q in asked]
        right = sum(guess == lang for guess in guesses)
        unclear = sum(guess is None for guess in guesses)
        print(
            f"  {lang}: {right}/{len(asked)} right ({right / len(asked):.1%}), "
            f"{unclear} unclear (the member's language is used), "
            f"{len(asked) - right - unclear} wrong"
        )
    print(f"latency per question: {timings.summary()}")
    print(f"scores (CONFIDENT_SCORE = {CONFIDENT_SCORE}):")
    for name, scores in (
        ("right top-1", right_scores),
        ("wrong top-1", wrong_scores),
        ("out of scope", refused_scores),
    ):
        if scores:
            print(
                f"  {name:<13} n={len(scores):<4} min {min(scores):.3f}  "
                f"p10 {percentile(scores, 0.1):.3f}  median {statistics.median(scores):.3f}  "
                f"p90 {percentile(scores, 0.9):.3f}  max {max(scores):.3f}"
            )
    print("  threshold  answered-right  answered-wrong  out-of-scope-answered")
    for step in range(30, 80, 5):
        threshold = step / 100
        print(
            f"  {threshold:>9.2f}  {sum(s >= threshold for s in right_scores):>14}"
            f"  {sum(s >= threshold for s in wrong_scores):>14}"
            f"  {sum(s >= threshold for s in refused_scores):>21}"
        )


def bench_generated_pack() -> None:
    """Build time, latency and top-1 accuracy on a generated pack of 2,000 entries."""
    documents = generated_documents(GENERATED_ENTRIES)
    vocabulary = load_pack(PACK, municipalities=load_municipalities()).vocabulary
    wall, cpu = time.perf_counter(), time.process_time()
    index = SearchIndex.build(documents, vocabulary)
    build_wall, build_cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"generated pack: {GENERATED_ENTRIES} entries x 3 languages, "
        f"built in {build_wall:.2f} s ({build_cpu:.2f} s CPU)"
    )
    index.search("warm up", "en")
    asked = Timings()
    right = 0
    queries = generated_queries(documents, GENERATED_QUERIES)
    for lang, query, expected in queries:
        result = asked.search(index, query, lang)
        right += result.best is not None and result.best.id == expected
    print(f"  {len(queries)} questions from its variants (folded, typos): {asked.summary()}")
    print(f"    top-1 {right / len(queries):.1%} (random words, so many near-duplicate entries)")
    off_topic = Timings()
    answered = 0
    unrelated = off_topic_queries(GENERATED_QUERIES // 5)
    for lang, query in unrelated:
        answered += off_topic.search(index, query, lang).confident
    print(f"  {len(unrelated)} off-topic questions (every language tried): {off_topic.summary()}")
    print(f"    answered confidently: {answered}")
    everything = Timings(asked.wall + off_topic.wall, asked.cpu + off_topic.cpu)
    print(f"  all {len(everything.wall)} questions: {everything.summary()}")


def main() -> None:
    """Run both benchmarks and print their figures."""
    bench_real_pack()
    print()
    bench_generated_pack()


if __name__ == "__main__":
    main()

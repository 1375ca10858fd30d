"""Tests for knowledge.search on a small hand-made pack (the real pack has test_accuracy.py)."""

from __future__ import annotations

import random
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from knowledge.pack import Call, Entry, KnowledgePack, Source
from knowledge.search import (
    CONFIDENT_SCORE,
    Document,
    SearchIndex,
    SearchResult,
    documents_from_pack,
    latvian_stem,
)
from knowledge.service import PACK_DIR
from knowledge.text import LANGUAGES, Lang
from knowledge.vocabulary import VOCABULARY_FILE, load_vocabulary


def _entry(
    doc_id: str, questions: dict[Lang, list[str]], answers: dict[Lang, str]
) -> list[Document]:
    return [
        Document(id=doc_id, kind="entry", lang=lang, questions=asked, answer=answers[lang])
        for lang, asked in questions.items()
    ]


DOCUMENTS = [
    *_entry(
        "avp-aims",
        {
            "lt": ["Kokie Atsparios visuomenės programos tikslai?", "Ko siekia programa?"],
            "lv": ["Kādi ir Noturīgas sabiedrības programmas mērķi?", "Ko programma vēlas panākt?"],
            "en": ["What are the aims of the Resilient Society Programme?"],
        },
        {
            "lt": "Telkti ir įgalinti aktyvių piliečių grupes regionuose.",
            "lv": "Saliedēt un stiprināt aktīvo iedzīvotāju grupas reģionos.",
            "en": "To bring together and empower active citizen groups in the regions.",
        },
    ),
    *_entry(
        "avp-stages",
        {
            "lt": ["Kokie yra AVP etapai?", "Iš kokių etapų susideda AVP?"],
            "lv": ["Kādi ir AVP posmi?"],
            "en": ["What are the stages of the AVP?"],
        },
        {
            "lt": "Sutelkimas, palydėjimas, parama, poveikio tyrimas ir viešinimas.",
            "lv": "Saliedēšana, pavadīšana, atbalsts, ietekmes izpēte un publicitāte.",
            "en": "Bringing together, accompanying, support, impact research and publicity.",
        },
    ),
    *_entry(
        "pilot-applications",
        {
            "lt": ["Kada galima teikti paraiškas bendruomenių pilotui?", "Iki kada paraiškos?"],
            "lv": ["Kad var iesniegt pieteikumus kopienu pilotam?"],
            "en": ["When can applications be submitted for the community pilot?"],
        },
        {
            "lt": "Paraiškas savivaldybės priima nuo rugpjūčio 17 iki 27 dienos.",
            "lv": "Pašvaldības pieteikumus pieņem no 17. līdz 27. augustam.",
            "en": "Municipalities accept applications from 17 to 27 August.",
        },
    ),
    *_entry(
        "nisc-about",
        {
            "lt": ["Kuo užsiima NVO informacijos ir paramos centras?"],
            "lv": ["Ko dara NVO informācijas un atbalsta centrs?"],
            "en": ["What does the NGO Information and Support Centre do?"],
        },
        {
            "lt": "Centras konsultuoja ir stiprina organizacijas.",
            "lv": "Centrs konsultē un stiprina organizācijas.",
            "en": "The centre advises and strengthens organisations.",
        },
    ),
    *_entry(
        "municipality-support",
        {
            "lt": ["Kaip savivaldybė gali paremti bendruomenes?"],
            "lv": ["Kā pašvaldība var atbalstīt biedrības?", "Ko pašvaldības dara biedrībām?"],
            "en": ["How can a municipality support communities?"],
        },
        {
            "lt": "Savivaldybės skiria finansavimą ir konsultuoja.",
            "lv": "Pašvaldības piešķir finansējumu un konsultē.",
            "en": "Municipalities give funding and advice.",
        },
    ),
    *_entry(
        "taurage-seminar",
        {
            "lt": ["Kur vyko praktinis seminaras?"],
            "lv": ["Kur notika praktiskais seminārs?"],
            "en": ["Where did the practical seminar take place?"],
        },
        {
            "lt": "Seminaras vyko Tauragėje 2023 m. sausio 5-9 d.",
            "lv": "Seminārs notika Taurageā 2023. gada 5.-9. janvārī.",
            "en": "The seminar took place in Tauragė on 5-9 January 2023.",
        },
    ),
    *_entry(
        "lympact-about",
        {
            "lt": ["Kas yra Local-y-mpact?"],
            "lv": ["Kas ir Local-y-mpact?"],
            "en": ["What is Local-y-mpact?"],
        },
        {
            "lt": "Tarptautinis bendradarbiavimo projektas.",
            "lv": "Starptautisks sadarbības projekts.",
            "en": "An international cooperation project.",
        },
    ),
    Document(
        id="community-pilot-2021",
        kind="call",
        lang="lt",
        questions=["Koks kvietimas bendruomeninėms organizacijoms 2021 metais?"],
        answer="Bendruomenių pilotas 2021. Kviečiamos bendruomeninės organizacijos.",
    ),
]


VOCABULARY = load_vocabulary(PACK_DIR / VOCABULARY_FILE)


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return SearchIndex.build(DOCUMENTS, VOCABULARY)


def _best_id(result: SearchResult) -> str | None:
    return result.best.id if result.best is not None else None


def test_exact_question_is_confident(index: SearchIndex) -> None:
    result = index.search("Kokie Atsparios visuomenės programos tikslai?", "lt")
    assert _best_id(result) == "avp-aims"
    assert result.confident
    assert result.best is not None
    assert result.best.lang == "lt"
    assert result.score == result.best.score
    assert CONFIDENT_SCORE <= result.score <= 1.0


def test_folding_finds_words_typed_without_diacritics(index: SearchIndex) -> None:
    result = index.search("kada teikti paraisku bendruomeniu pilotui", "lt")
    assert _best_id(result) == "pilot-applications"
    assert result.confident


def test_lithuanian_stemming_matches_other_inflections(index: SearchIndex) -> None:
    # "tikslą", "programa", "siekti" do not occur in the pack in these forms.
    result = index.search("Kokį tikslą turi programa, ko ji siekti nori?", "lt")
    assert _best_id(result) == "avp-aims"
    seminar = index.search("Kur vyko seminarai?", "lt")
    assert _best_id(seminar) == "taurage-seminar"


def test_latvian_stemmer_strips_endings_written_or_folded() -> None:
    stems = {latvian_stem(word) for word in ("pašvaldība", "pašvaldības", "pašvaldībām")}
    assert stems == {"pašvald"}
    assert latvian_stem("pasvaldibam") == "pasvald"
    assert latvian_stem("projekts") == latvian_stem("projektu") == "projekt"
    assert latvian_stem("sadarbojas") == latvian_stem("sadarboties") == "sadarb"
    assert latvian_stem("pieteikšanās") == latvian_stem("pieteikties") == "pieteik"
    assert latvian_stem("nevalstiskajām") == "nevalstisk"
    assert latvian_stem("kas") == "kas"  # never shorter than three letters


def test_latvian_search_with_folded_inflected_words(index: SearchIndex) -> None:
    result = index.search("ka pasvaldibam atbalstit biedribu", "lv")
    assert _best_id(result) == "municipality-support"
    assert result.confident


def test_latvian_word_finds_compounds_starting_with_it() -> None:
    documents = [
        Document(
            id="pilot", kind="entry", lang="lv", questions=["Kas ir pilotprojekts?"], answer=""
        ),
        Document(id="survey", kind="entry", lang="lv", questions=["Kas ir aptauja?"], answer=""),
    ]
    # "pilotu" -> "pilot", which the pack only has inside "pilotprojekts".
    result = SearchIndex.build(documents, VOCABULARY).search("Pastāstiet par pilotu", "lv")
    assert _best_id(result) == "pilot"
    assert result.confident


def test_a_typo_is_corrected(index: SearchIndex) -> None:
    result = index.search("When can I submit aplications for the comunity pilot?", "en")
    assert _best_id(result) == "pilot-applications"
    assert result.confident


def test_a_query_of_nothing_but_corrected_words_is_only_offered(index: SearchIndex) -> None:
    # Every word corrected ("paraikos" -> "paraiškos"): a guess, offered, never answered.
    result = index.search("paraikos", "lt")
    assert not result.confident and result.suggestions
    # One corrected word among known ones still answers.
    assert index.search("kada teikti paraikos bendruomeniu pilotui", "lt").confident


def test_abbreviation_finds_the_long_form(index: SearchIndex) -> None:
    result = index.search("Kokie AVP tikslai?", "lt")
    assert _best_id(result) == "avp-aims"
    assert result.confident


def test_long_form_finds_the_abbreviation(index: SearchIndex) -> None:
    result = index.search("Atsparios visuomenės programos etapai", "lt")
    assert _best_id(result) == "avp-stages"
    assert result.confident


def test_hyphenated_name_is_found_with_or_without_hyphens(index: SearchIndex) -> None:
    for query in ("localympact", "Tell me about Local-y-mpact", "LOCAL Y MPACT"):
        result = index.search(query, "en")
        assert _best_id(result) == "lympact-about", query


def test_words_with_the_same_meaning_find_each_other(index: SearchIndex) -> None:
    result = index.search("What is the goal of the Resilient Society Programme?", "en")
    assert _best_id(result) == "avp-aims"
    assert result.confident


def test_ngo_and_nvo_are_the_same(index: SearchIndex) -> None:
    # The Lithuanian text only says "NVO", the English one only "NGO".
    lithuanian = index.search("NGO?", "lt")
    assert lithuanian.best is not None
    assert (lithuanian.best.id, lithuanian.best.lang) == ("nisc-about", "lt")
    assert lithuanian.confident
    english = index.search("non-governmental organisations", "en")
    assert english.best is not None
    assert (english.best.id, english.best.lang) == ("nisc-about", "en")
    assert english.confident


def test_cross_language_fallback_reports_the_matched_language(index: SearchIndex) -> None:
    # A Latvian member types the Lithuanian name of the programme.
    result = index.search("Atsparios visuomenės programos tikslai", "lv")
    assert result.best is not None
    assert result.best.id == "avp-aims"
    assert result.best.lang == "lt"
    assert result.confident
    # The suggestion is shown in the asker's language.
    assert result.best.question == "Kādi ir Noturīgas sabiedrības programmas mērķi?"


def test_cross_language_finds_a_document_missing_in_the_asked_language(
    index: SearchIndex,
) -> None:
    result = index.search("kvietimas bendruomeninėms organizacijoms 2021", "en")
    assert result.best is not None
    assert (result.best.id, result.best.kind, result.best.lang) == (
        "community-pilot-2021",
        "call",
        "lt",
    )


@pytest.mark.parametrize(
    ("query", "lang"),
    [
        ("Koks rytoj bus oras Kaune?", "lt"),
        ("What is the best pancake recipe?", "en"),
        ("Kurš uzvarēja futbola spēlē vakar?", "lv"),
        ("how are you", "en"),
        ("labas, kaip sekasi?", "lt"),
        ("asdf qwerty zxcv", "en"),
    ],
)
def test_off_topic_questions_are_never_confident(
    index: SearchIndex, query: str, lang: Lang
) -> None:
    assert not index.search(query, lang).confident


def test_question_words_alone_give_no_hit(index: SearchIndex) -> None:
    result = index.search("how are you?", "en")
    assert result == SearchResult(best=None, confident=False, score=0.0, suggestions=[])


def test_suggestions_are_ordered_and_limited(index: SearchIndex) -> None:
    result = index.search("programa etapai tikslai paraiškos seminaras centras", "lt")
    scores = [hit.score for hit in result.suggestions]
    assert 1 < len(scores) <= 3
    assert scores == sorted(scores, reverse=True)
    assert result.best == result.suggestions[0]
    assert len({hit.id for hit in result.suggestions}) == len(scores)
    assert len(index.search("programa etapai tikslai", "lt", limit=1).suggestions) == 1


def test_suggestion_is_the_closest_variant(index: SearchIndex) -> None:
    result = index.search("iki kada paraiskos", "lt")
    assert result.best is not None
    assert result.best.question == "Iki kada paraiškos?"


def test_ties_are_ordered_by_id_whatever_the_input_order() -> None:
    twins = [
        Document(id=doc_id, kind="entry", lang="en", questions=["Who funds the pilot?"], answer="")
        for doc_id in ("pilot-funder-b", "pilot-funder-a", "pilot-funder-c")
    ]
    shuffled = twins[:]
    random.Random(7).shuffle(shuffled)
    for documents in (twins, shuffled):
        result = SearchIndex.build(documents, VOCABULARY).search("who funds the pilot", "en")
        assert [hit.id for hit in result.suggestions] == [
            "pilot-funder-a",
            "pilot-funder-b",
            "pilot-funder-c",
        ]
        assert len({hit.score for hit in result.suggestions}) == 1


def test_unknown_language_is_refused(index: SearchIndex) -> None:
    with pytest.raises(ValueError, match="unknown language"):
        index.search("hello", "de")  # type: ignore[arg-type]


def _texts(word: str) -> dict[Lang, str]:
    return {lang: f"{word} {lang}" for lang in LANGUAGES}


def test_documents_from_pack_cover_every_entry_call_and_language() -> None:
    source = Source(title="Atspari visuomenė", seed="000_1ea698a448127ff4.txt")
    entry = Entry(
        id="avp-aims",
        tags=("avp", "aims"),
        questions={lang: (f"aims {lang}?",) for lang in LANGUAGES},
        answer=_texts("answer"),
        source=source,
        verified=date(2026, 11, 22),
        file="pack/resilient-society.yaml",
        line=9,
    )
    vilnius = ZoneInfo("Europe/Vilnius")
    call = Call(
        id="community-pilot-2021",
        title=_texts("title"),
        programme=_texts("programme"),
        funder=_texts("funder"),
        opens=datetime(2021, 8, 17, tzinfo=vilnius),
        closes=datetime(2021, 8, 27, 23, 59, tzinfo=vilnius),
        timezone="Europe/Vilnius",
        who_may_apply=_texts("applicants"),
        municipalities=("kaunas-city",),
        contact="bendruomenes@nisc.lt",
        link="https://www.3sektorius.lt/labdara-parama/bendruomeniu-pilotas/",
        questions={lang: (f"when {lang}?",) for lang in LANGUAGES},
        tags=("pilot", "call"),
    )
    documents = documents_from_pack(KnowledgePack((entry,), (call,)))
    assert sorted((doc.kind, doc.id, doc.lang) for doc in documents) == [
        ("call", "community-pilot-2021", lang) for lang in ("en", "lt", "lv")
    ] + [("entry", "avp-aims", lang) for lang in ("en", "lt", "lv")]
    english_call = next(doc for doc in documents if doc.kind == "call" and doc.lang == "en")
    assert english_call.questions == ("when en?", "title en")
    assert english_call.answer == "title en programme en funder en applicants en"
    english_entry = next(doc for doc in documents if doc.kind == "entry" and doc.lang == "en")
    assert (english_entry.questions, english_entry.answer) == (("aims en?",), "answer en")
    index = SearchIndex.from_pack(KnowledgePack((entry,), (call,)))
    found = index.search("applicants", "en").best
    assert found is not None
    assert (found.id, found.kind) == ("community-pilot-2021", "call")

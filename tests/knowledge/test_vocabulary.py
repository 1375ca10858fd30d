"""The search vocabulary file of the pack: read, checked with lines, and used by the search."""

from __future__ import annotations

import shutil
from pathlib import Path

from knowledge.municipalities import load_municipalities
from knowledge.pack import check_pack, load_pack
from knowledge.search import SearchIndex
from knowledge.service import PACK_DIR
from knowledge.vocabulary import VOCABULARY_FILE, load_vocabulary, read_vocabulary


def test_the_bundled_vocabulary_has_names_and_words() -> None:
    vocabulary = load_vocabulary(PACK_DIR / VOCABULARY_FILE)
    assert vocabulary.names["avp"].abbreviations == ("AVP",)
    assert "Resilient Society Programme" in vocabulary.names["avp"].forms["en"]
    assert vocabulary.words["aim"].forms["lv"] == ("mērķis", "uzdevums")


def test_problems_are_reported_at_their_lines(tmp_path: Path) -> None:
    path = tmp_path / VOCABULARY_FILE
    path.write_text(
        "names:\n"
        "  lpa:\n"
        "    abr: [LPA]\n"  # 3
        "  Bad Name:\n"  # 4
        "    lt: [x]\n"
        "  empty: {}\n"  # 6
        "words:\n"
        "  aim:\n"
        "    lt: tikslas\n"  # 9
        "    abbr: [AIM]\n"  # 10: words have no abbreviations
        "synonyms: {}\n",  # 11
        encoding="utf-8",
    )
    vocabulary, problems = read_vocabulary(path)
    assert [str(problem) for problem in problems] == [
        "vocabulary.yaml:3: names 'lpa': unknown key 'abr' (did you mean 'abbr'?)",
        "vocabulary.yaml:4: names: bad group id 'Bad Name' (use lowercase a-z, 0-9, '-' and "
        "'_', starting with a letter or digit, at most 32 characters)",
        "vocabulary.yaml:6: names 'empty': give at least one of abbr, lt, lv, en",
        "vocabulary.yaml:9: words 'aim': lt must be a list",
        "vocabulary.yaml:10: words 'aim': unknown key 'abbr'",
        "vocabulary.yaml:11: vocabulary: unknown key 'synonyms'",
    ]
    assert not vocabulary.names and not vocabulary.words


def test_knowledge_check_includes_the_vocabulary(tmp_path: Path) -> None:
    pack = Path(shutil.copytree(PACK_DIR, tmp_path / "pack"))
    (pack / VOCABULARY_FILE).write_text("names:\n  lpa:\n    abbr: LPA\n", encoding="utf-8")
    problems = check_pack(pack, municipalities=load_municipalities())
    assert [str(problem) for problem in problems] == [
        "pack/vocabulary.yaml:3: names 'lpa': abbr must be a list"
    ]


def test_an_abbreviation_added_by_a_coordinator_finds_its_name(tmp_path: Path) -> None:
    pack = Path(shutil.copytree(PACK_DIR, tmp_path / "pack"))
    question = "Ką veikia PSA?"  # nobody calls the Latvian Civic Alliance that, yet
    before = SearchIndex.from_pack(load_pack(pack, municipalities=load_municipalities()))
    assert not before.search(question, "lt").confident
    vocabulary = pack / VOCABULARY_FILE
    vocabulary.write_text(
        vocabulary.read_text(encoding="utf-8").replace("abbr: [LPA]", "abbr: [LPA, PSA]"),
        encoding="utf-8",
    )
    after = SearchIndex.from_pack(load_pack(pack, municipalities=load_municipalities()))
    result = after.search(question, "lt")
    assert result.confident and result.best is not None
    assert result.best.id.startswith("lpa-")

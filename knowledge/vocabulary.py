"""The search vocabulary: names with their abbreviations, and words that mean the same.

It is part of the knowledge pack (`knowledge/pack/vocabulary.yaml`), so coordinators can add
an organisation's abbreviation or a word members use without touching code. See the file's own
comments for its format; `civicbot knowledge check` reports its problems with their lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Final

import yaml

from knowledge.text import LANGUAGES, Lang
from knowledge.yamlfile import Fields, KnowledgeFileError, Problem, YamlFileReader

VOCABULARY_FILE: Final = "vocabulary.yaml"
_GROUP_ID_MAX: Final = 32
_SECTIONS: Final = ("names", "words")


@dataclass(frozen=True)
class SynonymGroup:
    """Forms that stand for one name or one meaning: abbreviations, and forms per language."""

    abbreviations: tuple[str, ...] = ()
    forms: Mapping[Lang, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """Names (programmes, organisations) and words (meanings), each a group by id.

    Compared by identity: search caches what it compiled from one vocabulary, and a reloaded
    pack brings a new one.
    """

    names: Mapping[str, SynonymGroup] = field(default_factory=dict)
    words: Mapping[str, SynonymGroup] = field(default_factory=dict)


EMPTY_VOCABULARY: Final = Vocabulary()


class VocabularyError(KnowledgeFileError):
    """The vocabulary file cannot be loaded; `problems` says why and where."""


def read_vocabulary(path: Path, label: str | None = None) -> tuple[Vocabulary, list[Problem]]:
    """The vocabulary in PATH and its problems (an empty vocabulary when there is no file)."""
    if not path.exists():
        return EMPTY_VOCABULARY, []
    reader = _Reader(label or path.name)
    vocabulary = reader.read(path)
    problems = sorted(reader.problems, key=lambda problem: problem.line)
    return (vocabulary if not problems else EMPTY_VOCABULARY), problems


def load_vocabulary(path: Path) -> Vocabulary:
    """The vocabulary in PATH; VocabularyError listing every problem if it has any."""
    vocabulary, problems = read_vocabulary(path)
    if problems:
        raise VocabularyError(problems)
    return vocabulary


class _Reader(YamlFileReader):
    """Walks the vocabulary file's nodes."""

    def read(self, path: Path) -> Vocabulary:
        try:
            root = self.compose(path, context_line=True)
        except OSError as error:
            self.report(0, f"cannot read the file: {error.strerror or error}")
            return EMPTY_VOCABULARY
        if root is None:
            return EMPTY_VOCABULARY
        fields = self.fields(root, "vocabulary", (), _SECTIONS)
        if fields is None:
            return EMPTY_VOCABULARY
        return Vocabulary(
            names=self.groups(fields, "names", abbreviations=True),
            words=self.groups(fields, "words", abbreviations=False),
        )

    def groups(
        self, fields: Fields, section: str, *, abbreviations: bool
    ) -> Mapping[str, SynonymGroup]:
        if section not in fields:
            return MappingProxyType({})
        node = fields[section][1]
        if not isinstance(node, yaml.MappingNode):
            self.report(node, f"{section}: expected a mapping of groups by id")
            return MappingProxyType({})
        found: dict[str, SynonymGroup] = {}
        for key_node, value_node in node.value:
            group_id = self.identifier(key_node, section, max_length=_GROUP_ID_MAX, name="group id")
            if group_id is None:
                continue
            where = f"{section} '{group_id}'"
            if group_id in found:
                self.report(key_node, f"{where}: this group id is used twice")
                continue
            group = self.group(value_node, where, abbreviations=abbreviations)
            if group is not None:
                found[group_id] = group
        return MappingProxyType(found)

    def group(self, node: yaml.Node, where: str, *, abbreviations: bool) -> SynonymGroup | None:
        keys = ("abbr", *LANGUAGES) if abbreviations else LANGUAGES
        fields = self.fields(node, where, (), keys)
        if fields is None:
            return None
        if isinstance(node, yaml.MappingNode) and not node.value:
            self.report(node, f"{where}: give at least one of {', '.join(keys)}")
            return None
        abbr = self.words(fields["abbr"][1], where, "abbr") if "abbr" in fields else None
        forms: dict[Lang, tuple[str, ...]] = {}
        for lang in LANGUAGES:
            listed = self.words(fields[lang][1], where, lang) if lang in fields else None
            if listed:
                forms[lang] = listed
        return SynonymGroup(abbreviations=abbr or (), forms=MappingProxyType(forms))

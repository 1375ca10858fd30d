"""Reading the YAML files coordinators edit by hand, with the line of every problem.

The knowledge pack (knowledge/pack.py), its search vocabulary (knowledge/vocabulary.py) and
the questionnaires (knowledge/questionnaire.py) are read as YAML nodes rather than plain values,
so that each problem names the file and line to go to. Each module keeps its own schema; the
reader here is what they share: fields of a mapping, ids, texts in every language, lists of
words, flags and numbers, always with the same messages and the same rules.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Final, TypeAlias, TypeVar

import yaml

from knowledge.text import LANGUAGES, Lang, is_lang

_NULL_TAG = "tag:yaml.org,2002:null"
# Ids of entries, calls, questionnaires, questions and options: lowercase letters, digits, '-'
# and '_', starting with a letter or digit.
_ID: Final = re.compile(r"[a-z0-9][a-z0-9_-]*")

# The fields of a mapping node by name: the key node (for problems about the field itself) and
# the value node.
Fields: TypeAlias = dict[str, tuple[yaml.Node, yaml.Node]]

_T = TypeVar("_T")

# A text left for a person to write (a translation): the pack is refused while one remains.
TODO_MARK: Final = "TODO: translate"


@dataclass(frozen=True)
class Problem:
    """Something wrong in a pack or questionnaire file, at a line its editor can go to."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class KnowledgeFileError(Exception):
    """Files cannot be loaded; `problems` says why and where, one problem a line."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def yaml_files(folder: Path) -> list[Path]:
    """The *.yaml and *.yml files of FOLDER in name order; empty if FOLDER is not a folder."""
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []


def line_of(node: yaml.Node) -> int:
    """The line (counted from 1) where NODE starts."""
    return int(node.start_mark.line) + 1


def scalar(node: yaml.Node) -> str | None:
    """The text of a scalar node as written (so `yes` stays 'yes'), None for anything else."""
    if not isinstance(node, yaml.ScalarNode) or node.tag == _NULL_TAG:
        return None
    return str(node.value)


class YamlFileReader:
    """Reads one YAML file into nodes, collecting its problems, each at its line."""

    def __init__(self, label: str) -> None:
        self.label = label  # how problems name the file
        self.problems: list[Problem] = []
        self._constructor = yaml.constructor.SafeConstructor()

    def report(self, node: yaml.Node | int, message: str) -> None:
        """Record a problem at the line of NODE (or at line NODE, given a number)."""
        line = node if isinstance(node, int) else line_of(node)
        self.problems.append(Problem(self.label, line, message))

    def compose(self, path: Path, *, context_line: bool = False) -> yaml.Node | None:
        """The root node of the file PATH, or None once the reason is reported.

        A file that cannot be read at all raises OSError. With CONTEXT_LINE, a syntax error
        whose context (an open quote or bracket) starts on another line also names that line.
        """
        try:
            root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        except UnicodeDecodeError:
            self.report(1, "the file is not UTF-8 text")
            return None
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line = mark.line + 1 if mark is not None else 1
            context = error.context
            start = error.context_mark
            if context_line and context and start is not None and start.line + 1 != line:
                context += f" (from line {start.line + 1})"
            details = ", ".join(part for part in (context, error.problem) if part)
            self.report(line, f"YAML syntax error: {details}")
            return None
        except yaml.YAMLError as error:
            self.report(1, f"YAML syntax error: {error}")
            return None
        if root is None:
            self.report(1, "the file is empty")
        return root

    # -- mappings and their fields ---------------------------------------------------------------

    def fields(
        self, node: yaml.Node, where: str, required: Sequence[str], optional: Sequence[str]
    ) -> Fields | None:
        """The known keys of a mapping; unknown, repeated and missing keys are problems."""
        if not isinstance(node, yaml.MappingNode):
            self.report(node, f"{where}: expected a mapping of fields")
            return None
        known = (*required, *optional)
        found: Fields = {}
        for key, value in node.value:
            name = scalar(key)
            if name is None:
                self.report(key, f"{where}: a key must be plain text")
            elif name in found:
                first = line_of(found[name][0])
                self.report(key, f"{where}: duplicate key '{name}' (first at line {first})")
            elif name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.report(key, f"{where}: unknown key '{name}'{hint}")
            else:
                found[name] = (key, value)
        for name in required:
            if name not in found:
                self.report(node, f"{where}: missing required field '{name}'")
        return found

    def given(
        self, fields: Fields, name: str, parse: Callable[[yaml.Node, yaml.Node], _T | None]
    ) -> _T | None:
        """Parse a required field from its key and value nodes (its absence is reported)."""
        if name not in fields:
            return None
        key, value = fields[name]
        return parse(key, value)

    def optional(
        self, fields: Fields, name: str, parse: Callable[[yaml.Node], _T | None]
    ) -> _T | None:
        """Parse an optional field from its value node; None when it is absent."""
        return parse(fields[name][1]) if name in fields else None

    # -- values ----------------------------------------------------------------------------------

    def identifier(
        self, node: yaml.Node, where: str, *, max_length: int, name: str = "id"
    ) -> str | None:
        """An id (see `_ID`) of at most MAX_LENGTH characters; None once reported."""
        value = scalar(node)
        if value is None or not _ID.fullmatch(value) or len(value) > max_length:
            self.report(
                node,
                f"{where}: bad {name} {value or ''!r} (use lowercase a-z, 0-9, '-' and '_', "
                f"starting with a letter or digit, at most {max_length} characters)",
            )
            return None
        return value

    def text(self, node: yaml.Node, where: str, path: str) -> str | None:
        """A non-empty text, stripped."""
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            self.report(node, f"{where}: {path} must be text")
            return None
        value = (scalar(node) or "").strip()
        if not value:
            self.report(node, f"{where}: {path} is empty")
            return None
        if TODO_MARK in value:
            self.report(node, f"{where}: {path} is still marked '{TODO_MARK}'")
            return None
        return value

    def words(self, node: yaml.Node, where: str, path: str) -> tuple[str, ...] | None:
        """A list of non-empty texts."""
        if not isinstance(node, yaml.SequenceNode):
            self.report(node, f"{where}: {path} must be a list")
            return None
        words = [
            self.text(item, where, f"{path}[{index}]") for index, item in enumerate(node.value)
        ]
        if any(word is None for word in words):
            return None
        return tuple(word for word in words if word is not None)

    def per_language(
        self,
        key: yaml.Node,
        node: yaml.Node,
        where: str,
        parse: Callable[[yaml.Node, str], _T | None],
        *,
        languages: Sequence[str] = LANGUAGES,
    ) -> Mapping[Lang, _T] | None:
        """A mapping from each of LANGUAGES (all three by default) to a value; None if broken."""
        name = scalar(key)
        if not isinstance(node, yaml.MappingNode):
            self.report(node, f"{where}: {name} must map each language (lt, lv, en) to its text")
            return None
        result: dict[Lang, _T] = {}
        complete = True
        seen: set[str] = set()
        for lang_node, value in node.value:
            lang = scalar(lang_node)
            if not is_lang(lang):
                self.report(
                    lang_node, f"{where}: unknown language {lang!r} in {name} (use lt, lv, en)"
                )
                complete = False
                continue
            if lang in seen:
                self.report(lang_node, f"{where}: duplicate key '{lang}' in {name}")
                complete = False
                continue
            seen.add(lang)
            parsed = parse(value, f"{name}.{lang}")
            if parsed is None:
                complete = False
            else:
                result[lang] = parsed
        for lang in languages:
            if lang not in seen:
                self.report(key, f"{where}: {name} is missing language '{lang}'")
                complete = False
        return MappingProxyType(result) if complete else None

    def texts(self, key: yaml.Node, node: yaml.Node, where: str) -> Mapping[Lang, str] | None:
        """A text in each of lt, lv and en."""
        return self.per_language(
            key, node, where, lambda value, path: self.text(value, where, path)
        )

    def value(self, node: yaml.Node) -> object:
        """The plain value of NODE, as YAML reads it (true, 12, 1.5, ...)."""
        return self._constructor.construct_object(node, deep=True)

    def flag(self, fields: Fields, name: str, where: str, default: bool) -> bool:
        """A true/false field (DEFAULT when absent or broken)."""
        if name not in fields:
            return default
        node = fields[name][1]
        value = self.value(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, bool):
            self.report(node, f"{where}: {name} must be true or false")
            return default
        return value

    def number(self, node: yaml.Node, where: str, name: str) -> int | float | None:
        """A number (not a boolean)."""
        value = self.value(node) if isinstance(node, yaml.ScalarNode) else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.report(node, f"{where}: {name} must be a number (got {scalar(node)!r})")
            return None
        return value

"""Reading the YAML files coordinators edit by hand, with the line of every problem.

The knowledge pack (knowledge/pack.py) and the questionnaires (knowledge/questionnaire.py) are
read as YAML nodes rather than plain values, so that each problem names the file and line to go
to. Each module keeps its own schema; what both need to read a file is here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import yaml

_NULL_TAG = "tag:yaml.org,2002:null"

# The fields of a mapping node by name: the key node (for problems about the field itself) and
# the value node.
Fields: TypeAlias = dict[str, tuple[yaml.Node, yaml.Node]]


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

"""The commands shown in README.md and docs/*.md, with the output shown for them, as runnable examples.

Two forms are collected (see ``tests/docs/test_commands.py`` for the comparison rules):

* a **transcript**: a fenced code block whose first non-blank line starts with ``$ ``. Each ``$ cmd`` line is
  a command; the lines after it, up to the next ``$ `` line or the end of the block, are its expected
  output (stdout and stderr together). ``$ echo $?`` is not run: its expected output is the exit code of
  the command before it.
* a **command + table pair**: a fenced ``sh`` block holding exactly one line, ``kg query ...``, followed
  (blank lines and nothing else between) by a markdown table. The command is run with
  ``--format markdown`` appended and its output must be the table.

A directive in an HTML comment on the last non-blank line before the fence says where the block runs::

    <!-- doc-test: tree=tests/qc/tree,queries/qc>queries/qc,tests/docs/trees/build-example -->

``tree=`` lists folders (relative to the project root), each copied in order into one fresh temporary
folder (``SRC>DEST`` copies ``SRC`` to ``DEST`` inside it; later copies add to or overwrite earlier ones);
the block's commands run there. Without a directive they run at the project root.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ELLIPSIS", "Step", "Example", "collect", "doc_files", "output_matches", "make_tree", "DirectiveError"]

ELLIPSIS = "…"
_FENCE = re.compile(r"^(```+)\s*([\w+-]*)")
_DIRECTIVE = re.compile(r"^<!--\s*doc-test:\s*(.*?)\s*-->\s*$")


class DirectiveError(ValueError):
    """A ``doc-test`` directive that cannot be read."""


@dataclass
class Step:
    """One command and the output shown for it (``expected`` lines, trailing blank lines dropped)."""
    command: str
    expected: list[str]
    line: int  # 1-based line of the command in the document

    @property
    def is_exit_code(self) -> bool:
        return self.command.strip() == "echo $?"


@dataclass
class Example:
    """A block of steps from one document; ``kind`` is ``transcript`` or ``table``."""
    doc: str  # path relative to the project root
    line: int  # 1-based line of the opening fence
    kind: str
    steps: list[Step]
    tree: list[tuple[str, str]] = field(default_factory=list)  # (source, destination) copies; empty: the root

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def doc_files(root: Path) -> list[Path]:
    """README.md and every docs/*.md, in a fixed order."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def _parse_directive(text: str) -> list[tuple[str, str]]:
    tree: list[tuple[str, str]] = []
    for item in text.split():
        key, sep, value = item.partition("=")
        if key != "tree" or not sep or not value:
            raise DirectiveError(f"unknown doc-test directive item {item!r} (only tree=SRC[>DEST],...)")
        for entry in value.split(","):
            src, _, dest = entry.partition(">")
            tree.append((src, dest or "."))
    return tree


def _blocks(lines: list[str]):
    """(fence line index, info string, body lines, index after the closing fence) for each fenced block."""
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].startswith(m.group(1)):
            j += 1
        yield i, m.group(2), lines[i + 1:j], j + 1
        i = j + 1


def _trim(expected: list[str]) -> list[str]:
    out = [x.rstrip() for x in expected]
    while out and not out[-1]:
        out.pop()
    return out


def collect(path: Path, root: Path) -> list[Example]:
    """Every transcript and command + table pair in one markdown file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    rel = path.relative_to(root).as_posix()
    examples: list[Example] = []
    for start, info, body, after in _blocks(lines):
        k = start - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        d = _DIRECTIVE.match(lines[k]) if k >= 0 else None
        tree = _parse_directive(d.group(1)) if d else []
        content = [x for x in body if x.strip()]
        if content and content[0].startswith("$ "):
            steps: list[Step] = []
            for n, text in enumerate(body):
                if text.startswith("$ "):
                    steps.append(Step(text[2:], [], start + 2 + n))
                else:
                    steps[-1].expected.append(text)
            for s in steps:
                s.expected = _trim(s.expected)
            examples.append(Example(rel, start + 1, "transcript", steps, tree))
        elif info == "sh" and len(content) == 1 and content[0].startswith("kg query "):
            t = after
            while t < len(lines) and not lines[t].strip():
                t += 1
            table = []
            while t < len(lines) and lines[t].startswith("|"):
                table.append(lines[t].rstrip())
                t += 1
            if table:
                n = start + 2 + body.index(content[0])
                examples.append(Example(rel, start + 1, "table", [Step(content[0], table, n)], tree))
        elif d:
            raise DirectiveError(f"{rel}:{k + 1}: a doc-test directive before a block that is not collected")
    return examples


def make_tree(example: Example, root: Path, tmp: Path) -> Path:
    """The folder the example runs in: the project root, or a fresh copy of its ``tree=`` folders."""
    if not example.tree:
        return root
    for src, dest in example.tree:
        source = root / src
        if not source.exists():
            raise DirectiveError(f"{example.id}: tree folder {src} does not exist")
        target = (tmp / dest).resolve()
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return tmp


def _line_pattern(line: str) -> str:
    return ".*?".join(re.escape(part) for part in line.split(ELLIPSIS))


def output_matches(expected: list[str], actual: str) -> bool:
    """Whether ``actual`` is the ``expected`` lines: trailing whitespace and trailing blank lines ignored;
    a line that is exactly ``…`` stands for any number of lines (none included); ``…`` inside a line for
    any text within that one line. Everything else must be equal."""
    got = _trim(actual.splitlines())
    parts = []
    for line in _trim(expected):
        parts.append(r"(?:[^\n]*\n)*?" if line.strip() == ELLIPSIS else _line_pattern(line) + r"\n")
    return re.fullmatch("".join(parts), "".join(x + "\n" for x in got)) is not None


def update_tables(path: Path, root: Path, kg: str) -> list[str]:
    """Rewrite every command + table pair of ``path`` with the command's real ``--format markdown`` output;
    return the ids of the tables that changed. For people refreshing the docs after the data changed
    (``python -m support.doccommands README.md``); the test never rewrites anything."""
    import subprocess

    lines = path.read_text(encoding="utf-8").splitlines()
    changed: list[str] = []
    for ex in reversed([e for e in collect(path, root) if e.kind == "table"]):
        step = ex.steps[0]
        cmd = step.command.replace("kg ", kg + " ", 1) + " --format markdown"
        out = subprocess.run(cmd, shell=True, cwd=root, capture_output=True, text=True, check=True).stdout
        new = [x.rstrip() for x in out.splitlines() if x.startswith("|")]
        t = step.line  # the command's line; the table follows the closing fence
        while not lines[t - 1].startswith("|"):
            t += 1
        end = t
        while end <= len(lines) and lines[end - 1].startswith("|"):
            end += 1
        if lines[t - 1:end - 1] != new:
            lines[t - 1:end - 1] = new
            changed.append(ex.id)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return changed


if __name__ == "__main__":
    import sys

    _root = Path(__file__).resolve().parents[2]
    for _doc in sys.argv[1:]:
        print(*update_tables(_root / _doc, _root, str(_root / ".venv" / "bin" / "kg")), sep="\n")

"""Every command shown with its output in README.md and docs/*.md is run, and its output compared.

What is collected (``tests/support/doccommands.py``):

* transcripts, fenced blocks of ``$ cmd`` lines each followed by its output; ``$ echo $?`` compares the exit
  code of the command before it;
* command + table pairs, a ``sh`` block with one ``kg query ...`` line followed by a markdown table: the
  command is run with ``--format markdown`` appended and must print exactly that table (exit 0).

How commands run: with ``bash -c`` in the project root, or in a fresh copy of the folders named by a
``<!-- doc-test: tree=... -->`` comment right before the fence (one copy per block; its commands run in
order in it). ``kg`` is the project's venv (its ``bin`` first on ``PATH``); ``COLUMNS=100`` (rich wraps
the text report at 100 columns, so the shown output is wrapped exactly where the real one is),
``NO_COLOR=1``, ``PYTHONUNBUFFERED=1`` (stdout and stderr are read as one stream, in the order written).
Commands at the project root read and, when the sources changed, rebuild its ``build/`` (as
``tests/support/realbuild.py`` does).

The comparison rule, for transcripts: the output is compared line by line, exactly, except that trailing
whitespace on each line and trailing blank lines are ignored; a line that is only ``…`` (indentation
allowed) matches any number of lines, including none; ``…`` inside a line matches any text within that
line (doctest's ELLIPSIS, one line at a time). Wrapped lines are not joined: at ``COLUMNS=100`` the wrapping
is deterministic, so the shown output carries the real line breaks. Tables compare exactly, line by line.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from support.doccommands import (ELLIPSIS, DirectiveError, Example, Step, collect, doc_files, make_tree,
                                 output_matches)

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
EXAMPLES = [ex for doc in doc_files(ROOT) for ex in collect(doc, ROOT)]

#: How many commands each document shows with their output (``echo $?`` counted); a block the collector
#: stops recognising, or a new one, changes this on purpose.
EXPECTED_COUNTS = {
    "README.md": 26,
    "docs/build.md": 8,
    "docs/check.md": 7,
    "docs/questions.md": 12,
}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REMIT_", "FORCE_COLOR"))}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}", COLUMNS="100", NO_COLOR="1",
               PYTHONUNBUFFERED="1", TERM="dumb")
    env.pop("LINES", None)
    return env


def _run(command: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=120)


def _mismatch(ex: Example, step: Step, actual: str) -> str:
    return (f"{ex.doc}:{step.line}: `{step.command}` printed something else.\n--- shown\n"
            + "\n".join(step.expected) + "\n--- actual\n" + actual)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_shown_output_is_the_real_output(example: Example, tmp_path: Path) -> None:
    cwd = make_tree(example, ROOT, tmp_path)
    failures: list[str] = []
    last_code: int | None = None
    for step in example.steps:
        if example.kind == "table":
            r = _run(step.command + " --format markdown", cwd)
            if r.returncode != 0 or [x.rstrip() for x in r.stdout.strip().splitlines()] != step.expected:
                failures.append(_mismatch(example, step, f"(exit {r.returncode})\n{r.stdout}"))
            continue
        if step.is_exit_code:
            assert last_code is not None, f"{example.doc}:{step.line}: `echo $?` with no command before it"
            if step.expected != [str(last_code)]:
                failures.append(_mismatch(example, step, str(last_code)))
            continue
        r = _run(step.command, cwd)
        last_code = r.returncode
        if not output_matches(step.expected, r.stdout):
            failures.append(_mismatch(example, step, r.stdout))
    assert not failures, "\n\n".join(failures)


def test_every_document_shows_the_commands_expected() -> None:
    counts: dict[str, int] = {}
    for ex in EXAMPLES:
        counts[ex.doc] = counts.get(ex.doc, 0) + len(ex.steps)
    assert counts == EXPECTED_COUNTS


# --- the rules themselves ----------------------------------------------------------------------------

def test_output_matching_rules() -> None:
    out = "a report\n  line one   \n  line two\n  line three\ntotal: 3\n\n"
    assert output_matches(["a report", "  line one", "  line two", "  line three", "total: 3"], out)
    assert output_matches(["a report", ELLIPSIS, "total: 3"], out)
    assert output_matches(["a report", "  line one", "  line two", "  line three", ELLIPSIS, "total: 3"], out)
    assert output_matches([ELLIPSIS, "  line three", "total: …"], out)
    assert output_matches(["a …", "  line …", ELLIPSIS], out)
    assert not output_matches(["a report", "total: 3"], out)  # lines are not skipped without …
    assert not output_matches(["a report", ELLIPSIS, "total: 4"], out)
    assert output_matches(["a report", "  line one", ELLIPSIS], out + "extra\n")
    assert not output_matches(["a report", ELLIPSIS, "total: 3"], out + "extra\n")  # nothing after the end
    assert not output_matches(["a rep…t", ELLIPSIS, "line three"], out)  # … inside a line: not across lines
    assert not output_matches(["a report"], out)
    assert not output_matches(["a report", " line one", ELLIPSIS], out)  # leading whitespace counts


def test_collector_reads_transcripts_tables_and_directives(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "text\n\n<!-- doc-test: tree=a,b>sub/b -->\n```\n$ kg build\nbuild: built\n\n$ echo $?\n0\n```\n\n"
        "```sh\nkg query leads -c area\n```\n\n| area |\n| --- |\n| x |\n\nafter\n\n"
        "```\nkg build [--force]\n```\n", encoding="utf-8")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.ttl").write_text("1")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.ttl").write_text("2")
    first, second = collect(doc, tmp_path)
    assert (first.kind, first.line, first.tree) == ("transcript", 4, [("a", "."), ("b", "sub/b")])
    assert [(s.command, s.expected, s.line) for s in first.steps] == [
        ("kg build", ["build: built"], 5), ("echo $?", ["0"], 8)]
    assert (second.kind, second.steps[0].command, second.steps[0].expected) == (
        "table", "kg query leads -c area", ["| area |", "| --- |", "| x |"])
    work = tmp_path / "work"
    work.mkdir()
    assert make_tree(first, tmp_path, work) == work
    assert (work / "one.ttl").read_text() == "1" and (work / "sub" / "b" / "two.ttl").read_text() == "2"
    doc.write_text("<!-- doc-test: tree=a -->\n```\nkg build [--force]\n```\n", encoding="utf-8")
    with pytest.raises(DirectiveError):
        collect(doc, tmp_path)

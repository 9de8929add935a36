"""`kg query` on the real build: column selection and Markdown output for people and documents."""

from __future__ import annotations

import os
import subprocess
import sys

from typer.testing import CliRunner

from kg.cli import app
from support.realbuild import ensure_real_build

runner = CliRunner()


def _run(*args: str):
    store = ensure_real_build() / "store"
    return runner.invoke(app, ["query", *args, "--store", str(store)])


def test_columns_and_markdown() -> None:
    r = _run("leads", "--columns", "agreement,leadLabel", "--format", "markdown")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "| agreement | leadLabel |" and lines[1] == "| --- | --- |"
    assert "| agreement:cqc-hmi-prisons | none named |" in lines
    assert any(line.startswith("| agreement:hmi-probation-cqc-yot | HM Inspectorate of Probation") for line in lines)


def test_unknown_column_is_a_clear_error() -> None:
    r = _run("leads", "--columns", "nope")
    assert r.exit_code == 2
    assert "no column 'nope' in leads" in r.output


def _table(*args: str, columns: int = 100) -> subprocess.CompletedProcess:
    """``kg query`` as a person runs it in a terminal of ``columns`` characters (a subprocess, no -c)."""
    store = ensure_real_build() / "store"
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-m", "kg.cli", "query", *args, "--store", str(store)],
                          capture_output=True, text=True, env=env, timeout=120)


def _header_cells(out: str) -> list[str]:
    """The column names in the table's header (rich may not wrap them: each is whole on one line)."""
    lines = out.splitlines()
    top = next(i for i, line in enumerate(lines) if line.startswith("┏"))
    return [c.strip() for c in lines[top + 1].strip("┃").split("┃")]


def test_table_without_columns_is_readable() -> None:
    r = _table("contacts", "-p", "agreement=id:agreement/hmi-probation-cqc-yot", "--limit", "6")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100  # nothing cut off at the terminal's edge
    header = _header_cells(r.stdout)
    assert 3 <= len(header) <= 7
    assert all(len(h) > 3 for h in header)  # no one-character columns
    assert {"contactName", "contactForLabel", "telephone"} <= set(header)
    assert not any(h in ("sources", "contact", "contactFor", "agreement") for h in header)  # labels, not IRIs
    text = " ".join(line.strip("│┃ ") for line in lines)
    assert "Commission" in text and "Switchboard:" in text  # words wrapped whole, not split per character
    note = " ".join(lines[lines.index(next(x for x in lines if x.startswith("Not shown:"))):])
    for left_out in ("contactFor,", "sources,", "agreement,"):
        assert left_out in note
    assert "-c/--columns" in note and "--format csv" in note


def test_table_prefers_labels_and_wraps_in_a_narrow_terminal() -> None:
    r = _table("overlaps", "-p", "settingType=id:setting-type/prison", columns=80)
    assert r.returncode == 0, r.stderr
    assert max(len(line) for line in r.stdout.splitlines()) <= 80
    header = _header_cells(r.stdout)
    assert header[0] == "body1Label" and "body1" not in header and "body1Sources" not in header
    assert "Not shown: body1, " in r.stdout


def test_table_with_columns_shows_exactly_those() -> None:
    r = _table("leads", "-c", "agreement,leadLabel")
    assert r.returncode == 0, r.stderr
    assert _header_cells(r.stdout) == ["agreement", "leadLabel"]
    assert "Not shown" not in r.stdout

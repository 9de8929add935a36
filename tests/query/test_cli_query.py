"""`kg query` on the real build: column selection and Markdown output for people and documents."""

from __future__ import annotations

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

"""Progress of long commands (issue 14): ``kg build`` says its steps on stderr as they finish (a rich spinner
and ticks on a terminal, plain lines with --progress, nothing otherwise: stdout never changes); ``kg check``
and ``kg diff`` say what they are doing; the Makefile names its install steps. Real subprocesses, real data."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from kg.paths import PROJECT_ROOT as ROOT
from kg.progress import STEPS

KG = [sys.executable, "-m", "kg.cli"]
DRAFT = "examples/hmi-probation-cqc-yot-revision.yaml"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REMIT_", "FORCE_COLOR"))}
    return {**env, "COLUMNS": "100", "TERM": "xterm"}


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*KG, *args], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)


def _stdout_of_build(out: Path, r: subprocess.CompletedProcess) -> str:
    return r.stdout.replace(str(out), "OUT")


def test_build_steps_as_plain_lines_with_progress_and_nothing_without(tmp_path: Path) -> None:
    quiet = _run("build", "--out", str(tmp_path / "a"))
    loud = _run("build", "--out", str(tmp_path / "b"), "--progress")
    assert quiet.returncode == loud.returncode == 0, loud.stderr
    assert quiet.stderr == ""  # no terminal, no --progress: transcripts stay as they were
    assert _stdout_of_build(tmp_path / "a", quiet) == _stdout_of_build(tmp_path / "b", loud)  # stdout unchanged
    lines = loud.stderr.splitlines()
    assert lines[0] == "build: checking the sources…" and lines[-1].startswith("build: done in ")
    done = [line.rsplit(" (", 1) for line in lines[1:-1]]  # "build: <step done> (<seconds> s)"
    assert [d[0] for d in done] == [f"build: {STEPS[s][1]}" for s in
                                    ("load", "reason", "validate", "derive", "write", "store")]
    assert all(d[1].endswith(" s)") and float(d[1][:-3]) >= 0 for d in done)
    fresh = _run("build", "--out", str(tmp_path / "b"), "--progress")  # up to date: no step ran
    assert "up to date" in fresh.stdout and fresh.stderr.splitlines()[1].startswith("build: done in ")


def test_build_on_a_terminal_shows_the_steps_with_rich(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    proc = subprocess.Popen([*KG, "build", "--out", str(tmp_path / "t")], cwd=ROOT, env=_env(),
                            stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the terminal closed: the command ended
            break
        if not data:
            break
        chunks.append(data)
    stdout, _ = proc.communicate(timeout=300)
    os.close(master)
    terminal = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0
    for step in ("load", "reason", "validate", "derive", "write", "store"):
        assert STEPS[step][1] in terminal, step
    assert "✓" in terminal and "\x1b[" in terminal  # rich: ticks and colour on a terminal
    assert "build:" not in stdout and stdout.splitlines()[0].endswith(": built")


def test_check_and_diff_say_what_they_are_doing(tmp_path: Path) -> None:
    base = ["check", DRAFT, "--replaces", "agreement:hmi-probation-cqc-yot", "--as-of", "2025-01-01"]
    quiet, loud = _run(*base), _run(*base, "--progress")
    assert quiet.returncode == loud.returncode and quiet.stdout == loud.stdout and quiet.stderr == ""
    lines = loud.stderr.splitlines()
    assert lines[0] == f"check: checking {DRAFT} against the graph (load, reason, validate, rule checks, impact)…"
    assert lines[-1].startswith("check: done in ")
    dbase = ["diff", "agreement:hmi-probation-cqc-yot", DRAFT]
    quiet, loud = _run(*dbase), _run(*dbase, "--progress")
    assert quiet.returncode == loud.returncode == 0 and quiet.stdout == loud.stdout and quiet.stderr == ""
    assert loud.stderr.splitlines()[0].startswith("diff: comparing agreement:hmi-probation-cqc-yot with ")
    assert loud.stderr.splitlines()[-1].startswith("diff: done in ")


def test_makefile_names_its_install_steps() -> None:
    r = subprocess.run(["make", "-n", "-B", ".venv/.installed-stamp", "node_modules/.installed-stamp"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    echoes = [line for line in r.stdout.splitlines() if line.startswith("echo ")]
    assert 'echo "installing Python dependencies into .venv (first run takes a few minutes)' in "\n".join(echoes)
    assert any("YASGUI" in e and "npm" in e for e in echoes)
    lines = r.stdout.splitlines()  # each echo comes before the step it names
    assert lines.index(next(x for x in lines if "installing Python dependencies" in x)) < \
        lines.index(next(x for x in lines if "pip install" in x and "-e" in x))

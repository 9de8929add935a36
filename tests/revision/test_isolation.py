"""``run_isolated`` (the worker of ``kg check``, ``kg diff`` and ``POST /check``): forked from a process with one
thread (the command line: the child starts with what is already imported), from the forkserver otherwise (the
server's threads could hold a lock at the fork); the deadline, the memory limit and located errors either way."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: The worker's functions, in a module of their own (the forkserver's child imports them by name).
HELPERS = textwrap.dedent('''
    import os, time
    from kg.revision.draft import DraftError

    def parent_pid():
        return os.getppid()

    def sleep():
        time.sleep(30)

    def grow():
        return len(bytearray(1 << 31))

    def bad():
        raise DraftError("d.yaml", "not a mapping", 3, 1)
''')

SCRIPT = textwrap.dedent('''
    import os, sys, threading, time
    from kg.revision.draft import DraftError, DraftTimeout, run_isolated
    from isolation_helpers import bad, grow, parent_pid, sleep

    def outcome(fn, **kw):
        try:
            return repr(run_isolated(fn, (), **kw))
        except (DraftError, DraftTimeout) as exc:
            return f"{type(exc).__name__}: {exc}"

    if __name__ == "__main__":
        if sys.argv[1] == "threads":  # another thread running, as in the server
            threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
        forked = run_isolated(parent_pid, (), 30) == os.getpid()
        print("forked" if forked else "not forked")
        t = time.monotonic()
        print(outcome(sleep, timeout=1), round(time.monotonic() - t) < 10)
        print(outcome(grow, timeout=30, memory_bytes=1 << 30))
        print(outcome(bad, timeout=30))
''')


def _run(mode: str, folder: Path) -> list[str]:
    (folder / "isolation_helpers.py").write_text(HELPERS)
    (folder / "isolation_main.py").write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(folder)}
    r = subprocess.run([sys.executable, str(folder / "isolation_main.py"), mode], cwd=ROOT, capture_output=True,
                       text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def test_forked_from_a_process_with_one_thread(tmp_path):
    assert _run("alone", tmp_path) == [
        "forked",
        "DraftTimeout: the draft could not be processed within 1 s True",
        "DraftTimeout: the draft needed more memory than a check may use",
        "DraftError: d.yaml:3:1: not a mapping",
    ]


def test_from_the_forkserver_when_other_threads_run(tmp_path):
    threads = _run("threads", tmp_path)
    assert threads[0] == "not forked"
    assert threads[1:] == _run("alone", tmp_path)[1:]

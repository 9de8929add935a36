"""What a long command is doing, on stderr: ``kg build``'s steps as they finish, ``kg check`` and ``kg diff``
while they work.

On a terminal (stderr is a TTY) a rich spinner names the current step and each finished step is printed
above it; with ``--progress`` and no terminal (a log, CI) the same news comes as plain lines. Otherwise
nothing: stdout never changes, and transcripts of the commands (README, docs) stay stable.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any, Optional

from rich.console import Console

__all__ = ["Progress", "STEPS"]

#: Pipeline steps (:func:`kg.pipeline.layout.timed` names) → (while it runs, once it is done), in order.
STEPS: dict[str, tuple[str, str]] = {
    "load": ("loading the ontology, vocabularies and data", "loaded the ontology, vocabularies and data"),
    "reason": ("reasoning (OWL 2 RL entailments)", "reasoned (OWL 2 RL entailments)"),
    "validate": ("validating (SHACL shapes and QC queries)", "validated (SHACL shapes and QC queries)"),
    "derive": ("deriving the facts the analyst queries read", "derived the facts the analyst queries read"),
    "write": ("writing remit.trig, the search index and the validation report",
              "wrote remit.trig, the search index and the validation report"),
    "store": ("writing the Oxigraph store", "wrote the Oxigraph store"),
}
_ORDER = list(STEPS)


class Progress:
    """Progress of one ``command`` on ``stream`` (stderr); a context manager. ``forced``: ``--progress``."""

    def __init__(self, command: str, doing: str, forced: bool = False, stream: Optional[IO[str]] = None):
        self.command = command
        self.doing = doing
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = self.tty or forced
        self.console = Console(file=self.stream, highlight=False, soft_wrap=True) if self.enabled else None
        self._status: Any = None
        self._t0 = time.perf_counter()

    def __enter__(self) -> "Progress":
        if self.console is None:
            return self
        if self.tty:
            self._status = self.console.status(f"{self.command}: {self.doing}…")
            self._status.start()
        else:
            self.console.print(f"{self.command}: {self.doing}…", markup=False)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._status is not None:
            self._status.stop()
        if self.console is not None and not self.tty and exc[0] is None:
            self.console.print(f"{self.command}: done in {time.perf_counter() - self._t0:.1f} s", markup=False)

    def step(self, name: str, seconds: float) -> None:
        """A pipeline step finished: say so, and what comes next."""
        if self.console is None:
            return
        done = STEPS.get(name, (name, name))[1]
        if self.tty:
            self.console.print(f"[green]✓[/green] {done} [dim]({seconds:.1f} s)[/dim]")
        else:
            self.console.print(f"{self.command}: {done} ({seconds:.1f} s)", markup=False)
        if self._status is not None and name in _ORDER and _ORDER.index(name) + 1 < len(_ORDER):
            self._status.update(f"{self.command}: {STEPS[_ORDER[_ORDER.index(name) + 1]][0]}…")

"""Errors that say where: one base for bad input in a source file and in a draft.

``str()`` of a :class:`LocatedError` is ``where:line:column: message`` (``where: message`` when the line
is unknown), the form editors and CI annotate; :meth:`LocatedError.to_dict` is the JSON form the HTTP
routes return.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LocatedError", "line_col"]


def line_col(text: str, index: int) -> tuple[int, int]:
    """The 1-based line and column of character ``index`` of ``text``."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


class LocatedError(Exception):
    """Bad input at a place: ``where`` (a file name or path), a message, and the line and column if known."""

    def __init__(self, where: object, message: str, line: int | None = None, column: int | None = None):
        self.where = str(where)
        self.message = message
        self.line = line
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.where}: {self.message}"
        return f"{self.where}:{self.line}:{self.column or 1}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.where, "message": self.message}
        if self.line is not None:
            out["line"] = self.line
            out["column"] = self.column or 1
        return out

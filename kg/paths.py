"""Where the project's sources live: one rule for the project root, used by every module that needs it.

Remit runs from a source checkout (``make serve`` installs it editable), so the root is the folder that
holds the ``kg`` package, ``ontology/``, ``shapes/``, ``queries/``, ``contexts/`` and ``data/``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PROJECT_ROOT", "CONTEXTS_DIR", "VOCAB_DIR", "NODE_MODULES"]

#: The checkout that holds this package.
PROJECT_ROOT: Path = Path(__file__).resolve().parent.parent
CONTEXTS_DIR: Path = PROJECT_ROOT / "contexts"
VOCAB_DIR: Path = PROJECT_ROOT / "ontology" / "vocab"
NODE_MODULES: Path = PROJECT_ROOT / "node_modules"

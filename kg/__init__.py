"""Remit: an open knowledge graph of who oversees what in places of detention in England and Wales.

The public Python API is small: build the graph, check a draft against it, run a named query. Each name is
imported on first use (PEP 562), so ``import kg`` stays cheap and imports no web framework::

    import kg
    result = kg.build()                                    # kg.pipeline.build.build
    report = kg.check_draft(text, "yaml", "draft.yaml")    # kg.revision.check.check_draft
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("remit")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

#: public name → the module that defines it
_API = {
    "Layout": "kg.pipeline.layout",
    "BuildError": "kg.pipeline.layout",
    "build": "kg.pipeline.build",
    "validate": "kg.pipeline.build",
    "run_pipeline": "kg.pipeline.steps",
    "Finding": "kg.findings.model",
    "Report": "kg.findings.model",
    "LocatedError": "kg.findings.located",
    "check_draft": "kg.revision.check",
    "CheckOptions": "kg.revision.check",
    "load_queries": "kg.query.registry",
    "run_named": "kg.query.registry",
    "Settings": "kg.settings",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'kg' has no attribute {name!r}")
    attr = "run" if name == "run_pipeline" else name
    return getattr(importlib.import_module(module), attr)

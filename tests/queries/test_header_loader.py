"""The ``#+`` headers are read with libyaml's safe loader where there is one: the same values as PyYAML's own
loader for every header Remit ships, and a bad header still named with PyYAML's own message and line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kg.rdf import rq
from kg.rdf.rq import HeaderError, read_header

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted([*ROOT.glob("queries/*.rq"), *ROOT.glob("queries/qc/*.rq"), *ROOT.glob("queries/rules/*.rq")])


def test_libyaml_is_used_where_pyyaml_has_it():
    assert rq.FAST_LOADER is getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    assert yaml.__with_libyaml__ and rq.FAST_LOADER is yaml.CSafeLoader  # the pinned PyYAML wheel has it


def test_every_shipped_header_reads_the_same_with_either_loader(monkeypatch):
    assert len(FILES) >= 30
    fast = [read_header(p) for p in FILES]
    monkeypatch.setattr(rq, "FAST_LOADER", yaml.SafeLoader)
    assert [read_header(p) for p in FILES] == fast
    assert all(h for h, _ in fast)


def test_a_bad_header_keeps_pyyamls_message_and_line(tmp_path):
    p = tmp_path / "bad.rq"
    p.write_text("# a comment\n#+ summary: fine\n#+ tags: [a, b\n#+ more: x\nSELECT * WHERE { ?s ?p ?o }\n")
    with pytest.raises(HeaderError) as err:
        read_header(p)
    with pytest.raises(yaml.YAMLError) as py:
        yaml.load("summary: fine\ntags: [a, b\nmore: x", Loader=yaml.SafeLoader)
    assert str(err.value) == f"{p}: line {2 + py.value.problem_mark.line}: the #+ header is not valid YAML: {py.value.problem}"

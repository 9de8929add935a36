"""Loading Turtle with located errors; lexical forms kept as written; canonical formatting."""

from __future__ import annotations

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import XSD

from kg.pipeline.load import SourceError, check_literal, format_turtle, load_turtle, locate_term

P = "@prefix ex: <http://example.org/> .\n@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"


@pytest.mark.parametrize("body,where", [
    ('ex:a ex:b ex:c \nex:d ex:e ex:f .\n', "3:1: expected '.'"),
    ('ex:a nope:b ex:c .\n', "2:6: unknown prefix nope:"),
    ('ex:a ex:b "x .\n', "2:15: newline found in string literal"),
    ('ex:a ex:b\n  "2012-13-45"^^xsd:date .\n', '3:3: ill-typed literal "2012-13-45"'),
    ('ex:a ex:b "yes"^^xsd:boolean .\n', '2:11: ill-typed literal "yes": expected true or false'),
    ('ex:a ex:b "1Y"^^xsd:duration .\n', "2:11: ill-typed literal"),
])
def test_errors_are_located(tmp_path, body, where):
    f = tmp_path / "f.ttl"
    f.write_text(P.split("\n", 1)[0] + "\n" + body if "xsd:" not in body else P + body)
    if "xsd:" in body:
        where = f"{int(where.split(':')[0]) + 1}:" + where.split(":", 1)[1]
    with pytest.raises(SourceError) as exc:
        load_turtle(f)
    assert str(exc.value).startswith(f"{f}:{where}"), str(exc.value)


def test_missing_file(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        load_turtle(tmp_path / "nope.ttl")


def test_lexical_forms_are_kept(tmp_path):
    f = tmp_path / "f.ttl"
    f.write_text(P + 'ex:a ex:b "012"^^xsd:integer, "2012-01-01Z"^^xsd:date, "2020"^^xsd:gYear .\n')
    lexical = sorted(str(o) for o in load_turtle(f).graph.objects())
    assert lexical == ["012", "2012-01-01Z", "2020"]


@pytest.mark.parametrize("lex,dt,ok", [
    ("2012-02-29", XSD.date, True), ("2013-02-29", XSD.date, False), ("2012-01-01T25:00:00", XSD.dateTime, False),
    ("2012-01-01T10:00:00+01:00", XSD.dateTime, True), ("1.5", XSD.integer, False), ("abc", XSD.decimal, False),
    ("P1Y2M", XSD.duration, True), ("P", XSD.duration, False), ("20x", XSD.gYear, False), ("2020", XSD.gYear, True),
])
def test_check_literal(lex, dt, ok):
    assert (check_literal(Literal(lex, datatype=dt)) is None) is ok


def test_locate_term_and_format(tmp_path):
    f = tmp_path / "f.ttl"
    f.write_text(P + "\n# a comment\nex:b ex:p ex:a .\nex:a   ex:p ex:c .\n")
    src = load_turtle(f)
    assert locate_term(URIRef("http://example.org/a"), [src]) == (f, 6, 1)
    before, after = format_turtle(f)
    assert before != after
    f.write_text(after)
    assert format_turtle(f)[0] == format_turtle(f)[1]

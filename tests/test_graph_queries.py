"""The named-statement loader: every statement parses, and malformed files are refused with file:line."""

from pathlib import Path

import pytest

import graph_queries
from graph_queries import QueryFileError, load_all, parse


def test_every_packaged_statement_has_a_name_and_text():
    queries = load_all()
    assert {"member_create", "member_list", "collaboration_create", "api_key_by_hash"} <= set(queries)
    for query in queries.values():
        assert query.text.strip()
        assert query.origin.split(":")[0].endswith(".cypher")


def test_statements_take_parameters_not_formatted_values():
    for query in load_all().values():
        assert "{}" not in query.text and "%s" not in query.text, query.origin


def test_parse_reports_the_line_of_each_statement():
    text = "// header comment\n\n// name: first\nRETURN 1\n\n// name: second\n// returns two\nRETURN 2\n"
    first, second = parse(text, "x.cypher")
    assert (first.name, first.origin, first.text) == ("first", "x.cypher:3", "RETURN 1")
    assert (second.name, second.origin) == ("second", "x.cypher:6")


def test_empty_statement_is_refused_with_its_location():
    with pytest.raises(QueryFileError, match=r"x.cypher:2: statement 'empty' is empty"):
        parse("\n// name: empty\n// only a comment\n\n// name: fine\nRETURN 1", "x.cypher")


def test_text_before_the_first_name_is_refused():
    with pytest.raises(QueryFileError, match=r"x.cypher:1"):
        parse("MATCH (n) RETURN n\n// name: late\nRETURN 1", "x.cypher")


def test_duplicate_names_across_files_are_refused(tmp_path: Path):
    (tmp_path / "a.cypher").write_text("// name: same\nRETURN 1\n")
    (tmp_path / "b.cypher").write_text("\n\n// name: same\nRETURN 2\n")
    with pytest.raises(QueryFileError, match=r"b.cypher:3: duplicate statement name 'same' \(first defined at a.cypher:1\)"):
        load_all(tmp_path)


def test_unknown_name_says_which():
    with pytest.raises(KeyError, match="no_such_statement"):
        graph_queries.get("no_such_statement")

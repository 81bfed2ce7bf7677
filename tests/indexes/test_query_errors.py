"""Malformed and hostile queries: a clear QueryError from both engines, never a crash."""

from __future__ import annotations

import random

import pytest

from archivist.indexes import QueryError, SearchIndex
from archivist.indexes.query import And, Not, Or, Phrase, Prefix, Word, parse_query


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "Empty query"),
        ("   ", "Empty query"),
        ('invoice "net income', "Unbalanced quote at position 9"),
        ('tag:"two words', "Unbalanced quote at position 5"),
        ("(payment OR income", "Unbalanced parenthesis at position 1"),
        ("payment)", "Unbalanced parenthesis at position 8"),
        ("()", "Empty parentheses at position 1"),
        ('""', "Empty phrase at position 1"),
        ("payment OR", "Dangling operator OR at position 9"),
        ("OR payment", "Dangling operator OR at position 1"),
        ("payment OR OR income", "Dangling operator OR at position 9"),
        ("payment AND", "Dangling operator AND at position 9"),
        ("payment NOT", "Dangling operator NOT at position 9"),
        ("payment -", 'Dangling operator "-" at position 9'),
        ("(payment NOT)", "Dangling operator NOT at position 10"),
        ("colour:red", 'Unknown filter "colour:" (known: tag, title, in, type, lang, created'),
        ("tag:", "Missing value for tag: at position 1"),
        ("created:2024-13-01", 'Invalid date "2024-13-01" in created:'),
        ("modified:yesterday", 'Invalid date "yesterday" in modified:'),
        ("created:2024-02-30", 'Invalid date "2024-02-30" in created:'),
        ("created:>", 'Invalid date "" in created:'),
        ("created:2024..2023", 'Empty date range "2024..2023" in created:'),
        ("created:..", 'Invalid date range ".." in created:'),
        ("lang:german", 'Invalid language "german" in lang:'),
        ("*", 'A prefix needs at least 2 characters before "*"'),
        ("a*", 'A prefix needs at least 2 characters before "*"'),
        ("in*voice", '"*" is only allowed at the end of a word'),
        ("e-ma*", "A prefix must be a single word"),
        ("& ! ?", "Query has no words to search for"),
        ("x" * 10_000, "Query too long: 10000 characters (at most 1000)"),
        ("word " * 60, "Query has too many terms: 60 (at most 50)"),
    ],
)
def test_malformed_queries_raise_query_error(index: SearchIndex, query: str, message: str) -> None:
    with pytest.raises(QueryError) as raised:
        index.search(query, principals=["user:1"])
    assert message in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_operators_and_precedence() -> None:
    assert parse_query("a b OR c") == And((Word("a"), Or((Word("b"), Word("c")))))
    assert parse_query("NOT a") == Not(Word("a"))
    assert parse_query("-(a b)") == Not(And((Word("a"), Word("b"))))
    assert parse_query("a or b") == And((Word("a"), Word("or"), Word("b")))
    assert parse_query("e-mail") == Phrase(("e", "mail"))
    assert parse_query("title:Rep*") == Prefix("rep", "title")
    assert parse_query("a & b") == And((Word("a"), Word("b")))


def test_only_stop_words_search_for_them(index: SearchIndex, make_page) -> None:
    index.replace_document(1, [make_page(1, 1, "to be or not to be")])
    assert index.search("to be or not", principals=["user:1"]).total == 1
    assert index.search('"not to be"', principals=["user:1"]).total == 1


def test_random_garbage_is_a_result_or_a_query_error(index: SearchIndex, make_page) -> None:
    index.replace_document(1, [make_page(1, 1, "alpha beta gamma", tags=("x",))])
    alphabet = ['"', "(", ")", "-", "*", ":", " ", " ", "OR", "AND", "NOT", "tag", "in:",
                "alpha", "b", "created:", "2024", "..", ">", "é", "\x00", "\\", "/"]  # fmt: skip
    rng = random.Random(7)
    outcomes = {"results": 0, "errors": 0}
    for _ in range(300):
        query = "".join(rng.choices(alphabet, k=rng.randrange(1, 12)))
        try:
            index.search(query, principals=["user:1"])
            outcomes["results"] += 1
        except QueryError:
            outcomes["errors"] += 1
    assert outcomes["results"] > 20 and outcomes["errors"] > 20


@pytest.mark.parametrize(
    "query",
    ["(" * 400 + "word" + ")" * 400, "NOT " * 200 + "word", "-(" * 300 + "word" + ")" * 300],
)
def test_deep_nesting_is_a_query_error(index: SearchIndex, query: str) -> None:
    with pytest.raises(QueryError) as raised:
        index.search(query[:1000], principals=["user:1"])
    assert "nests too deep" in str(raised.value)


def test_nesting_within_the_limit_parses() -> None:
    assert parse_query("(" * 20 + "word" + ")" * 20) == Word("word")

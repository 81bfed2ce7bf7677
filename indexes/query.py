"""Our search query language, parsed into a small AST that each engine translates.

Syntax (documented for users in ``parse_query``): words, "exact phrases", ``OR``,
``AND`` (implied between terms), ``NOT word`` and ``-word``, ``prefix*``, parentheses and
field filters (``tag:``, ``title:``, ``in:``, ``type:``, ``lang:``, ``created:``,
``modified:``). ``OR`` binds tighter than the implied ``AND``, as in web search engines:
``invoice 2023 OR 2024`` means ``invoice AND (2023 OR 2024)``.

Filters: ``tag:`` and ``type:`` match whole values, case-insensitively (quote values
with spaces: ``tag:"tax office"``); ``in:"Home/Taxes"`` matches that folder and every
folder below it; ``lang:de`` an ISO 639-1 code; ``title:`` words like the page text
(stemmed; quoted: an exact phrase; ``title:rep*``: a prefix). Dates (UTC) name a year,
month or day: ``created:2024``, ``created:2024-03``, ``created:2024-03-05``; ``>D`` means
after that whole period, ``>=D`` from its start, ``<D`` before its start, ``<=D`` until
its end, ``D1..D2`` from the start of D1 to the end of D2 (either side may be left out).

A quoted phrase matches exact word forms (not stems). ``NOT`` and ``-`` alone (``-draft``)
mean every readable page without that word. Punctuation-only words (``&``) are skipped;
words joined by punctuation (``e-mail``, ``3.5``) must stand together, like a phrase.

Every malformed query raises :class:`QueryError` naming what is wrong and where
(positions count characters from 1).
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from archivist.indexes.analysis import folder_query_term, keyword, language_code, words

MAX_QUERY_LENGTH = 1000
MAX_TERMS = 50
# Parentheses and NOT nest at most this deep: the parser and the engines' query builders
# recurse once per level.
MAX_DEPTH = 20
MIN_PREFIX_LENGTH = 2
FILTERS = ("tag", "title", "in", "type", "lang", "created", "modified")

TextField = Literal["text", "title"]
KeywordField = Literal["tag", "in", "type", "lang"]
DateField = Literal["created", "modified"]


class QueryError(ValueError):
    """A search query that cannot be run; the message says what is wrong and where."""


@dataclass(frozen=True)
class Word:
    """A word, matched in its plain form or by its stem in the page's language."""

    text: str
    field: TextField = "text"


@dataclass(frozen=True)
class Prefix:
    """Words starting with ``text`` (plain forms only, never stems)."""

    text: str
    field: TextField = "text"


@dataclass(frozen=True)
class Phrase:
    """Exact word forms, adjacent and in order (a single word: that exact form)."""

    words: tuple[str, ...]
    field: TextField = "text"


@dataclass(frozen=True)
class Keyword:
    """An exact, case-insensitive match on a tag, folder (``in``), type or language."""

    field: KeywordField
    value: str


@dataclass(frozen=True)
class DateRange:
    """``start <= date < end`` in epoch seconds (UTC); ``None`` leaves a side open."""

    field: DateField
    start: int | None
    end: int | None


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Word | Prefix | Phrase | Keyword | DateRange | And | Or | Not

_TokenKind = Literal["word", "phrase", "field", "lparen", "rparen", "or", "and", "not", "neg"]


@dataclass(frozen=True)
class _Token:
    kind: _TokenKind
    text: str
    position: int  # 1-based
    name: str = ""  # filter name, for "field" tokens
    quoted: bool = False  # a "field" token whose value was quoted


_OPERATORS: dict[str, _TokenKind] = {"OR": "or", "AND": "and", "NOT": "not"}
_FIELD = re.compile(r"([A-Za-z]+):(.*)", re.DOTALL)
_DELIMITERS = frozenset('()"')
_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")


def parse_query(query: str) -> Node:
    """Parse ``query`` into an AST.

    Raises :class:`QueryError` for an empty or overlong query, too many terms, unbalanced
    quotes or parentheses, nesting deeper than :data:`MAX_DEPTH`, a dangling operator, an
    unknown filter, a missing or invalid filter value (bad date, bad language code), a prefix
    shorter than two characters, a ``*`` inside a word, or a query with nothing searchable in
    it (only punctuation).
    """
    if len(query) > MAX_QUERY_LENGTH:
        raise QueryError(f"Query too long: {len(query)} characters (at most {MAX_QUERY_LENGTH})")
    tokens = _tokenize(query)
    if not tokens:
        raise QueryError("Empty query")
    terms = sum(1 for t in tokens if t.kind in ("word", "phrase", "field"))
    if terms > MAX_TERMS:
        raise QueryError(f"Query has too many terms: {terms} (at most {MAX_TERMS})")
    parser = _Parser(tokens)
    node = parser.parse()
    if node is None:
        raise QueryError("Query has no words to search for")
    return node


def _tokenize(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        if char.isspace():
            i += 1
        elif char == "(":
            tokens.append(_Token("lparen", char, i + 1))
            i += 1
        elif char == ")":
            tokens.append(_Token("rparen", char, i + 1))
            i += 1
        elif char == '"':
            text, i = _quoted(query, i)
            tokens.append(_Token("phrase", text, i - len(text) - 1))
        elif char == "-":
            if i + 1 >= n or query[i + 1].isspace() or query[i + 1] == ")":
                raise QueryError(f'Dangling operator "-" at position {i + 1}')
            tokens.append(_Token("neg", char, i + 1))
            i += 1
        else:
            start = i
            while i < n and not query[i].isspace() and query[i] not in _DELIMITERS:
                i += 1
            chunk = query[start:i]
            tokens.append(_chunk_token(query, chunk, start))
            if tokens[-1].quoted:
                text, i = _quoted(query, i)
                tokens[-1] = _Token("field", text, start + 1, tokens[-1].name, quoted=True)
    return tokens


def _quoted(query: str, start: int) -> tuple[str, int]:
    """Read a quoted string starting at ``query[start] == '"'``; return it and the next index."""
    end = query.find('"', start + 1)
    if end < 0:
        raise QueryError(f"Unbalanced quote at position {start + 1}")
    return query[start + 1 : end], end + 1


def _chunk_token(query: str, chunk: str, start: int) -> _Token:
    operator = _OPERATORS.get(chunk)
    if operator is not None:
        return _Token(operator, chunk, start + 1)
    field = _FIELD.fullmatch(chunk)
    if field is None:
        return _Token("word", chunk, start + 1)
    name, value = field.group(1).lower(), field.group(2)
    if name not in FILTERS:
        known = ", ".join(FILTERS)
        raise QueryError(f'Unknown filter "{field.group(1)}:" (known: {known})')
    end = start + len(chunk)
    if not value:
        if end < len(query) and query[end] == '"':
            return _Token("field", "", start + 1, name, quoted=True)
        raise QueryError(f"Missing value for {name}: at position {start + 1}")
    return _Token("field", value, start + 1, name)


class _Parser:
    """Recursive descent: and_expr := or_expr+; or_expr := unary (OR unary)*;
    unary := (NOT | -) unary | primary; primary := ( and_expr ) | word | phrase | filter.
    Sub-expressions with nothing searchable (only punctuation) parse to ``None``."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    def deeper(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError(
                f"Query nests too deep at position {token.position} "
                f"(at most {MAX_DEPTH} levels of parentheses and NOT)"
            )

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Node | None:
        node = self.and_expr()
        token = self.peek()
        if token is not None:  # only a stray ")" stops and_expr early
            raise QueryError(f"Unbalanced parenthesis at position {token.position}")
        return node

    def and_expr(self) -> Node | None:
        items: list[Node] = []
        while (token := self.peek()) is not None and token.kind != "rparen":
            if token.kind == "and":
                self.take()
                following = self.peek()
                if not items or following is None or following.kind in ("rparen", "or", "and"):
                    raise QueryError(f"Dangling operator AND at position {token.position}")
                continue
            node = self.or_expr()
            if node is not None:
                items.append(node)
        if not items:
            return None
        return items[0] if len(items) == 1 else And(tuple(items))

    def or_expr(self) -> Node | None:
        items = [self.unary()]
        while (token := self.peek()) is not None and token.kind == "or":
            self.take()
            following = self.peek()
            if following is None or following.kind in ("rparen", "or", "and"):
                raise QueryError(f"Dangling operator OR at position {token.position}")
            items.append(self.unary())
        kept = [item for item in items if item is not None]
        if not kept:
            return None
        return kept[0] if len(kept) == 1 else Or(tuple(kept))

    def unary(self) -> Node | None:
        token = self.take()
        if token.kind in ("not", "neg"):
            following = self.peek()
            if following is None or following.kind in ("rparen", "or", "and"):
                name = "NOT" if token.kind == "not" else '"-"'
                raise QueryError(f"Dangling operator {name} at position {token.position}")
            self.deeper(token)
            item = self.unary()
            self.depth -= 1
            return None if item is None else Not(item)
        if token.kind in ("or", "and"):
            raise QueryError(f"Dangling operator {token.text} at position {token.position}")
        if token.kind == "lparen":
            following = self.peek()
            if following is not None and following.kind == "rparen":
                raise QueryError(f"Empty parentheses at position {token.position}")
            self.deeper(token)
            node = self.and_expr()
            self.depth -= 1
            if self.peek() is None:
                raise QueryError(f"Unbalanced parenthesis at position {token.position}")
            self.take()
            return node
        if token.kind == "rparen":
            raise QueryError(f"Unbalanced parenthesis at position {token.position}")
        if token.kind == "phrase":
            found = words(token.text)
            if not found:
                raise QueryError(f"Empty phrase at position {token.position}")
            return Phrase(tuple(found))
        if token.kind == "field":
            return _filter(token)
        return _word(token.text, token.position, "text")


def _word(text: str, position: int, field: TextField) -> Node | None:
    if "*" in text:
        base = text[:-1] if text.endswith("*") else None
        if base is None or "*" in base:
            raise QueryError(f'"*" is only allowed at the end of a word, at position {position}')
        found = words(base)
        if len(found) > 1:
            raise QueryError(f"A prefix must be a single word, at position {position}")
        if not found or len(found[0]) < MIN_PREFIX_LENGTH:
            raise QueryError(
                f'A prefix needs at least {MIN_PREFIX_LENGTH} characters before "*",'
                f" at position {position}"
            )
        return Prefix(found[0], field)
    found = words(text)
    if not found:
        return None  # punctuation only, e.g. "&": nothing to search for
    # "e-mail" or "3.5" split into several words: they must stand together.
    return Word(found[0], field) if len(found) == 1 else Phrase(tuple(found), field)


def _filter(token: _Token) -> Node | None:
    name, value = token.name, token.text
    if not value.strip():
        raise QueryError(f"Missing value for {name}: at position {token.position}")
    if name == "title":
        if token.quoted:
            return Phrase(tuple(words(value)), "title") if words(value) else None
        return _word(value, token.position, "title")
    if name in ("created", "modified"):
        start, end = _date_range(value, name)
        return DateRange(name, start, end)  # type: ignore[arg-type]
    if name == "lang":
        code = language_code(value)
        if not re.fullmatch(r"[a-z]{2,3}", code):
            raise QueryError(f'Invalid language "{value}" in lang: (use a code like en or de)')
        return Keyword("lang", code)
    normalized = folder_query_term(value) if name == "in" else keyword(value)
    if not normalized:
        raise QueryError(f"Missing value for {name}: at position {token.position}")
    return Keyword(name, normalized)  # type: ignore[arg-type]


def _date_range(value: str, name: str) -> tuple[int | None, int | None]:
    """Translate ``>D``, ``>=D``, ``<D``, ``<=D``, ``D``, ``D1..D2`` (either side may be
    left out) into a half-open span of epoch seconds; D is a year, month or day."""
    if ".." in value:
        low, high = value.split("..", 1)
        if not low and not high:
            raise QueryError(f'Invalid date range "{value}" in {name}:')
        start = _span(low, name)[0] if low else None
        end = _span(high, name)[1] if high else None
        if start is not None and end is not None and start >= end:
            raise QueryError(f'Empty date range "{value}" in {name}: (the start is after the end)')
        return start, end
    for operator in (">=", "<=", ">", "<"):
        if value.startswith(operator):
            first, after = _span(value[len(operator) :], name)
            return {
                ">=": (first, None),
                ">": (after, None),
                "<=": (None, after),
                "<": (None, first),
            }[operator]
    return _span(value, name)


def _span(text: str, name: str) -> tuple[int, int]:
    """The first second of a year, month or day, and the first second after it."""
    match = _DATE.fullmatch(text.strip())
    try:
        if match is None:
            raise ValueError(text)
        year, month, day = (int(g) if g else None for g in match.groups())
        assert year is not None
        if month is None:
            first, after = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
        elif day is None:
            first = datetime(year, month, 1, tzinfo=UTC)
            after = first + timedelta(days=monthrange(year, month)[1])
        else:
            first = datetime(year, month, day, tzinfo=UTC)
            after = first + timedelta(days=1)
    except (ValueError, OverflowError):
        raise QueryError(
            f'Invalid date "{text}" in {name}: (use YYYY, YYYY-MM or YYYY-MM-DD)'
        ) from None
    return int(first.timestamp()), int(after.timestamp())

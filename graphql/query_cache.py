"""Parsed and validated GraphQL documents, kept so that a repeated query skips both steps.

Clients send the same few query texts over and over (an app's search box, a folder
listing); parsing and validating one (the specification's rules, then our alias, depth and
cost limits) costs about as much as answering a small query. Documents are kept by their
exact text in a bounded LRU. Validation depends on the text and on one thing more: the values
of the variables that the cost limit reads (``first``/``last: $n``). So a cached document
remembers which of those values it passed with, and a request with other values is validated
again (and refused if they are too large). Only documents that passed validation are kept: a
refused or hostile document costs its full parse every time, as before.

The cache is shared by the threads that validate requests; one lock guards it. Cached
documents are never changed by execution (graphql-core treats the AST as read-only).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import ArgumentNode, DocumentNode, VariableNode, Visitor, visit

DOCUMENTS = 256  # distinct query texts kept
VALUES_PER_DOCUMENT = 32  # distinct page-size variable values remembered per document
_PAGE_SIZE_ARGUMENTS = frozenset({"first", "last"})


@dataclass
class _Entry:
    document: DocumentNode
    size_variables: tuple[str, ...]  # variables used as first/last, which the cost reads
    passed: set[str] = field(default_factory=set)  # their values it passed validation with


class _SizeVariables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
        if node.name.value in _PAGE_SIZE_ARGUMENTS and isinstance(node.value, VariableNode):
            self.names.add(node.value.name.value)


def size_variables(document: DocumentNode) -> tuple[str, ...]:
    """The names of the variables given as ``first`` or ``last`` anywhere in ``document``."""
    visitor = _SizeVariables()
    visit(document, visitor)
    return tuple(sorted(visitor.names))


class ValidatedDocuments:
    """A bounded, thread-safe LRU of documents that passed validation (see the module)."""

    def __init__(self, size: int = DOCUMENTS) -> None:
        self.size = size
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def document(self, query: str) -> DocumentNode | None:
        """The cached parse of ``query`` (valid for some variables), or None."""
        with self._lock:
            entry = self._entries.get(query)
            if entry is None:
                return None
            self._entries.move_to_end(query)
            return entry.document

    def passed(self, query: str, variables: Any) -> bool:
        """Whether ``query`` passed validation with these values of its size variables."""
        with self._lock:
            entry = self._entries.get(query)
            found = entry is not None and _values(entry, variables) in entry.passed
            if found:
                self.hits += 1
            else:
                self.misses += 1
            return found

    def remember(self, query: str, document: DocumentNode, variables: Any) -> None:
        """Record that ``document`` (the parse of ``query``) passed with ``variables``."""
        names = size_variables(document)
        with self._lock:
            entry = self._entries.get(query)
            if entry is None or entry.document is not document:
                entry = self._entries[query] = _Entry(document, names)
            if len(entry.passed) >= VALUES_PER_DOCUMENT:
                entry.passed.clear()
            entry.passed.add(_values(entry, variables))
            self._entries.move_to_end(query)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


def _values(entry: _Entry, variables: Any) -> str:
    given: Mapping[str, Any] = variables if isinstance(variables, Mapping) else {}
    # Canonical JSON: 5 and 5.0, or True and 1, must not share a key (the rule treats them
    # differently); json.dumps keeps them apart.
    return json.dumps([given.get(name) for name in entry.size_variables], default=repr)

"""Query limits, all checked before anything runs: size, aliases, depth, cost, page sizes.

A request is parsed with a token limit (:func:`parse_bounded`), so that parsing and
validation of any accepted document take bounded time; then these validation rules refuse
an operation that

- uses more aliases than ``max_aliases`` (``TOO_MANY_ALIASES``),
- nests deeper than ``max_depth`` fields (``QUERY_TOO_DEEP``),
- asks for a page size below 0 or above the connection's cap (``INVALID_FIRST``,
  ``INVALID_LAST``), or
- would cost more than ``max_cost`` (``QUERY_TOO_COSTLY``).

The cost of an operation estimates the work it asks for: every object field costs 1, a few
fields cost more (:data:`FIELD_COSTS`: search, page text and words, file URLs, login,
uploads), a list without ``first`` counts as :data:`LIST_SIZE` items, and a connection
counts its ``edges`` ``first`` (or ``last``) times (the default page size without them, see
:data:`archivist.graphql.connections.PAGE_SIZES`) on top of :data:`LIST_BASE` for the
listing itself. Fragments are costed once each, so that fragments spreading each other
cannot make the analysis itself slow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    ValidationContext,
    VariableNode,
    get_named_type,
    get_nullable_type,
    parse,
)

from archivist.graphql.connections import default_page_size, page_size_limit

# Fields dearer than 1: what they make the server do (a search engine query, a page's text or
# word boxes, an HMAC per URL, an argon2 check, a file upload).
FIELD_COSTS: dict[tuple[str, str], int] = {
    ("Query", "search"): 50,
    ("Document", "queuePosition"): 5,
    ("Page", "text"): 5,
    ("Page", "words"): 20,
    ("Page", "previewUrl"): 2,
    ("Document", "originalUrl"): 2,
    ("Document", "downloadUrl"): 2,
    ("Document", "thumbnailUrl"): 2,
    ("DocumentVersion", "downloadUrl"): 2,
    ("SearchHit", "highlights"): 5,
    ("SearchHit", "snippet"): 2,
    ("Folder", "availableTags"): 5,  # a query of its own per node
    ("Document", "availableTags"): 5,
    ("Document", "availableDocumentTypes"): 5,
    ("Mutation", "login"): 100,
    ("Mutation", "uploadDocument"): 100,
}
SIZE_CODES = {"first": "INVALID_FIRST", "last": "INVALID_LAST"}
# What one listing (a field with ``first``) costs before its items.
LIST_BASE = 10
# How many items a list without ``first`` (tags, versions, fields) is assumed to hold.
LIST_SIZE = 10


@dataclass(frozen=True)
class QueryLimits:
    """The limits one request is held to (from the settings)."""

    max_depth: int
    max_cost: int
    max_aliases: int
    max_tokens: int
    max_length: int = 1024 * 1024


def parse_bounded(query: str, limits: QueryLimits) -> DocumentNode:
    """Parse ``query``, refusing a document of more than ``max_tokens`` tokens (comments
    count too) or ``max_length`` characters.

    Raises GraphQLError: ``QUERY_TOO_LARGE`` beyond a limit, a syntax error otherwise.
    """
    try:
        return parse(
            query,
            max_lexical_tokens=limits.max_tokens,
            max_comments=limits.max_tokens,
            max_source_length=limits.max_length,
        )
    except GraphQLError as error:
        if "nested too deeply" in error.message:
            raise GraphQLError(error.message, extensions={"code": "QUERY_TOO_DEEP"}) from None
        if "Parsing aborted" in error.message:
            raise GraphQLError(
                f"The query is too large: at most {limits.max_tokens} tokens and "
                f"{limits.max_length} characters.",
                extensions={"code": "QUERY_TOO_LARGE"},
            ) from None
        raise


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }


def alias_limit_rule(max_aliases: int) -> type[ASTValidationRule]:
    """A validation rule refusing a document with more than ``max_aliases`` aliases."""

    class AliasLimit(ASTValidationRule):
        count = 0

        def enter_field(self, node: FieldNode, *_: Any) -> None:
            if node.alias is None:
                return
            self.count += 1
            if self.count == max_aliases + 1:  # one error, however many more there are
                self.report_error(
                    GraphQLError(
                        f"The query uses more than {max_aliases} aliases.",
                        node,
                        extensions={"code": "TOO_MANY_ALIASES"},
                    )
                )

    return AliasLimit


def depth_limit_rule(max_depth: int) -> type[ASTValidationRule]:
    """A validation rule refusing operations nested deeper than ``max_depth`` fields."""

    class DepthLimit(ASTValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            depth = _Depth(_fragments(self.context.document)).of(node.selection_set)
            if depth > max_depth:
                name = node.name.value if node.name else "anonymous"
                self.report_error(
                    GraphQLError(
                        f"Operation '{name}' is nested {depth} levels deep; "
                        f"the limit is {max_depth}.",
                        node,
                        extensions={"code": "QUERY_TOO_DEEP"},
                    )
                )

    return DepthLimit


class _Depth:
    """How many fields deep a selection nests; each fragment is measured once."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.known: dict[str, int] = {}
        self.visiting: set[str] = set()

    def of(self, selection_set: SelectionSetNode | None) -> int:
        if selection_set is None:
            return 0
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value.startswith("__"):
                    continue  # introspection is bounded by the schema
                deepest = max(deepest, 1 + self.of(selection.selection_set))
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, self.of(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                deepest = max(deepest, self.fragment(selection.name.value))
        return deepest

    def fragment(self, name: str) -> int:
        if name in self.known:
            return self.known[name]
        if name in self.visiting or name not in self.fragments:
            return 0  # cycles and unknown fragments are other rules' errors
        self.visiting.add(name)
        depth = self.of(self.fragments[name].selection_set)
        self.visiting.discard(name)
        self.known[name] = depth
        return depth


class _Cost:
    """The cost of selections (see the module docstring); reports bad ``first`` values."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        report: Callable[[GraphQLError], None],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.report = report
        self.known: dict[str, int] = {}
        self.visiting: set[str] = set()

    def of(self, selection_set: SelectionSetNode | None, parent: Any) -> int:
        if selection_set is None:
            return 0
        return sum(self.selection(selection, parent) for selection in selection_set.selections)

    def selection(self, selection: SelectionNode, parent: Any) -> int:
        if isinstance(selection, FieldNode):
            return self.field(selection, parent)
        if isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            inner = self.schema.get_type(condition.name.value) if condition else parent
            return self.of(selection.selection_set, inner or parent)
        if isinstance(selection, FragmentSpreadNode):
            return self.fragment(selection.name.value)
        return 0

    def fragment(self, name: str) -> int:
        if name in self.known:
            return self.known[name]
        definition = self.fragments.get(name)
        if name in self.visiting or definition is None:
            return 0  # cycles and unknown fragments are other rules' errors
        self.visiting.add(name)
        parent = self.schema.get_type(definition.type_condition.name.value)
        cost = self.of(definition.selection_set, parent)
        self.visiting.discard(name)
        self.known[name] = cost
        return cost

    def field(self, node: FieldNode, parent: Any) -> int:
        name = node.name.value
        if name.startswith("__") or not isinstance(
            parent, GraphQLObjectType | GraphQLInterfaceType
        ):
            return 0  # introspection is bounded by the schema; unknown types fail elsewhere
        definition = parent.fields.get(name)
        if definition is None:
            return 0  # an unknown field is another rule's error
        named = get_named_type(definition.type)
        is_leaf = node.selection_set is None
        cost = FIELD_COSTS.get((parent.name, name), 0 if is_leaf else 1)
        if is_leaf:
            return cost
        if "first" in definition.args:
            size = self.page_size(node, parent.name, name)
            for selection in node.selection_set.selections if node.selection_set else ():
                if isinstance(selection, FieldNode) and selection.name.value == "edges":
                    edges = named.fields.get("edges") if hasattr(named, "fields") else None
                    item = get_named_type(edges.type) if edges else named
                    cost += size * (1 + self.of(selection.selection_set, item))
                else:
                    cost += self.selection(selection, named)
            return LIST_BASE + cost
        inner = self.of(node.selection_set, named)
        if isinstance(get_nullable_type(definition.type), GraphQLList):
            return cost + LIST_SIZE * inner
        return cost + inner

    def page_size(self, node: FieldNode, type_name: str, field_name: str) -> int:
        """How many items ``first`` or ``last`` asks for (the default without them);
        reports a value below 0 or above the cap."""
        cap = page_size_limit(type_name, field_name)
        size = default_page_size(type_name, field_name)
        for argument in node.arguments or ():
            if argument.name.value not in ("first", "last"):
                continue
            value: Any = None
            if isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                value = self.variables.get(argument.value.name.value)
            if not isinstance(value, int) or isinstance(value, bool):
                continue  # null, or a wrong type another rule reports
            if not 0 <= value <= cap:
                self.report(
                    GraphQLError(
                        f"'{argument.name.value}' must be between 0 and {cap} (got {value}).",
                        node,
                        extensions={"code": SIZE_CODES[argument.name.value]},
                    )
                )
                return 0
            size = value
        return size


def cost_limit_rule(max_cost: int, variables: Mapping[str, Any]) -> type[ASTValidationRule]:
    """A validation rule refusing operations whose cost is above ``max_cost``."""

    class CostLimit(ASTValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            assert isinstance(self.context, ValidationContext)  # a schema is being validated
            schema = self.context.schema
            root = schema.get_root_type(node.operation)
            analysis = _Cost(
                schema, _fragments(self.context.document), variables, self.report_error
            )
            cost = analysis.of(node.selection_set, root)
            if cost > max_cost:
                name = node.name.value if node.name else "anonymous"
                self.report_error(
                    GraphQLError(
                        f"Operation '{name}' would cost {cost}; the limit is {max_cost}. "
                        "Ask for fewer items (first) or fewer fields.",
                        node,
                        extensions={"code": "QUERY_TOO_COSTLY"},
                    )
                )

    return CostLimit


def operation_cost(
    schema: GraphQLSchema, query: str, variables: Mapping[str, Any] | None = None
) -> int:
    """The cost of the (first) operation in ``query``, as the cost limit computes it."""
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    analysis = _Cost(schema, _fragments(document), variables or {}, lambda error: None)
    return analysis.of(operation.selection_set, schema.get_root_type(operation.operation))


def validation_rules(
    limits: QueryLimits,
) -> Callable[[Any, DocumentNode, Any], list[type[ASTValidationRule]]]:
    """Ariadne's ``validation_rules`` callable: the rules for one request and its variables."""

    def rules(_context: Any, _document: DocumentNode, data: Any) -> list[type[ASTValidationRule]]:
        variables = data.get("variables") if isinstance(data, dict) else None
        return [
            alias_limit_rule(limits.max_aliases),
            depth_limit_rule(limits.max_depth),
            cost_limit_rule(limits.max_cost, variables if isinstance(variables, dict) else {}),
        ]

    return rules

"""Plain fields: scalar fields read straight from their object, completed without graphql-core's
per-field machinery.

A search answer of 20 hits or a listing of 100 children is mostly scalar fields that only read
a key or attribute (``pageNumber``, a highlight box's ``x0``...): thousands per response. For
each, graphql-core builds a path, a resolve info and a coroutine check, calls the resolver and
completes the value through the non-null and leaf steps, about 8 µs a field on our machine,
more than the data costs. :class:`PlainFieldsExecutionContext` reads such a field's value and
serializes it in one step, and hands every other case to graphql-core unchanged:

* A field is plain when its resolver is graphql-core's default or the one Ariadne sets for
  ``convert_names_case`` (both read a key of a mapping or an attribute, and call it when it is
  callable), made a :class:`PlainResolver` by :func:`mark_plain_fields`, or a
  :class:`SourceResolver` (a pure function of the object: global ids), or ``__typename``;
  when it has no arguments; and when its type is a scalar or enum, non-null or not.
* The value goes the fast way only when it is a plain value: not missing (``None``: a non-null
  field then reports its error), not callable (a method to call with the resolve info), not
  awaitable and not an exception; its serialization must succeed and give a value.
  Anything else runs the field through graphql-core's ``execute_field``, which resolves it
  again: reading a key or attribute twice changes nothing.
* The response keeps the query's field order; no middleware may be installed (it would have
  to see every field).

The fast way gives exactly the value graphql-core would: the same resolver semantics and the
type's own ``serialize``; ``tests/test_plain_fields.py`` compares the two on whole responses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ariadne.utils import convert_camel_case_to_snake
from graphql import (
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    is_leaf_type,
)
from graphql.execution.executor import Executor
from graphql.pyutils import Path, Undefined, gather_with_cancel

# One field's plan: (response name, what to read, leaf type) for a plain field, where what to
# read is an attribute or key (a str) or a SourceResolver's function; (response name, None,
# None) for a field graphql-core executes.
_Step = tuple[str, "str | Callable[[Any], Any] | None", GraphQLLeafType | None]


class PlainResolver:
    """Resolves a field to its object's key or attribute ``attr`` (called with the resolve
    info and arguments when callable), as graphql-core's default resolver and Ariadne's
    ``resolve_to`` do; marks the field as plain for :class:`PlainFieldsExecutionContext`."""

    __slots__ = ("attr",)

    def __init__(self, attr: str) -> None:
        self.attr = attr

    def __call__(self, parent: Any, info: Any, **arguments: Any) -> Any:
        if isinstance(parent, Mapping):
            value = parent.get(self.attr)
        else:
            value = getattr(parent, self.attr, None)
        if callable(value):
            return value(info, **arguments)
        return value

    def __repr__(self) -> str:
        return f"PlainResolver({self.attr!r})"


class SourceResolver:
    """Resolves a field with ``read(parent)`` alone: a function of the object that neither
    needs the resolve info nor changes anything (a global id from a row's id), so the plain
    way may call it, and graphql-core call it again where the value is not plain. Marks the
    field for :class:`PlainFieldsExecutionContext` like :class:`PlainResolver`."""

    __slots__ = ("read",)

    def __init__(self, read: Callable[[Any], Any]) -> None:
        self.read = read

    def __call__(self, parent: Any, info: Any, **arguments: Any) -> Any:
        return self.read(parent)


def _is_ariadne_resolve_to(resolve: Any) -> bool:
    return getattr(resolve, "__qualname__", "") == "resolve_to.<locals>.resolver" and (
        getattr(resolve, "__module__", "") == "ariadne.resolvers"
    )


def mark_plain_fields(schema: GraphQLSchema) -> int:
    """Give every field that reads its object's key or attribute a :class:`PlainResolver`:
    fields without a resolver (graphql-core's default reads the field's name) and those
    Ariadne's ``convert_names_case`` gave one (it reads the snake_case name). Returns how
    many fields were marked."""
    marked = 0
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for name, field in named.fields.items():
            if field.resolve is None:
                field.resolve = PlainResolver(name)
            elif _is_ariadne_resolve_to(field.resolve):
                field.resolve = PlainResolver(convert_camel_case_to_snake(name))
            else:
                continue
            marked += 1
    return marked


def _typename(name: str) -> Callable[[Any], str]:
    """``__typename`` of an object of the type ``name`` (what graphql-core's meta field
    answers: the parent type's name)."""

    def read(_source: Any) -> str:
        return name

    return read


class PlainFieldsExecutionContext(Executor):
    """graphql-core's executor, with plain scalar fields completed in one step (see the
    module). ``_plans`` is per request, as the executor is."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Plans by the identity of the grouped field set (graphql-core memoizes one set per
        # type and selection, so a list's items share it); the set is kept alive with it.
        self._plans: dict[int, tuple[Any, list[_Step] | None]] = {}

    def _plan(self, parent_type: GraphQLObjectType, grouped: Any) -> list[_Step] | None:
        found = self._plans.get(id(grouped))
        if found is not None and found[0] is grouped:
            return found[1]
        steps: list[_Step] = []
        plain = 0
        if self.middleware_manager is None:
            for response_name, field_details_list in grouped.items():
                node = field_details_list[0].node
                field = self.schema.get_field(parent_type, node.name.value)
                kind = field.type if field is not None else None
                if isinstance(kind, GraphQLNonNull):
                    kind = kind.of_type
                read: str | Callable[[Any], Any] | None = None
                if field is not None and not field.args and not node.arguments:
                    if isinstance(field.resolve, PlainResolver):
                        read = field.resolve.attr
                    elif isinstance(field.resolve, SourceResolver):
                        read = field.resolve.read
                    elif node.name.value == "__typename":
                        read = _typename(parent_type.name)
                if read is not None and is_leaf_type(kind):
                    steps.append((response_name, read, kind))
                    plain += 1
                else:
                    steps.append((response_name, None, None))
        plan = steps if plain else None
        self._plans[id(grouped)] = (grouped, plan)
        return plan

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        plan = self._plan(parent_type, grouped_field_set)
        if plan is None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        is_awaitable = self.is_awaitable
        mapping = isinstance(source_value, Mapping)
        try:
            for response_name, read, leaf in plan:
                if leaf is not None:
                    if isinstance(read, str):
                        value = (
                            source_value.get(read) if mapping else getattr(source_value, read, None)
                        )
                    else:
                        try:
                            value = read(source_value)  # type: ignore[misc]
                        except Exception:  # graphql-core calls it again and reports it, below
                            value = None
                    if not (
                        value is None
                        or callable(value)
                        or isinstance(value, Exception)
                        or is_awaitable(value)
                    ):
                        try:
                            serialized = leaf.serialize(value)
                        except Exception:  # graphql-core reports it, below
                            serialized = None
                        if serialized is not None and serialized is not Undefined:
                            results[response_name] = serialized
                            continue
                result = self.execute_field(
                    parent_type,
                    source_value,
                    grouped_field_set[response_name],
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return self._gathered(results, awaitable_fields)

    async def _gathered(self, results: dict[str, Any], awaitable_fields: list[str]) -> Any:
        """``results`` with its awaitable values awaited, as graphql-core's execute_fields."""
        if len(awaitable_fields) == 1:
            results[awaitable_fields[0]] = await results[awaitable_fields[0]]
            return results
        awaited = await gather_with_cancel(*(results[name] for name in awaitable_fields))
        results.update(zip(awaitable_fields, awaited, strict=True))
        return results

"""Plain fields: values read straight from their object, completed without graphql-core's
per-field machinery.

A search answer of 20 hits or a listing of 100 children is mostly fields that only read a key
or attribute (``pageNumber``, a highlight box's ``x0``...) or a value the request already holds
(a listed document's tags, primed in the request's loaders): thousands per response. For each,
graphql-core builds a path, a resolve info and a coroutine check, calls the resolver and
completes the value through the non-null, list, abstract-type and leaf steps, about 8 µs a
field on our machine, more than the data costs. :class:`PlainFieldsExecutionContext` reads
such a field's value and completes it in one step, and hands every other case to graphql-core:

* A field is plain when it has no arguments and its resolver is graphql-core's default or the
  one Ariadne sets for ``convert_names_case`` (both read a key of a mapping or an attribute,
  and call it when it is callable), made a :class:`PlainResolver` by :func:`mark_plain_fields`;
  a :class:`SourceResolver` (a pure function of the object: global ids); a
  :class:`ContextResolver` (a function of the object and the request's context, which may
  return an awaitable); or ``__typename``.
* A scalar or enum value is coerced at once when it is a plain value: not missing (``None``: a
  non-null field then reports its error), not callable (a method to call with the resolve
  info), not awaitable and not an exception, and its coercion succeeds and gives a value.
* An object, a value of an interface whose ``resolve_type`` is a :class:`SourceTypeResolver`
  (it names the object type from the value alone) and a list (or tuple) of those or of leaves
  are completed as trees: each object's fields by this same class, each list item's path as
  graphql-core builds it, errors located and propagated (to the nearest nullable field) as
  graphql-core does. A field with a directive (``@stream``, ``@defer``) is graphql-core's.
* Anything else (a missing non-null value, a callable, an awaitable, a value its type cannot
  coerce, a type name of no possible type, a list holding awaitables) is completed by
  graphql-core's own completion from the value already read (a read happens once: a
  ContextResolver's awaitable is not made twice), with the resolve info built then.
* The response keeps the query's field order; no middleware may be installed (it would have
  to see every field).

The fast way gives exactly the response graphql-core would: the same resolver semantics and
the type's own ``coerce_output_value``; ``tests/test_plain_fields.py`` compares the two on
whole responses (data, errors and their paths), for every case above.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from ariadne.utils import convert_camel_case_to_snake
from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLUnionType,
    is_leaf_type,
)
from graphql.execution.executor import Executor, to_nodes
from graphql.pyutils import Path, Undefined, gather_with_cancel

# One field's plan: (response name, attribute, function, leaf type, field, tree type). The
# value is the object's attribute or key of that name, or the function of the object; the
# leaf type is the field's scalar or enum type (nullable or not), else the tree type is its
# whole type (objects, abstract types, lists of them). A field graphql-core executes:
# (response name, None, None, None, None, None).
_Step = tuple[
    str,
    str | None,
    "Callable[[Any], Any] | None",
    GraphQLLeafType | None,
    GraphQLField | None,
    GraphQLOutputType | None,
]
# Where a field's value came from: (parent type, field, path), for a resolve info if needed.
_Origin = tuple[GraphQLObjectType, GraphQLField, Path]
# Values of these types are never callable, awaitable or exceptions: straight to the leaf
# type's coercion.
_PLAIN_VALUES = frozenset({str, int, float, bool})
# What the plain way answers where graphql-core must complete a value instead.
_SLOW: Any = object()


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


class ContextResolver:
    """Resolves a field with ``read(parent, context)``: a function of the object and the
    request's context (a value a listing put in the request's loaders) that changes nothing.
    The plain way calls it without building a resolve info; marks the field like
    :class:`PlainResolver`. It may return an awaitable (graphql-core awaits it)."""

    __slots__ = ("read",)

    def __init__(self, read: Callable[[Any, Any], Any]) -> None:
        self.read = read

    def __call__(self, parent: Any, info: Any, **arguments: Any) -> Any:
        return self.read(parent, info.context)


class SourceTypeResolver:
    """An interface's or union's ``resolve_type`` that reads the value alone
    (``read(value)``: the name of its object type), so the plain way may complete values of
    the abstract type without building a resolve info."""

    __slots__ = ("read",)

    def __init__(self, read: Callable[[Any], str | None]) -> None:
        self.read = read

    def __call__(self, value: Any, info: Any, abstract_type: Any) -> str | None:
        return self.read(value)


def _with_context(read: Callable[[Any, Any], Any], context: Any, parent: Any) -> Any:
    return read(parent, context)


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
    """graphql-core's executor, with plain fields completed without its per-field machinery
    (see the module). ``_plans`` is per request, as the executor is."""

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
                step = self._step(parent_type, response_name, field_details_list)
                plain += step[1] is not None
                steps.append(step)
        plan = steps if plain else None
        self._plans[id(grouped)] = (grouped, plan)
        return plan

    def _step(self, parent_type: GraphQLObjectType, response_name: str, details: Any) -> _Step:
        """How to execute one field of ``parent_type`` (see :data:`_Step`)."""
        node = details[0].node
        field = self.schema.get_field(parent_type, node.name.value)
        core: _Step = (response_name, None, None, None, None, None)
        if field is None or field.args or node.arguments:
            return core
        attr: str | None = None
        read: Callable[[Any], Any] | None = None
        if isinstance(field.resolve, PlainResolver):
            attr = field.resolve.attr
        elif isinstance(field.resolve, SourceResolver):
            read = field.resolve.read
        elif isinstance(field.resolve, ContextResolver):
            read = partial(_with_context, field.resolve.read, self.context_value)
        elif node.name.value == "__typename":
            read = _typename(parent_type.name)
        else:
            return core
        kind = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        if is_leaf_type(kind):
            return (response_name, attr, read, kind, field, None)
        if node.directives:  # @stream or @defer on a list or object: graphql-core's way
            return core
        return (response_name, attr, read, None, field, field.type)

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
            for response_name, attr, read, leaf, field, tree in plan:
                if field is None:  # graphql-core's execution
                    result = self.execute_field(
                        parent_type,
                        source_value,
                        grouped_field_set[response_name],
                        Path(path, response_name, parent_type.name),
                        position_context,
                    )
                    if result is Undefined:
                        continue
                else:
                    try:
                        if read is not None:
                            value = read(source_value)
                        elif mapping:
                            value = source_value.get(attr)
                        else:
                            value = getattr(source_value, attr, None)  # type: ignore[arg-type]
                    except Exception as raw_error:  # as graphql-core reports a resolver's
                        field_path = Path(path, response_name, parent_type.name)
                        self.handle_field_error(
                            raw_error, field.type, grouped_field_set[response_name], field_path
                        )
                        results[response_name] = None
                        continue
                    if leaf is not None and (
                        type(value) in _PLAIN_VALUES
                        or not (
                            value is None
                            or callable(value)
                            or isinstance(value, Exception)
                            or is_awaitable(value)
                        )
                    ):
                        try:
                            serialized = leaf.coerce_output_value(value)
                        except Exception:  # graphql-core reports it, below
                            serialized = None
                        if serialized is not None and serialized is not Undefined:
                            results[response_name] = serialized
                            continue
                    result = self._complete_read(
                        (parent_type, field, Path(path, response_name, parent_type.name)),
                        grouped_field_set[response_name],
                        position_context,
                        attr is not None,
                        tree,
                        value,
                    )
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

    def _info(self, origin: _Origin, details: Any) -> GraphQLResolveInfo:
        parent_type, field, path = origin
        return self.build_resolve_info(field, to_nodes(details), parent_type, path)

    def _complete_read(
        self,
        origin: _Origin,
        details: Any,
        position_context: Any,
        calls: bool,
        tree: GraphQLOutputType | None,
        value: Any,
    ) -> Any:
        """Complete a field whose value was read (as graphql-core's ``execute_field`` does
        after calling the resolver): a tree of objects and lists the plain way, anything
        else through graphql-core's completion, errors reported as it reports them.
        ``calls``: the value was read as an attribute or key, and is called (with the
        resolve info) when callable, as graphql-core's default resolver does."""
        _parent_type, field, path = origin
        try:
            completed = _SLOW
            if tree is not None:
                completed = self._complete_tree(
                    tree, details, path, value, origin, position_context
                )
            if completed is _SLOW:
                info = self._info(origin, details)
                if calls and callable(value):
                    value = value(info)
                if self.is_awaitable(value):
                    return self.complete_awaitable_value(
                        field.type, details, info, path, value, position_context
                    )
                completed = self.complete_value(
                    field.type, details, info, path, value, position_context
                )
            if self.is_awaitable(completed):
                return self._settled(completed, field.type, details, path)
            return completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, field.type, details, path)
            return None

    def _complete_tree(
        self,
        return_type: GraphQLOutputType,
        details: Any,
        path: Path,
        value: Any,
        origin: _Origin,
        position_context: Any,
    ) -> Any:
        """``value`` completed as ``return_type`` (an object, an abstract type whose
        resolver reads the object alone, a list of those or of leaves, non-null or not),
        or :data:`_SLOW` where graphql-core must do it (nothing has been done then)."""
        if value is None or callable(value) or isinstance(value, Exception):
            return _SLOW
        if self.is_awaitable(value):
            return _SLOW
        kind: Any = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
        if isinstance(kind, GraphQLList):
            return self._complete_items(kind, details, path, value, origin, position_context)
        if isinstance(kind, GraphQLInterfaceType | GraphQLUnionType):
            kind = self._runtime_type(kind, value)
        if not isinstance(kind, GraphQLObjectType) or kind.is_type_of is not None:
            return _SLOW
        grouped, deferred, _forbidden = self.collect_subfields(kind, details)
        if deferred:
            return _SLOW
        return self.execute_fields(kind, value, path, grouped, position_context)

    def _runtime_type(self, abstract: Any, value: Any) -> GraphQLObjectType | None:
        """The object type ``value`` is of, where the abstract type's resolver reads the
        value alone (:class:`SourceTypeResolver`) and names one of its possible types."""
        resolver = abstract.resolve_type
        if not isinstance(resolver, SourceTypeResolver):
            return None
        name = resolver.read(value)
        found = self.schema.get_type(name) if isinstance(name, str) else None
        if isinstance(found, GraphQLObjectType) and self.schema.is_sub_type(abstract, found):
            return found
        return None

    def _complete_items(
        self,
        kind: GraphQLList[Any],
        details: Any,
        path: Path,
        value: Any,
        origin: _Origin,
        position_context: Any,
    ) -> Any:
        """A list's items completed as graphql-core's ``complete_iterable_value`` does, each
        the plain way or, where that cannot be, through graphql-core's item completion."""
        if not isinstance(value, list | tuple):
            return _SLOW
        is_awaitable = self.is_awaitable
        # graphql-core awaits awaitable items itself (no item path would): the whole list is
        # its. A missing item or an exception is completed item by item, below.
        if any(map(is_awaitable, value)):
            return _SLOW
        item_type = kind.of_type
        leaf = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        if is_leaf_type(leaf):
            try:
                serialized = list(map(leaf.coerce_output_value, value))
            except Exception:
                return _SLOW
            if any(item is None or item is Undefined for item in serialized):
                return _SLOW
            return serialized
        completed: list[Any] = []
        waiting: list[int] = []
        try:
            for index, item in enumerate(value):
                item_path = path.add_key(index, None)
                try:
                    done = self._complete_tree(
                        item_type, details, item_path, item, origin, position_context
                    )
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, details, item_path)
                    done = None
                if done is _SLOW:
                    # graphql-core's info for a list's items is the list field's.
                    if self.complete_list_item_value(
                        item, completed, item_type, details, self._info(origin, details),
                        item_path, position_context,
                    ):  # fmt: skip
                        waiting.append(index)
                    continue
                if is_awaitable(done):
                    done = self._settled(done, item_type, details, item_path)
                    waiting.append(index)
                completed.append(done)
        except Exception:
            if waiting:
                self.settle_in_background([completed[index] for index in waiting])
            raise
        if not waiting:
            return completed
        return self._gathered(completed, waiting)

    async def _settled(
        self, awaitable: Any, return_type: GraphQLOutputType, details: Any, path: Path
    ) -> Any:
        """The awaited completion, its error reported as graphql-core reports one."""
        try:
            return await awaitable
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, details, path)
            return None

    async def _gathered(self, results: Any, waiting: list[Any]) -> Any:
        """``results`` (a field's values by response name, or a list's items) with the
        values at ``waiting`` (names or indexes) awaited, as graphql-core gathers them."""
        if len(waiting) == 1:
            results[waiting[0]] = await results[waiting[0]]
            return results
        awaited = await gather_with_cancel(*(results[key] for key in waiting))
        for key, value in zip(waiting, awaited, strict=True):
            results[key] = value
        return results

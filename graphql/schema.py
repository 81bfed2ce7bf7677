"""The executable schema: ``schema.graphql`` joined with every module's bindables."""

from __future__ import annotations

from importlib.resources import files

from ariadne import make_executable_schema
from graphql import GraphQLSchema

from archivist.graphql import (
    accounts,
    changes,
    discovery,
    documents,
    labels,
    nodes,
    ocr,
    organise,
    page_edits,
    progress,
    queue,
    scalars,
    search,
    users,
)
from archivist.graphql.plain_fields import mark_plain_fields


def type_defs() -> str:
    """The SDL of the API contract, as shipped with the package."""
    return (files("archivist") / "schema.graphql").read_text(encoding="utf-8")


def build_schema() -> GraphQLSchema:
    schema = make_executable_schema(
        type_defs(),
        *scalars.bindables,
        *users.bindables,
        *accounts.bindables,
        *nodes.bindables,
        *documents.bindables,
        *ocr.bindables,
        *progress.bindables,
        *search.bindables,
        *discovery.bindables,
        *organise.bindables,
        *labels.bindables,
        *page_edits.bindables,
        *queue.bindables,
        *changes.bindables,
        convert_names_case=True,
    )
    nodes.bind_global_ids(schema)
    mark_plain_fields(schema)
    return schema

"""Archivist: a document management system served as a schema-first GraphQL API.

The repository's top-level folders (core, graphql, indexes, jobs) are mapped under this one
import package by setup.cfg, so that our ``graphql/`` folder never shadows graphql-core.
"""

__version__ = "0.1.0"

"""How long the query limits take to refuse hostile documents and to pass the largest allowed.

Prints milliseconds for: parsing + validating a document at the token limit, refusing the
20,000-alias document of issue 8, and refusing 500 aliased folder listings by cost. No
database or server is needed: this is the work done (in a thread) before anything runs.

Run: .venv/bin/python scripts/bench/query_limits.py
"""

from __future__ import annotations

import time

from ariadne.graphql import validate_query
from graphql import GraphQLError, validate

from archivist.graphql.schema import build_schema
from archivist.graphql.validation import QueryLimits, parse_bounded, validation_rules


def measure(label: str, query: str, limits: QueryLimits) -> None:
    schema = build_schema()
    rules = validation_rules(limits)
    started = time.perf_counter()
    try:
        document = parse_bounded(query, limits)
        ours = rules(None, document, {})
        # As the API does: the limits alone first, then every rule.
        errors = validate(schema, document, rules=ours) or validate_query(schema, document, ours)
        outcome = ",".join(sorted({str((e.extensions or {}).get("code", "SPEC")) for e in errors}))
    except GraphQLError as error:
        outcome = str((error.extensions or {}).get("code"))
    elapsed = (time.perf_counter() - started) * 1000
    print(f"{label:<48} {elapsed:8.1f} ms  {outcome or 'accepted'}")


def main() -> None:
    limits = QueryLimits(max_depth=12, max_cost=10_000, max_aliases=30, max_tokens=5_000)
    near_limit = "{" + " ".join(f"a{i}: __typename" for i in range(1_600)) + "}"  # ~4800 tokens
    measure("4800 tokens (1600 aliases, alias limit off)", near_limit,
            QueryLimits(12, 10_000, 10_000, 5_000))  # fmt: skip
    aliases = "{" + " ".join(f"a{i}: __typename" for i in range(20_000)) + "}"
    measure("20,000 aliases (360 KiB)", aliases, limits)
    listing = (
        '{n}: node(id: "1") {{ ... on Folder {{ children {{ edges {{ node {{ id }} }} }} }} }}'
    )
    listings = "{" + " ".join(listing.format(n=f"f{i}") for i in range(500)) + "}"
    measure("500 aliased folder listings (default limits)", listings, limits)
    measure("500 aliased folder listings (limits raised)", listings,
            QueryLimits(12, 10_000, 10_000, 100_000))  # fmt: skip


if __name__ == "__main__":
    main()

"""What the server's OCR engines can read: the ``ocrLanguages`` query."""

from __future__ import annotations

import asyncio
from typing import Any

from ariadne import QueryType
from graphql import GraphQLResolveInfo

from archivist.core.ocr_languages import installed_languages
from archivist.graphql.context import Context, require_viewer

query = QueryType()


@query.field("ocrLanguages")
async def resolve_ocr_languages(_: Any, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    """Any signed-in user may ask: it is what they may upload with, nothing about others."""
    require_viewer(info)
    context: Context = info.context
    # Looking runs `tesseract --list-langs` (cached): off the event loop.
    found = await asyncio.to_thread(installed_languages, context.settings)
    return [{"engine": each.engine.upper(), "languages": list(each.languages)} for each in found]


bindables = [query]

"""Page text: words stored as JSON, and the plain text read from them in their order."""

from __future__ import annotations

import json
from collections.abc import Sequence

from archivist.core.reading_order import direction, is_rtl
from archivist.core.words import Word


def encode_words(words: Sequence[Word]) -> str:
    """JSON for :attr:`Page.words`: [text, x0, y0, x1, y1, confidence] per word."""
    rows = [
        [w.text, *(round(v, 2) for v in (w.x0, w.y0, w.x1, w.y1)), round(w.confidence, 3)]
        for w in words
    ]
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))


def decode_words(data: str) -> list[Word]:
    return [Word(t, x0, y0, x1, y1, c) for t, x0, y0, x1, y1, c in json.loads(data or "[]")]


def words_to_text(words: Sequence[Word]) -> str:
    """The words as lines of text, in the order given (reading order: see
    :mod:`archivist.core.reading_order`; a text layer's own order).

    The words are never re-sorted, so columns stay one after the other and right-to-left lines
    keep their logical order. A word goes on with the line of the word before it when each
    one's vertical middle lies within the other's height and it stands further along the
    line's direction (that of the line's first word with letters, else the page's); otherwise
    a new line starts (the next line, the top of the next column). Each word is compared with
    its neighbour, not with the whole line, so the lines of a tilted page (whose words climb
    or fall along the line) stay apart.
    """
    page_rtl = is_rtl(words)
    lines: list[list[str]] = []
    previous: Word | None = None
    line_rtl: bool | None = None  # the current line's direction, once a word shows it
    for word in words:
        rtl = direction(word.text)
        along = bool(_first(line_rtl, rtl, page_rtl))
        if previous is not None and _continues(previous, word, along):
            lines[-1].append(word.text)
            line_rtl = _first(line_rtl, rtl)
        else:
            lines.append([word.text])
            line_rtl = rtl
        previous = word
    return "\n".join(" ".join(line) for line in lines)


def _first(*directions: bool | None) -> bool | None:
    """The first known direction."""
    return next((known for known in directions if known is not None), None)


def _continues(previous: Word, word: Word, rtl: bool) -> bool:
    """Whether ``word`` follows ``previous`` on the same line."""
    level = (
        previous.y0 <= (word.y0 + word.y1) / 2 <= previous.y1
        or word.y0 <= (previous.y0 + previous.y1) / 2 <= word.y1
    )
    # Back to the start of the line's direction: the next line begins.
    back = word.x0 >= previous.x1 if rtl else word.x1 <= previous.x0
    return level and not back

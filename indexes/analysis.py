"""How text becomes index terms, shared by both engines so that they agree.

Both engines index the same terms: every word of a page in its plain lowercase form
(with positions, for phrases and prefixes) and, when the page's language has a stemmer,
its stem tagged with the language (``"en:invoic"``). Tagging stems with their language
keeps a German stem from matching an unrelated English word that happens to stem alike.

A query word cannot know which language a page is in, so it matches its plain form on
every page, or its stem in each language present in the index (each on pages of that
language only). ``invoices`` therefore finds "invoice" on English pages and nowhere
else by stem, while still finding the literal "invoices" on a page of any language.

Stop words are indexed like any other word: phrases such as "to be or not to be" stay
findable, and a query made only of stop words simply searches for them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import lru_cache

# Languages whose Snowball stemmers give identical stems in Xapian and in Whoosh (checked
# by tests/indexes/test_engines_agree.py). Russian, Romanian and Arabic stem differently
# in the two, Turkish has no Whoosh stemmer: such pages are indexed unstemmed on both.
STEMMED_LANGUAGES = frozenset(
    {"da", "de", "en", "es", "fi", "fr", "hu", "it", "nl", "no", "pt", "sv"}
)

# Letters and digits; an apostrophe or hyphen splits words ("e-mail" is "e" + "mail").
_WORD = re.compile(r"[^\W_]+")

# Multi-valued keyword fields (tags, readers, folders) are handed to engines as one string
# joined by this separator, which cannot occur in a title or tag typed by a person.
KEYWORD_SEPARATOR = "\x1f"

# Xapian rejects terms over 245 bytes; longer "words" are OCR noise (base64, hashes), and
# over-long tags or folder paths are cut, alike on both engines so that they agree.
MAX_WORD_LENGTH = 64
MAX_KEYWORD_BYTES = 200

Stemmer = Callable[[str], str]


def normalize(text: str) -> str:
    """Return ``text`` in the form words are compared in: NFC and case-folded."""
    return unicodedata.normalize("NFC", text).casefold()


def words(text: str) -> list[str]:
    """Split ``text`` into normalized words, in order (positions are list indexes)."""
    return [word for word in _WORD.findall(normalize(text)) if len(word) <= MAX_WORD_LENGTH]


def word_spans(text: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` of each word of ``text`` as written (not normalized), so
    that highlighting can cut the original string exactly."""
    return [match.span() for match in _WORD.finditer(text)]


def stem_term(language: str, stem: str) -> str:
    """The index term for ``stem`` in ``language`` (e.g. ``"en:invoic"``)."""
    return f"{language}:{stem}"


def language_code(language: str) -> str:
    """Normalize a language code ("EN", " de ") to the ISO 639-1 form we index."""
    return language.strip().lower()


def keyword(value: str) -> str:
    """Normalize a tag, type, principal or folder title for exact, case-insensitive match."""
    return _clamp(" ".join(normalize(value).split()))


def folder_terms(folder_path: Iterable[str]) -> list[str]:
    """Every ancestor path of a page, so ``in:"Home/Taxes"`` also finds ``Home/Taxes/2024``.

    Titles are joined with "/"; a "/" inside a folder title cannot be told apart from a
    separator, which only ever widens an ``in:`` match, never hides a page.
    """
    parts = [keyword(title) for title in folder_path]
    return [_clamp("/".join(parts[: depth + 1])) for depth in range(len(parts))]


def folder_query_term(value: str) -> str:
    """The folder term an ``in:`` filter value names ("home/taxes/" -> "home/taxes")."""
    return _clamp("/".join(keyword(part) for part in value.split("/") if part.strip()))


def _clamp(term: str) -> str:
    return term.encode()[:MAX_KEYWORD_BYTES].decode(errors="ignore")


def timestamp(moment: datetime) -> int:
    """Whole seconds since the epoch, a naive datetime being taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def build_stemmer_cache(factory: Callable[[str], Stemmer]) -> Callable[[str, str], str | None]:
    """Wrap an engine's stemmer factory into a cached ``stem(language, word)`` function.

    ``stem`` returns ``None`` for a language we do not stem (see ``STEMMED_LANGUAGES``).
    """
    stemmers: dict[str, Stemmer] = {}

    @lru_cache(maxsize=200_000)
    def stem(language: str, word: str) -> str | None:
        if language not in STEMMED_LANGUAGES:
            return None
        stemmer = stemmers.get(language)
        if stemmer is None:
            stemmer = stemmers[language] = factory(language)
        return stemmer(word)

    return stem

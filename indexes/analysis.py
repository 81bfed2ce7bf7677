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

Accents: every word is also indexed in its folded form (:func:`fold`: "intérieure" ->
"interieure"), at the same position, so a query typed with or without accents finds
both spellings; engines weigh a folded match below an exact one, so exact forms rank first.

CJK: Chinese, Japanese and Korean text has no spaces between words, so a run of such
characters is indexed as its overlapping character bigrams ("宇宙塵は" -> "宇宙", "宙塵",
"塵は"); a query is cut the same way and its bigrams must stand together, like a phrase.
A run of one character is indexed as that character.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import lru_cache
from itertools import accumulate, islice

# Languages whose Snowball stemmers give identical stems in Xapian and in Whoosh (checked
# by tests/indexes/test_engines_agree.py). Russian, Romanian and Arabic stem differently
# in the two, Turkish has no Whoosh stemmer: such pages are indexed unstemmed on both.
STEMMED_LANGUAGES = frozenset(
    {"da", "de", "en", "es", "fi", "fr", "hu", "it", "nl", "no", "pt", "sv"}
)

# Letters and digits; an apostrophe or hyphen splits words ("e-mail" is "e" + "mail").
_WORD = re.compile(r"[^\W_]+")
_WORD_SPLIT = re.compile(r"([^\W_]+)")

# Han (with extensions and compatibility ideographs), Hiragana, Katakana, Bopomofo,
# Hangul syllables and half-width Katakana: scripts written without spaces between words.
_CJK_CLASS = (
    "\u3040-\u30ff\u3100-\u312f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f"
)
_CJK_RUN = re.compile(f"[{_CJK_CLASS}]+")
_CJK_CHAR = re.compile(f"[{_CJK_CLASS}]")

# Letters that Unicode does not decompose into a base letter and an accent.
_UNDECOMPOSED = str.maketrans(
    {"ø": "o", "đ": "d", "ł": "l", "ħ": "h", "\u0131": "i", "æ": "ae", "œ": "oe"}
)

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


def fold(word: str) -> str:
    """``word`` (already normalized) without its accents: "intérieure" -> "interieure".

    CJK characters are left alone: decomposing them would drop marks that change the
    sound and meaning of a Japanese kana (が is not か).
    """
    if word.isascii() or _CJK_CHAR.search(word):
        return word
    decomposed = unicodedata.normalize("NFKD", word.translate(_UNDECOMPOSED))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def is_cjk(word: str) -> bool:
    """Whether ``word`` is made of CJK characters (indexed as bigrams)."""
    return _CJK_RUN.fullmatch(word) is not None


def words(text: str) -> list[str]:
    """Split ``text`` into normalized words, in order (positions are list indexes); CJK
    runs become their character bigrams."""
    normalized = normalize(text)
    if _CJK_CHAR.search(normalized) is None:  # the common case: the regex's words as they are
        return [word for word in _WORD.findall(normalized) if len(word) <= MAX_WORD_LENGTH]
    found: list[str] = []
    for word in _WORD.findall(normalized):
        cursor = 0
        for run in _CJK_RUN.finditer(word):
            if run.start() > cursor:
                found.append(word[cursor : run.start()])
            chars = run.group()
            found.extend(chars[i : i + 2] for i in range(max(1, len(chars) - 1)))
            cursor = run.end()
        if cursor < len(word):
            found.append(word[cursor:])
    return [word for word in found if len(word) <= MAX_WORD_LENGTH]


def written_words(text: str) -> list[str]:
    """The words of ``text`` as written, cut as :func:`word_spans` cuts them."""
    if _CJK_CHAR.search(text) is None:
        return _WORD.findall(text)
    return [text[start:end] for start, end in word_spans(text)]


def words_and_edges(text: str) -> tuple[list[str], list[int]]:
    """The words of ``text`` as written (as :func:`written_words`) and where they are: word
    ``i`` is ``text[edges[2 * i]:edges[2 * i + 1]]``. One pass of the regex (a split, in C)
    gives both, where finding the words and then their offsets would take two."""
    if _CJK_CHAR.search(text) is None:
        parts = _WORD_SPLIT.split(text)  # text between words, word, ..., text after the last
        return parts[1::2], list(accumulate(map(len, parts)))
    spans = _all_spans(text)
    return [text[start:end] for start, end in spans], [edge for span in spans for edge in span]


def word_spans(text: str, first: int = 0, stop: int | None = None) -> list[tuple[int, int]]:
    """The ``(start, end)`` of each word of ``text`` as written (not normalized), so
    that highlighting can cut the original string exactly; only words ``first`` to
    ``stop`` (excluded) when given. CJK characters are one span each (bigrams would
    overlap)."""
    if _CJK_CHAR.search(text) is None:  # the common case: one span per regex match
        return [match.span() for match in islice(_WORD.finditer(text), first, stop)]
    return _all_spans(text)[first:stop]


def _all_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for match in _WORD.finditer(text):
        start, end = match.span()
        cursor = start
        for run in _CJK_RUN.finditer(text, start, end):
            if run.start() > cursor:
                spans.append((cursor, run.start()))
            spans.extend((i, i + 1) for i in range(run.start(), run.end()))
            cursor = run.end()
        if cursor < end:
            spans.append((cursor, end))
    return spans


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


def title_sort_key(title: str) -> str:
    """What a title sorts by, alike in both engines: case- and accent-insensitive."""
    return _clamp(fold(keyword(title)))


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


def year_of(moment: datetime) -> int:
    """The year (UTC) of ``moment`` (naive: taken as UTC), e.g. for the year facet."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.astimezone(UTC).year)


def build_stemmer_cache(factory: Callable[[str], Stemmer]) -> Callable[[str, str], str | None]:
    """Wrap an engine's stemmer factory into a cached ``stem(language, word)`` function.

    ``stem`` returns ``None`` for a language we do not stem (see ``STEMMED_LANGUAGES``).
    It may be called from any thread: each thread makes its own stemmers (a ``xapian.Stem``
    must not be used by two threads at once), and only the stems, plain strings, are
    shared through the cache.
    """
    local = threading.local()

    @lru_cache(maxsize=200_000)
    def stem(language: str, word: str) -> str | None:
        if language not in STEMMED_LANGUAGES:
            return None
        stemmers: dict[str, Stemmer] | None = getattr(local, "stemmers", None)
        if stemmers is None:
            stemmers = local.stemmers = {}
        stemmer = stemmers.get(language)
        if stemmer is None:
            stemmer = stemmers[language] = factory(language)
        return stemmer(word)

    return stem

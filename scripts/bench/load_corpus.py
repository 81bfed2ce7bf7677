"""What the load test's users own, and so what every answer must be.

Each user gets seed documents whose pages carry made-up words at four levels: one word shared
by every seed page of every user (a search for it must return only the viewer's own pages),
one word per user, one per document and one per page. Uploads made during the load carry
words of their own, so they never change the expected answer of a search. The words are
pronounceable nonsense that no stemmer shortens onto another (consonant-vowel syllables ending
in ``o`` and one of ``bkpvz``: no English suffix), and all differ in their first six letters.

The PDFs are real, with a real text layer (Helvetica), so the workers take each page's text
from the file (``ocrMode: AUTO`` or ``OFF``; nothing is OCR'd) and render real previews.
"""

from __future__ import annotations

import ctypes
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import pypdfium2
import pypdfium2.raw as pdfium_c

CONSONANTS = "bdfgklmnprtvz"
VOWELS = "aeiou"
ENDINGS = "bkpvz"
# Real words so that a page's text layer counts as usable (8 words at least, see README).
FILLER = ["quarterly", "statement", "prepared", "for", "the", "records", "of", "the", "archivist",
          "office"]  # fmt: skip
WORDS_PER_LINE = 6


class Vocabulary:
    """Unique made-up words, the same for the same seed."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.prefixes: set[str] = set()

    def word(self) -> str:
        while True:
            syllables = [
                self.random.choice(CONSONANTS) + self.random.choice(VOWELS) for _ in range(3)
            ]
            word = "".join(syllables) + self.random.choice(CONSONANTS) + "o"
            word += self.random.choice(ENDINGS)
            if word[:6] not in self.prefixes:
                self.prefixes.add(word[:6])
                return word


@dataclass
class SeedPage:
    number: int
    words: list[str]
    page_word: str
    id: str = ""  # known once the document is processed
    preview_url: str = ""

    @property
    def text(self) -> str:
        return " ".join(self.words)


@dataclass
class SeedDocument:
    title: str
    doc_word: str
    pages: list[SeedPage]
    pdf: bytes = b""
    id: str = ""  # known once uploaded
    original_url: str = ""


@dataclass
class UserFacts:
    """One user: credentials, folders, seed documents and the uploads made so far."""

    username: str
    password: str
    user_word: str
    seeds: list[SeedDocument]
    token: str = ""
    home_id: str = ""
    inbox_id: str = ""
    seeds_folder_id: str = ""
    uploads_started: int = 0
    uploads_confirmed: int = 0
    upload_titles: set[str] = field(default_factory=set)
    document_ids: set[str] = field(default_factory=set)

    def words_with_pages(self) -> list[tuple[str, list[tuple[SeedDocument, int]]]]:
        """Every searchable word of this user with the (document, page number) pairs it is on."""
        found: list[tuple[str, list[tuple[SeedDocument, int]]]] = [
            (self.user_word, [(d, p.number) for d in self.seeds for p in d.pages])
        ]
        for document in self.seeds:
            found.append((document.doc_word, [(document, p.number) for p in document.pages]))
            found.extend((p.page_word, [(document, p.number)]) for p in document.pages)
        return found


@dataclass
class World:
    shared_word: str
    users: list[UserFacts]
    vocabulary: Vocabulary

    def others(self, user: UserFacts) -> list[UserFacts]:
        return [other for other in self.users if other is not user]

    def owner_of(self, document_id: str) -> UserFacts | None:
        return next((u for u in self.users if document_id in u.document_ids), None)


def build_world(users: int, documents: int, pages: int, seed: int = 7) -> World:
    """Users ``load-user-1``... with ``documents`` seed documents of ``pages`` pages each."""
    vocabulary = Vocabulary(seed)
    shared = vocabulary.word()
    people = []
    for n in range(1, users + 1):
        user_word = vocabulary.word()
        seeds = []
        for d in range(1, documents + 1):
            doc_word = vocabulary.word()
            seed_pages = []
            for p in range(1, pages + 1):
                page_word = vocabulary.word()
                words = [shared, user_word, doc_word, page_word, *FILLER]
                seed_pages.append(SeedPage(p, words, page_word))
            document = SeedDocument(f"load-user-{n} seed {d}", doc_word, seed_pages)
            document.pdf = text_pdf([page.words for page in seed_pages])
            seeds.append(document)
        people.append(UserFacts(f"load-user-{n}", f"load password {n:04d}", user_word, seeds))
    return World(shared, people, vocabulary)


def upload_pdf(vocabulary: Vocabulary) -> bytes:
    """A one-page PDF for an upload during the load: filler and a word searched for by no one."""
    return text_pdf([[vocabulary.word(), *FILLER]])


def text_pdf(pages: Sequence[Sequence[str]]) -> bytes:
    """A PDF whose pages carry the words as real text (Helvetica 12 pt, six words a line)."""
    pdf = pypdfium2.PdfDocument.new()
    try:
        font = pdfium_c.FPDFText_LoadStandardFont(pdf.raw, b"Helvetica")
        for words in pages:
            page = pdf.new_page(612, 200)
            for line, start in enumerate(range(0, len(words), WORDS_PER_LINE)):
                text = " ".join(words[start : start + WORDS_PER_LINE])
                obj = pdfium_c.FPDFPageObj_CreateTextObj(pdf.raw, font, ctypes.c_float(12.0))
                encoded = text.encode("utf-16-le") + b"\x00\x00"
                buffer = ctypes.create_string_buffer(encoded, len(encoded))
                wide = ctypes.cast(buffer, ctypes.POINTER(pdfium_c.FPDF_WCHAR))
                pdfium_c.FPDFText_SetText(obj, wide)
                pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 30, 160 - 20 * line)
                pdfium_c.FPDFPage_InsertObject(page.raw, obj)
            if not pdfium_c.FPDFPage_GenerateContent(page.raw):
                raise RuntimeError("PDFium could not write the page's content")
            page.close()
        output = io.BytesIO()
        pdf.save(output)
        return output.getvalue()
    finally:
        pdf.close()

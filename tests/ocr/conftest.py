"""OCR engines, shared per test session (a model loads once), and pages with known text."""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image, ImageDraw, ImageFont
from support import character_error_rate

from archivist.jobs.ocr_engines import EasyOcrEngine, OcrEngine, TesseractEngine


@dataclass(frozen=True)
class KnownPage:
    """A generated picture and, per word drawn on it, its text and pixel box."""

    image: Image.Image
    words: list[tuple[str, tuple[float, float, float, float]]]

    @property
    def text(self) -> str:
        return " ".join(text for text, _ in self.words)


def draw_page(lines: Sequence[str], size: tuple[int, int], font_size: int) -> KnownPage:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=font_size)
    words = []
    for number, line in enumerate(lines):
        x, y = 24, 24 + number * int(font_size * 1.8)
        draw.text((x, y), line, fill="black", font=font)
        offset = 0
        for token in line.split(" "):
            start = line.index(token, offset)
            offset = start + len(token)
            x0 = x + font.getlength(line[:start])
            box = draw.textbbox((x0, y), token, font=font)
            words.append((token, tuple(float(v) for v in box)))
    return KnownPage(image, words)  # type: ignore[arg-type]


class Measures:
    draw_page = staticmethod(draw_page)
    character_error_rate = staticmethod(character_error_rate)


@pytest.fixture
def measures() -> type[Measures]:
    return Measures


@pytest.fixture(scope="session")
def invoice_page() -> KnownPage:
    return draw_page(
        ["Invoice number 20240042", "The quick brown fox jumps", "over the lazy dog twice"],
        size=(640, 240),
        font_size=34,
    )


@pytest.fixture(scope="session")
def model_cache() -> Path:
    """EasyOCR's ONNX exports, made once per machine (the pipeline tests use the same folder)."""
    # The same folder as ARCHIVIST_MODEL_CACHE in tests/conftest.py's PIPELINE_ENV.
    return Path(tempfile.gettempdir()) / "archivist-test-models"


@pytest.fixture(scope="session")
def easyocr_engine(model_cache: Path) -> EasyOcrEngine:
    """EasyOCR as workers run it by default (``auto``: OpenVINO on a CPU with bf16, else its
    weights on ONNX Runtime)."""
    return EasyOcrEngine(cache_dir=str(model_cache))


@pytest.fixture(scope="session")
def easyocr_onnx_engine(model_cache: Path) -> EasyOcrEngine:
    """EasyOCR's exported weights on ONNX Runtime (float32)."""
    return EasyOcrEngine(runtime="onnx", cache_dir=str(model_cache))


@pytest.fixture(scope="session")
def easyocr_openvino_engine(model_cache: Path) -> EasyOcrEngine:
    """The same files on OpenVINO, in the CPU's best precision (bf16 where it has it)."""
    pytest.importorskip("openvino")
    return EasyOcrEngine(runtime="openvino", cache_dir=str(model_cache))


@pytest.fixture(scope="session")
def easyocr_torch_engine() -> EasyOcrEngine:
    """EasyOCR's own ``Reader`` on torch: the reference the fast path is held to."""
    return EasyOcrEngine(runtime="torch")


@pytest.fixture(scope="session")
def degraded() -> ModuleType:
    """``scripts/bench/degraded_pages.py``: the bench's harder pages, loaded by path."""
    path = Path(__file__).resolve().parents[2] / "scripts" / "bench" / "degraded_pages.py"
    spec = importlib.util.spec_from_file_location("degraded_pages", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def tesseract_engine() -> TesseractEngine:
    if shutil.which("tesseract") is None:
        pytest.skip("the tesseract binary is not installed (apt-get install tesseract-ocr)")
    return TesseractEngine()


@pytest.fixture(
    params=[
        pytest.param("easyocr", marks=pytest.mark.slow),
        pytest.param("easyocr_torch", marks=pytest.mark.slow),
        "tesseract",
    ]
)
def engine(request: pytest.FixtureRequest) -> OcrEngine:
    """Each OCR engine (and EasyOCR's reference runtime) in turn: the contract suite runs
    against all."""
    fixture: OcrEngine = request.getfixturevalue(f"{request.param}_engine")
    return fixture

"""EasyOCR's fast path (its weights on OpenVINO or ONNX Runtime) against the torch path, on
real models.

The fast path must read what the torch path reads, on both runtimes (OpenVINO in the CPU's
best precision, bf16 where it has it): on the invoice page and on small degraded pages (noise,
blur, JPEG, skew, low contrast, uneven light, two columns, a table, 8 pt print) its character
error rate may exceed the torch path's by at most half a point, counted over all the pages
together (one character on a small page is already more than a point).
"""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy
import pytest
from PIL import Image, ImageDraw, ImageFont

from archivist.core.settings import SettingsError, load_settings
from archivist.jobs.deskew import Straightened, levelling_angle
from archivist.jobs.easyocr_export import exported_models
from archivist.jobs.easyocr_openvino import cpu_has_amx, cpu_precision, openvino_available
from archivist.jobs.ocr_engines import EasyOcrEngine, OcrError, _default_model_dir
from archivist.jobs.text_scale import measure_ink

CER_MARGIN = 0.005  # the bound: no more than 0.5 points worse than the torch path


def _read(engine: EasyOcrEngine, image: Image.Image) -> str:
    return " ".join(word.text for word in engine.recognize(image, ["en"]))


@pytest.mark.slow
@pytest.mark.parametrize("runtime", ["onnx", "openvino"])
def test_fast_path_reads_what_the_torch_path_reads(
    runtime: str,
    request: pytest.FixtureRequest,
    easyocr_torch_engine: EasyOcrEngine,
    invoice_page: Any,
    degraded: Any,
    measures: Any,
) -> None:
    easyocr_engine: EasyOcrEngine = request.getfixturevalue(f"easyocr_{runtime}_engine")
    pages = [(invoice_page.image, invoice_page.text, False)] + [
        (*degraded.degraded_page(kind, dpi=150, lines=2), kind in degraded.ORDER_FREE_KINDS)
        for kind in degraded.KINDS
    ]
    expected, fast, torch = [], [], []
    for image, text, order_free in pages:
        tidy = degraded.order_free if order_free else (lambda value: value)
        expected.append(tidy(text))
        fast.append(tidy(_read(easyocr_engine, image)))
        torch.append(tidy(_read(easyocr_torch_engine, image)))
    fast_rate = measures.character_error_rate(" ".join(expected), " ".join(fast))
    torch_rate = measures.character_error_rate(" ".join(expected), " ".join(torch))
    print(f"character error rate: {runtime} {fast_rate:.4f}, torch {torch_rate:.4f}")
    for text, got_fast, got_torch in zip(expected, fast, torch, strict=True):
        print(f"  expected {text!r}\n  fast     {got_fast!r}\n  torch    {got_torch!r}")
    assert fast_rate <= torch_rate + CER_MARGIN


@pytest.mark.slow
def test_fast_path_runs_without_torch(model_cache: Path, invoice_page: Any, tmp_path: Path) -> None:
    """With the export cached, a process reads a page without importing torch (memory)."""
    picture = tmp_path / "invoice.png"
    invoice_page.image.save(picture)
    script = (
        "import sys\n"
        "from PIL import Image\n"
        "from archivist.jobs.ocr_engines import EasyOcrEngine\n"
        f"engine = EasyOcrEngine(cache_dir={str(model_cache)!r}, threads=1)\n"
        f"words = engine.recognize(Image.open({str(picture)!r}), ['en'])\n"
        "print(' '.join(word.text for word in words))\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600, check=True
    )
    text, torch_loaded = result.stdout.strip().splitlines()[-2:]
    assert "20240042" in text
    assert torch_loaded == "False", result.stdout


@pytest.mark.slow
def test_export_is_cached_and_reused(model_cache: Path) -> None:
    models = exported_models(("en",), Path(_default_model_dir()), model_cache)
    stamp = models.detector.stat().st_mtime_ns
    again = exported_models(("en",), Path(_default_model_dir()), model_cache)
    assert again == models and again.detector.stat().st_mtime_ns == stamp
    assert models.detector.parent.parent == model_cache
    assert models.characters.startswith("0123456789")


def test_export_without_weights_is_a_clear_error(tmp_path: Path) -> None:
    engine = EasyOcrEngine(model_dir=str(tmp_path), cache_dir=str(tmp_path / "cache"))
    with pytest.raises(OcrError, match="no EasyOCR weights"):
        engine.recognize(Image.new("L", (10, 10), 255), ["en"])


@pytest.mark.slow
def test_unknown_language_is_a_clear_error(model_cache: Path) -> None:
    engine = EasyOcrEngine(cache_dir=str(model_cache))
    with pytest.raises(OcrError, match="xx"):
        engine.recognize(Image.new("L", (10, 10), 255), ["xx"])


def test_ink_gives_letter_height_and_text_bands() -> None:
    image = Image.new("L", (1200, 900), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=40)
    for row in range(3):
        draw.text((100, 80 + row * 60), "archive invoice payment", fill=0, font=font)
    draw.text((100, 700), "second block of words here", fill=0, font=font)
    ink = measure_ink(numpy.asarray(image))
    assert ink.letter_height is not None and 18 <= ink.letter_height <= 40
    assert len(ink.bands) == 2  # the gap between the two blocks is skipped
    (top, bottom, left, right), (top2, _, _, _) = ink.bands
    assert top <= 80 + 10 and bottom >= 80 + 120 + 30 and top2 >= 600
    assert left <= 100 and right < 1000


def test_blank_page_costs_no_detection() -> None:
    began = time.perf_counter()
    ink = measure_ink(numpy.full((3508, 2480), 255, dtype=numpy.uint8))
    assert ink.bands == [] and ink.letter_height is None
    assert time.perf_counter() - began < 2.0


def test_fast_is_the_default_runtime_and_torch_can_be_chosen() -> None:
    # auto: OpenVINO where the CPU computes in bf16 (where it pays), else ONNX Runtime.
    expected = "openvino" if openvino_available() and cpu_precision() == "bf16" else "onnx"
    assert EasyOcrEngine().runtime == expected == EasyOcrEngine(runtime="auto").runtime
    assert EasyOcrEngine(runtime="onnx").runtime == "onnx"
    assert EasyOcrEngine(runtime="torch").runtime == "torch"
    with pytest.raises(ValueError, match="auto, openvino, onnx, torch"):
        EasyOcrEngine(runtime="tensorflow")
    with pytest.raises(ValueError, match="bf16 or f32"):
        EasyOcrEngine(runtime="openvino", precision="int4")
    assert EasyOcrEngine(runtime="onnx", threads=1).describe() == (
        "EasyOCR on ONNX Runtime, CPU, 1 thread(s)"
    )


def test_openvino_start_up_line_names_its_precision() -> None:
    pytest.importorskip("openvino")
    precision = cpu_precision()
    unit = (" (AMX)" if cpu_has_amx() else " (AVX512-BF16)") if precision == "bf16" else ""
    assert EasyOcrEngine(runtime="openvino", threads=2).describe() == (
        f"EasyOCR on OpenVINO, CPU {precision}{unit}, 2 thread(s)"
    )
    assert EasyOcrEngine(runtime="openvino", threads=1, precision="f32").describe() == (
        "EasyOCR on OpenVINO, CPU f32, 1 thread(s)"
    )


@pytest.mark.slow
def test_openvino_reads_what_onnx_runtime_reads(
    easyocr_openvino_engine: EasyOcrEngine,
    easyocr_onnx_engine: EasyOcrEngine,
    invoice_page: Any,
    measures: Any,
) -> None:
    """The same files on both runtimes give the same words, where they are (bf16 included)."""
    openvino_words = easyocr_openvino_engine.recognize(invoice_page.image, ["en"])
    onnx_words = easyocr_onnx_engine.recognize(invoice_page.image, ["en"])
    assert [w.text for w in openvino_words] == [w.text for w in onnx_words]
    assert " ".join(w.text for w in openvino_words) == invoice_page.text
    for ours, theirs in zip(openvino_words, onnx_words, strict=True):
        assert (ours.x0, ours.y0, ours.x1, ours.y1) == pytest.approx(
            (theirs.x0, theirs.y0, theirs.x1, theirs.y1), abs=4
        )
    # A second page of another size (new input shapes for both models) reads as well.
    other = measures.draw_page(["Payment reference 17.50", "archive folder"], (900, 160), 30)
    assert _read(easyocr_openvino_engine, other.image) == other.text


@pytest.mark.slow
def test_openvino_engine_is_safe_to_share_between_threads(
    easyocr_openvino_engine: EasyOcrEngine, invoice_page: Any, measures: Any
) -> None:
    """Threads share the compiled models, each with its own infer requests."""
    other = measures.draw_page(["Payment reference 17.50", "archive folder"], (900, 160), 30)
    pages = [invoice_page, other] * 3
    with ThreadPoolExecutor(max_workers=3) as pool:
        texts = list(pool.map(lambda page: _read(easyocr_openvino_engine, page.image), pages))
    assert texts == [page.text for page in pages]


def test_a_crooked_page_is_levelled_and_boxes_map_back() -> None:
    image = Image.new("L", (1400, 700), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=36)
    for row in range(6):
        draw.text(
            (80, 80 + row * 80), "archive invoice payment total amount due", fill=0, font=font
        )
    draw.rectangle((1200, 600, 1240, 640), fill=0)  # a mark to follow
    crooked = image.rotate(2.0, resample=Image.Resampling.BICUBIC, fillcolor=255)
    grey = numpy.asarray(crooked)
    assert levelling_angle(grey) == pytest.approx(-2.0, abs=0.2)
    assert levelling_angle(numpy.asarray(image)) == pytest.approx(0.0, abs=0.2)

    page = Straightened.of(grey)
    assert page.inverse is not None
    # The mark, found on the levelled page, maps back to where it is on the crooked one.
    ys, xs = numpy.nonzero(page.grey[560:680, 1150:1290] < 100)
    level_centre = [[float(xs.mean()) + 1150, float(ys.mean()) + 560]]
    [[x, y]] = page.to_page(level_centre)
    ys, xs = numpy.nonzero(grey[540:700, 1130:1310] < 100)
    assert (x, y) == pytest.approx((xs.mean() + 1130, ys.mean() + 540), abs=3)


def test_runtime_and_model_cache_settings(tmp_path: Path) -> None:
    base = {"ARCHIVIST_DATA_DIR": str(tmp_path), "ARCHIVIST_SECRET_KEY": "k" * 32}
    settings = load_settings(base)
    assert settings.easyocr_runtime == "auto"
    assert load_settings({**base, "ARCHIVIST_EASYOCR_RUNTIME": "OpenVINO"}).easyocr_runtime == (
        "openvino"
    )
    assert settings.model_cache_dir == tmp_path.resolve() / "models"
    chosen = load_settings(
        {**base, "ARCHIVIST_EASYOCR_RUNTIME": "torch", "ARCHIVIST_MODEL_CACHE": str(tmp_path / "m")}
    )
    assert (chosen.easyocr_runtime, chosen.model_cache_dir) == ("torch", tmp_path / "m")
    with pytest.raises(SettingsError, match="ARCHIVIST_EASYOCR_RUNTIME"):
        load_settings({**base, "ARCHIVIST_EASYOCR_RUNTIME": "tensorflow"})

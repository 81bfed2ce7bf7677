"""EasyOCR's own installed weights, exported once to ONNX and cached in the data directory.

The fast EasyOCR path (:mod:`archivist.jobs.easyocr_fast`) runs CRAFT (text detection) and the
recogniser with ONNX Runtime instead of torch. The ONNX files are made here from the ``.pth``
weights EasyOCR itself would load (``easyocr.Reader(..., download_enabled=False)``, so nothing
is downloaded), next to a small JSON file with what the recogniser needs at run time (its
character list and which characters the chosen languages do not use). Only the export needs
torch, and it runs in a child process (``python -m archivist.jobs.easyocr_export``): a worker
never imports torch, so its memory stays at the size of its ONNX sessions.

The cache key is the languages, the weight files' names, sizes and modification times, and
EasyOCR's version: new weights give new files. Several workers may export at the same time;
each writes to a temporary name and renames, so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

# Bump when the exported graphs or the JSON change shape, so old caches are not reused.
EXPORT_FORMAT = 1
RECOGNIZER_HEIGHT = 64  # EasyOCR's generation-2 recognisers read lines 64 px high


class ExportError(RuntimeError):
    """The models could not be exported: a language is unknown, weights are missing, or the
    cache folder cannot be written."""


@dataclass(frozen=True)
class ExportedModels:
    """Where the exported detector and recogniser are, and how to decode the recogniser."""

    detector: Path
    recognizer: Path
    characters: str  # the recogniser's classes after the CTC blank (class 0)
    ignored: tuple[int, ...]  # classes of characters the languages do not use
    model_lang: str


def _weights_fingerprint(model_dir: Path, languages: Sequence[str]) -> str:
    digest = hashlib.sha256()
    digest.update(f"{EXPORT_FORMAT}|{'+'.join(languages)}|".encode())
    with contextlib.suppress(metadata.PackageNotFoundError):
        digest.update(metadata.version("easyocr").encode())
    for path in sorted(model_dir.glob("*.pth")):
        stat = path.stat()
        digest.update(f"|{path.name}:{stat.st_size}:{int(stat.st_mtime)}".encode())
    return digest.hexdigest()[:16]


def _atomic_write(path: Path, write: Any) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def exported_models(
    languages: Sequence[str], model_dir: Path, cache_dir: Path, *, int8: bool = False
) -> ExportedModels:
    """The ONNX models for ``languages`` from the weights in ``model_dir``, exported on first
    use into ``cache_dir``. With ``int8`` both are quantised: CRAFT's convolutions statically
    (calibrated on generated text), the recogniser's LSTM and linear layers dynamically.

    Raises :class:`ExportError` when EasyOCR does not know a language, its weights are not in
    ``model_dir``, or ``cache_dir`` cannot be written.
    """
    if not any(model_dir.glob("*.pth")):
        raise ExportError(f"no EasyOCR weights (*.pth) in {model_dir}")
    key = _weights_fingerprint(model_dir, languages)
    folder = cache_dir / f"easyocr-{'+'.join(languages)}-{key}"
    manifest = folder / ("manifest-int8.json" if int8 else "manifest.json")
    if not manifest.exists():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ExportError(f"cannot write the ONNX model cache {folder}: {error}") from error
        _export_in_subprocess(languages, model_dir, folder, manifest, int8=int8)
    facts = json.loads(manifest.read_text(encoding="utf-8"))
    return ExportedModels(
        detector=folder / facts["detector"],
        recognizer=folder / facts["recognizer"],
        characters=facts["characters"],
        ignored=tuple(facts["ignored"]),
        model_lang=facts["model_lang"],
    )


def _export_in_subprocess(
    languages: Sequence[str], model_dir: Path, folder: Path, manifest: Path, *, int8: bool
) -> None:
    """Export in a child process: torch and EasyOCR's float models (about 2 GiB at their peak)
    are never loaded into the worker, whose memory then stays at its ONNX sessions' size."""
    command = [
        sys.executable,
        "-m",
        "archivist.jobs.easyocr_export",
        json.dumps([list(languages), str(model_dir), str(folder), str(manifest), int8]),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=False)
    if result.returncode != 0 or not manifest.exists():
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit status {result.returncode}"
        # ExportError's own message (a language, missing weights) comes through as it is.
        raise ExportError(reason.split("ExportError: ", 1)[-1])


def _export(
    languages: Sequence[str], model_dir: Path, folder: Path, manifest: Path, *, int8: bool
) -> None:
    import easyocr
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # quantize=False: export the float weights; int8 is ONNX Runtime's to do.
            reader = easyocr.Reader(
                list(languages),
                gpu=False,
                model_storage_directory=str(model_dir),
                download_enabled=False,
                verbose=False,
                quantize=False,
            )
    except (FileNotFoundError, ValueError) as error:
        raise ExportError(
            f"EasyOCR cannot read {'+'.join(languages)} with the models in {model_dir}: {error}"
        ) from error

    detector, recognizer = folder / "craft.onnx", folder / "recognizer.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer chatter
        if not detector.exists():
            _atomic_write(detector, lambda path: _export_detector(reader.detector, path))
        if not recognizer.exists():
            _atomic_write(recognizer, lambda path: _export_recognizer(reader.recognizer, path))
    detector_name, recognizer_name = detector.name, recognizer.name
    if int8:
        quantised_detector = folder / "craft-int8.onnx"
        quantised_recognizer = folder / "recognizer-int8.onnx"
        if not quantised_detector.exists():
            _atomic_write(quantised_detector, lambda path: _quantise_detector(detector, path))
        if not quantised_recognizer.exists():
            _atomic_write(quantised_recognizer, lambda path: _quantise_recognizer(recognizer, path))
        detector_name, recognizer_name = quantised_detector.name, quantised_recognizer.name

    character = reader.character
    unused = set(character) - set(reader.lang_char)
    facts = {
        "detector": detector_name,
        "recognizer": recognizer_name,
        "characters": character,
        # Class 0 is the CTC blank, so character i is class i + 1.
        "ignored": sorted(index + 1 for index, char in enumerate(character) if char in unused),
        "model_lang": reader.model_lang,
    }
    _atomic_write(manifest, lambda path: Path(path).write_text(json.dumps(facts), encoding="utf-8"))


def _die_with_parent() -> None:
    """Ask Linux to end this process when the worker that started it ends: a worker stopped
    (or killed) while it waits for the export must not leave the export running."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() == 1:  # the parent was already gone before the request took effect
        sys.exit(1)


def _main(argument: str) -> None:
    _die_with_parent()
    languages, model_dir, folder, manifest, int8 = json.loads(argument)
    try:
        _export(languages, Path(model_dir), Path(folder), Path(manifest), int8=int8)
    except OSError as error:
        raise ExportError(f"cannot write the ONNX model cache {folder}: {error}") from error


def _export_detector(craft: Any, path: str) -> None:
    import torch

    class Detector(torch.nn.Module):
        """CRAFT's score maps only (its second output, features, is for refinement)."""

        def __init__(self, net: Any) -> None:
            super().__init__()
            self.net = net

        def forward(self, image: torch.Tensor) -> torch.Tensor:
            return self.net(image)[0]

    torch.onnx.export(
        Detector(craft).eval(),
        (torch.zeros(1, 3, 320, 320),),
        path,
        input_names=["image"],
        output_names=["maps"],
        dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}, "maps": {0: "n", 1: "mh", 2: "mw"}},
        opset_version=17,
        dynamo=False,
    )


def _export_recognizer(model: Any, path: str) -> None:
    import torch

    class Recognizer(torch.nn.Module):
        """EasyOCR's ``vgg_model.Model.forward`` with its height pooling written as a mean:
        ``AdaptiveAvgPool2d((None, 1))`` does not export, and the mean is the same thing."""

        def __init__(self, net: Any) -> None:
            super().__init__()
            self.net = net

        def forward(self, line: torch.Tensor) -> torch.Tensor:
            features = self.net.FeatureExtraction(line).permute(0, 3, 1, 2).mean(dim=3)
            context = self.net.SequenceModeling(features)
            return self.net.Prediction(context.contiguous())

    torch.onnx.export(
        Recognizer(model).eval(),
        (torch.zeros(2, 1, RECOGNIZER_HEIGHT, 256),),
        path,
        input_names=["line"],
        output_names=["logits"],
        dynamic_axes={"line": {0: "n", 3: "w"}, "logits": {0: "n", 1: "t"}},
        opset_version=17,
        dynamo=False,
    )


def _quantise_recognizer(source: Path, path: str) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Dynamic int8 for the LSTM and linear layers, as EasyOCR's torch CPU path does.
    quantize_dynamic(
        str(source), path, weight_type=QuantType.QInt8, op_types_to_quantize=["LSTM", "MatMul"]
    )


def _quantise_detector(source: Path, path: str) -> None:
    """CRAFT with int8 convolutions (static, QDQ), calibrated on generated text pictures at the
    scale the fast path gives CRAFT (nothing downloaded)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    samples = [{"image": picture} for picture in _calibration_pictures()]

    class Pictures(CalibrationDataReader):
        def __init__(self) -> None:
            self.pictures = iter(samples)

        def get_next(self) -> dict[str, Any] | None:
            return next(self.pictures, None)

    with tempfile.TemporaryDirectory() as scratch:
        prepared = os.path.join(scratch, "prepared.onnx")
        quant_pre_process(str(source), prepared, skip_symbolic_shape=True)
        quantize_static(
            prepared,
            path,
            Pictures(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )


def _calibration_pictures() -> list[Any]:
    """CRAFT inputs (normalised, 1x3x384x640) of drawn lines: clean, faint, noisy, small."""
    import random

    import numpy
    from PIL import Image, ImageDraw, ImageFont

    rng = random.Random(5)
    words = ["invoice", "total", "2024", "account", "Payment", "reference", "17.50", "signature"]
    mean = numpy.array([0.485, 0.456, 0.406], dtype=numpy.float32) * 255
    std = numpy.array([0.229, 0.224, 0.225], dtype=numpy.float32) * 255
    pictures = []
    for ink, paper, size, noise in (
        (0, 255, 16, 0),
        (90, 200, 16, 0),
        (0, 255, 18, 30),
        (0, 255, 12, 0),
    ):
        image = Image.new("L", (640, 384), paper)
        draw = ImageDraw.Draw(image)
        font = ImageFont.load_default(size=size)
        for row in range(384 // (size * 2)):
            line = " ".join(rng.choice(words) for _ in range(10))
            draw.text((16, 12 + row * size * 2), line, fill=ink, font=font)
        grey = numpy.asarray(image, dtype=numpy.float32)
        if noise:
            grey = numpy.clip(
                grey + numpy.random.default_rng(1).normal(0, noise, grey.shape), 0, 255
            )
        normalised = numpy.stack([(grey - mean[c]) / std[c] for c in range(3)])
        pictures.append(normalised[numpy.newaxis].astype(numpy.float32))
    return pictures


if __name__ == "__main__":
    _main(sys.argv[1])

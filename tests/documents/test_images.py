"""Images become PDFs page by page at their own resolution; rendered pages become previews."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
from PIL import Image

from archivist.core.document_errors import DocumentError, DocumentErrorCode
from archivist.core.images import PREVIEW_SIZES, image_to_pdf, make_previews
from archivist.core.pdf import inspect_document, render_page


def dark_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    return image.convert("L").point(lambda v: 255 if v < 128 else 0).getbbox()


def test_png_page_has_the_image_size_at_its_dpi(samples: Any, tmp_path: Path) -> None:
    source = tmp_path / "scan.png"
    picture = samples.text_image(["Hello archive"], size=(600, 200))
    picture.save(source, dpi=(200, 200))
    out = tmp_path / "scan.pdf"
    assert image_to_pdf(source, out) == 1
    info = inspect_document(out)
    assert info.page_sizes[0] == pytest.approx((216.0, 72.0), abs=0.01)
    # Rendered back at the image's own dpi, the ink is where it was in the picture.
    rendered = render_page(out, 0, dpi=200).image
    assert rendered.size == (600, 200)
    expected, got = dark_box(picture), dark_box(rendered)
    assert expected is not None and got is not None
    assert all(abs(a - b) <= 2 for a, b in zip(expected, got, strict=True))


def test_jpeg_without_dpi_is_300_dpi_and_embedded_unchanged(samples: Any, tmp_path: Path) -> None:
    source = tmp_path / "photo.jpg"
    samples.text_image(["Receipt"], size=(900, 300)).convert("RGB").save(source, quality=85)
    out = tmp_path / "photo.pdf"
    image_to_pdf(source, out)
    assert inspect_document(out).page_sizes[0] == pytest.approx((216.0, 72.0), abs=0.01)
    pdf = pypdfium2.PdfDocument(str(out))
    [embedded] = list(pdf[0].get_objects())
    assert isinstance(embedded, pypdfium2.PdfImage)
    assert embedded.get_filters() == ["DCTDecode"]
    assert bytes(embedded.get_data(decode_simple=False)) == source.read_bytes()
    pdf.close()


def test_jpeg_with_exif_rotation_becomes_an_upright_page(samples: Any, tmp_path: Path) -> None:
    source = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: turn 90 degrees clockwise to view
    samples.text_image(["Sideways"], size=(600, 300)).convert("RGB").save(source, exif=exif)
    out = tmp_path / "phone.pdf"
    image_to_pdf(source, out)
    width, height = inspect_document(out).page_sizes[0]
    assert height > width


def test_multipage_tiff_becomes_one_page_per_frame(samples: Any, tmp_path: Path) -> None:
    source = tmp_path / "fax.tif"
    frames = [
        samples.text_image(["page one"], size=(600, 200)).convert("1"),
        samples.text_image(["page two"], size=(300, 300)),
        Image.new("RGBA", (150, 150), (255, 0, 0, 128)),
    ]
    frames[0].save(source, save_all=True, append_images=frames[1:], dpi=(100, 100))
    out = tmp_path / "fax.pdf"
    assert image_to_pdf(source, out) == 3
    sizes = inspect_document(out).page_sizes
    expected = [(432, 144), (216, 216), (108, 108)]
    assert [pytest.approx(size, abs=0.01) for size in expected] == sizes
    # The half-transparent red frame lies on white paper.
    red = render_page(out, 2, dpi=100).image.getpixel((75, 75))
    assert isinstance(red, tuple) and red[0] > 240 and 110 < red[1] < 145


def test_pdf_is_not_an_image(samples: Any, tmp_path: Path) -> None:
    source = samples.blank_pdf(tmp_path / "a.pdf", [(100, 100)])
    with pytest.raises(DocumentError) as caught:
        image_to_pdf(source, tmp_path / "out.pdf")
    assert caught.value.code is DocumentErrorCode.UNSUPPORTED_TYPE


def test_hostile_image_leaves_no_output(samples: Any, tmp_path: Path) -> None:
    source = tmp_path / "bomb.png"
    source.write_bytes(samples.png_header_only(100_000, 100_000))
    with pytest.raises(DocumentError):
        image_to_pdf(source, tmp_path / "out.pdf")
    assert list(tmp_path.iterdir()) == [source]


def test_previews_fit_their_sizes_and_keep_the_aspect_ratio(samples: Any) -> None:
    page = samples.text_image(["preview"], size=(2480, 3508)).convert("RGB")
    previews = make_previews(page)
    assert set(previews) == set(PREVIEW_SIZES)
    for name, data in previews.items():
        with Image.open(io.BytesIO(data)) as preview:
            assert preview.format == "JPEG"
            assert max(preview.size) == PREVIEW_SIZES[name]
            assert preview.width / preview.height == pytest.approx(2480 / 3508, abs=0.01)


def test_previews_are_never_enlarged_and_can_be_webp(samples: Any) -> None:
    page = samples.text_image(["small"], size=(300, 100))
    previews = make_previews(page, {"thumbnail": 200, "large": 1600}, image_format="WEBP")
    with Image.open(io.BytesIO(previews["large"])) as large:
        assert large.format == "WEBP" and large.size == (300, 100)
    with Image.open(io.BytesIO(previews["thumbnail"])) as thumbnail:
        assert thumbnail.size == (200, 67)


def test_conversion_holds_one_decoded_frame_at_a_time(tmp_path: Path) -> None:
    import subprocess
    import sys
    import textwrap

    from PIL import ImageDraw

    frame = Image.new("RGB", (2500, 3500), "white")
    draw = ImageDraw.Draw(frame)
    for y in range(0, 3500, 40):
        draw.text((50, y), f"line {y} of a scanned page", fill="black")
    paths = {}
    for count in (1, 8):
        paths[count] = tmp_path / f"scan{count}.tif"
        frame.save(paths[count], save_all=True, append_images=[frame] * (count - 1))
    program = textwrap.dedent(
        """
        import resource, sys
        from archivist.core.images import image_to_pdf
        assert image_to_pdf(sys.argv[1], sys.argv[2]) == int(sys.argv[3])
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        """
    )

    def peak_mib(count: int) -> float:
        out = str(tmp_path / f"out{count}.pdf")
        run = subprocess.run(
            [sys.executable, "-c", program, str(paths[count]), out, str(count)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return int(run.stdout) / 1024

    one, eight = peak_mib(1), peak_mib(8)
    print(f"converting 1 frame: {one:.0f} MiB peak, 8 frames: {eight:.0f} MiB")
    # Each decoded frame is 25 MiB as RGB and more inside PDFium; 8 held at once cost 200 MiB.
    assert eight - one < 40

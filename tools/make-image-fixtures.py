#!/usr/bin/env python3
"""Writes the small image fixtures the Swift tests read (Tests/DataGeneratorTests/Resources/images/)
and the seed corpus of the image fuzz target (Fuzz/Corpus/FuzzImageDecoders/), with Pillow.

    python3 tools/make-image-fixtures.py        # needs pillow and numpy

Every kind python/tests/image_kinds.py makes is a fuzz seed (selector 0; a few also 1, the EXIF
JPEGs also 2, every JPEG also 3 (the region decoder), a few also 4 (the jpeg image store)); the Swift tests get a few tiny files of known pixels (and a file named .jpg that is a PNG).
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python" / "tests"))
import image_kinds  # noqa: E402


def main() -> None:
    corpus = ROOT / "Fuzz" / "Corpus" / "FuzzImageDecoders"
    corpus.mkdir(parents=True, exist_ok=True)
    for old in corpus.iterdir():
        old.unlink()
    for name, (data, _) in image_kinds.make_kinds().items():
        (corpus / f"{name}").write_bytes(b"\x00" + data)
        if name in ("jpeg-baseline-420", "jpeg-cmyk", "png-rgba", "png-palette-transparency"):
            (corpus / f"{name}-grey-small").write_bytes(b"\x01" + data)
        if "-exif-" in name:
            (corpus / f"{name}-exif").write_bytes(b"\x02" + data)
        if name.startswith("jpeg"):  # selector 3: a box at a DCT scale (bytes: scale, x, y, width, height)
            (corpus / f"{name}-region").write_bytes(b"\x03" + bytes([1, 40, 30, 150, 120]) + data)
        if name in ("jpeg-baseline-420", "jpeg-grey", "jpeg-progressive", "jpeg-cmyk", "jpeg-exif-6", "png-rgba"):
            (corpus / f"{name}-store").write_bytes(b"\x04" + data)  # selector 4: the jpeg image store

    fixtures = ROOT / "Tests" / "DataGeneratorTests" / "Resources" / "images"
    fixtures.mkdir(parents=True, exist_ok=True)
    # 4 × 2 pixels of known values: red, green, blue, white / black, grey, yellow, cyan.
    pixels = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]],
                       [[0, 0, 0], [128, 128, 128], [255, 255, 0], [0, 255, 255]]], dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    (fixtures / "known.png").write_bytes(buffer.getvalue())
    (fixtures / "png-named.jpg").write_bytes(buffer.getvalue())  # a PNG named .jpg: read by its bytes
    photo = Image.fromarray(image_kinds._photo(12, 16, 7))
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=90)
    (fixtures / "photo.jpg").write_bytes(buffer.getvalue())
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=90, exif=image_kinds._exif(6))
    (fixtures / "rotated-6.jpg").write_bytes(buffer.getvalue())
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=90, progressive=True)
    (fixtures / "progressive.jpg").write_bytes(buffer.getvalue())
    buffer = io.BytesIO()  # wide enough for a crop's x offset to cross iMCUs; chroma not subsampled
    Image.fromarray(image_kinds._photo(97, 131, 5)).save(buffer, format="JPEG", quality=90, subsampling=0)
    (fixtures / "photo-444.jpg").write_bytes(buffer.getvalue())
    print(f"wrote {len(list(corpus.iterdir()))} seeds and {len(list(fixtures.iterdir()))} fixtures", file=sys.stderr)


if __name__ == "__main__":
    main()

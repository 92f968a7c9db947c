"""Images of every kind that `--data image` reads, made with Pillow (and, for what Pillow cannot
write — interlaced and 16-bit colour PNGs — a small PNG writer of our own), with the pixels each
must decode to: Pillow's ``ImageOps.exif_transpose(Image.open(f)).convert("RGB")``, except 16-bit
samples, stored as ``v >> 8`` (see docs/FORMAT.md and CLARIFICATIONS "Image pixels, exactly")."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple

import numpy as np

from PIL import Image, ImageOps


def _photo(height: int, width: int, seed: int) -> np.ndarray:
    """A smooth, photo-like RGB image with some noise (JPEG-friendly, not flat)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 128 + 100 * np.sin(x / (7 + seed % 5)) * np.cos(y / 11)
    g = 128 + 90 * np.cos((x + y) / 13)
    b = 128 + 80 * np.sin(y / 5 + seed)
    image = np.stack([r, g, b], axis=-1) + rng.normal(0, 12, (height, width, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def png_bytes(pixels: np.ndarray, color_type: int, bit_depth: int, interlace: bool = False,
              palette: Optional[np.ndarray] = None, trns: Optional[bytes] = None) -> bytes:
    """A PNG of `pixels` (h, w[, c], samples already at `bit_depth`), filter 0 on every line."""
    height, width = pixels.shape[:2]
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]
    samples = pixels.reshape(height, width, channels)

    def scanlines(image: np.ndarray) -> bytes:
        out = bytearray()
        for row in image:
            out.append(0)
            if bit_depth == 16:
                out += row.astype(">u2").tobytes()
            elif bit_depth == 8:
                out += row.astype(np.uint8).tobytes()
            else:
                flat = row.reshape(-1).astype(np.uint8)
                per_byte = 8 // bit_depth
                padded = np.zeros(-(-len(flat) // per_byte) * per_byte, dtype=np.uint8)
                padded[:len(flat)] = flat
                for i in range(0, len(padded), per_byte):
                    value = 0
                    for k in range(per_byte):
                        value = (value << bit_depth) | int(padded[i + k])
                    out.append(value)
        return bytes(out)

    if interlace:
        raw = b""
        for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
                               (1, 0, 2, 2), (0, 1, 1, 2)):
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += scanlines(sub)
    else:
        raw = scanlines(samples)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    out = b"\x89PNG\r\n\x1a\n"
    out += chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 1 if interlace else 0))
    if palette is not None:
        out += chunk(b"PLTE", palette.astype(np.uint8).tobytes())
    if trns is not None:
        out += chunk(b"tRNS", trns)
    out += chunk(b"IDAT", zlib.compress(raw, 6))
    out += chunk(b"IEND", b"")
    return out


def _pillow(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, **options)
    return buffer.getvalue()


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def _cmyk(height: int, width: int, seed: int) -> Image.Image:
    """A CMYK image with a real K channel (not derived from RGB)."""
    rng = np.random.default_rng(seed)
    rgb = _photo(height, width, seed)
    k = (np.linspace(0, 255, width)[None, :] * np.ones((height, 1))).astype(np.uint8)
    cmyk = np.concatenate([255 - rgb, k[..., None]], axis=-1)
    cmyk[..., 3] = np.clip(cmyk[..., 3].astype(int) + rng.integers(-20, 20, (height, width)), 0, 255)
    return Image.fromarray(cmyk, "CMYK")


def make_kinds() -> Dict[str, Tuple[bytes, Callable[[bytes], np.ndarray]]]:
    """``{name: (file bytes, expected RGB pixels of the file)}`` for every kind."""
    def pillow_reference(data: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))

    kinds: Dict[str, Tuple[bytes, Callable[[bytes], np.ndarray]]] = {}
    rgb = Image.fromarray(_photo(37, 53, 1))
    kinds["jpeg-baseline-420"] = (_pillow(rgb, format="JPEG", quality=90, subsampling=2), pillow_reference)
    kinds["jpeg-baseline-444"] = (_pillow(rgb, format="JPEG", quality=85, subsampling=0), pillow_reference)
    kinds["jpeg-422"] = (_pillow(Image.fromarray(_photo(30, 41, 2)), format="JPEG", quality=80, subsampling=1),
                         pillow_reference)
    kinds["jpeg-progressive"] = (_pillow(Image.fromarray(_photo(64, 48, 3)), format="JPEG", quality=75,
                                         progressive=True), pillow_reference)
    kinds["jpeg-grey"] = (_pillow(Image.fromarray(_photo(29, 31, 4)).convert("L"), format="JPEG", quality=90),
                          pillow_reference)
    kinds["jpeg-cmyk"] = (_pillow(_cmyk(33, 45, 5), format="JPEG", quality=90), pillow_reference)
    # YCCK (CMYK colour-transformed, Adobe transform 2), which Pillow cannot write: made by
    # tools/make-ycck-fixture.c with libjpeg's encoder.
    kinds["jpeg-ycck"] = ((Path(__file__).parent / "fixtures" / "ycck.jpg").read_bytes(), pillow_reference)
    kinds["jpeg-cmyk-progressive"] = (_pillow(_cmyk(20, 26, 6), format="JPEG", quality=80, progressive=True),
                                      pillow_reference)
    for orientation in range(1, 9):
        kinds[f"jpeg-exif-{orientation}"] = (
            _pillow(Image.fromarray(_photo(19, 34, 10 + orientation)), format="JPEG", quality=92,
                    exif=_exif(orientation)), pillow_reference)
    kinds["jpeg-exif-grey-6"] = (_pillow(Image.fromarray(_photo(12, 21, 30)).convert("L"), format="JPEG",
                                         exif=_exif(6)), pillow_reference)

    photo = _photo(23, 29, 40)
    rng = np.random.default_rng(41)
    kinds["png-rgb"] = (_pillow(Image.fromarray(photo), format="PNG"), pillow_reference)
    rgba = np.concatenate([photo, rng.integers(0, 256, photo.shape[:2] + (1,), dtype=np.uint8)], axis=-1)
    kinds["png-rgba"] = (_pillow(Image.fromarray(rgba, "RGBA"), format="PNG"), pillow_reference)
    kinds["png-grey"] = (_pillow(Image.fromarray(photo[..., 0]), format="PNG"), pillow_reference)
    kinds["png-grey-alpha"] = (_pillow(Image.fromarray(photo[..., :2], "LA"), format="PNG"), pillow_reference)
    kinds["png-1bit"] = (_pillow(Image.fromarray(photo[..., 0] > 128), format="PNG"), pillow_reference)
    kinds["png-grey-2bit"] = (png_bytes(rng.integers(0, 4, (9, 13)), 0, 2), pillow_reference)
    kinds["png-grey-4bit-interlaced"] = (png_bytes(rng.integers(0, 16, (17, 11)), 0, 4, interlace=True),
                                         pillow_reference)
    palette_image = Image.fromarray(photo).quantize(colors=50)
    kinds["png-palette"] = (_pillow(palette_image, format="PNG"), pillow_reference)
    kinds["png-palette-transparency"] = (_pillow(palette_image, format="PNG", transparency=bytes(range(0, 250, 5))),
                                         pillow_reference)
    kinds["png-grey-trns"] = (_pillow(Image.fromarray(photo[..., 1]), format="PNG", transparency=7),
                              pillow_reference)
    kinds["png-exif-6"] = (_pillow(Image.fromarray(photo), format="PNG", exif=_exif(6)), pillow_reference)
    kinds["png-exif-3"] = (_pillow(Image.fromarray(photo[..., 0]), format="PNG", exif=_exif(3)), pillow_reference)
    kinds["png-rgb-interlaced"] = (png_bytes(photo, 2, 8, interlace=True), pillow_reference)
    kinds["png-rgba-interlaced"] = (png_bytes(rgba, 6, 8, interlace=True), pillow_reference)
    kinds["png-palette-4bit-interlaced"] = (
        png_bytes(rng.integers(0, 16, (14, 9)), 3, 4, interlace=True,
                  palette=rng.integers(0, 256, (16, 3)), trns=bytes(rng.integers(0, 256, 16, dtype=np.uint8))),
        pillow_reference)

    wide = rng.integers(0, 65536, (15, 19, 4)).astype(np.uint16)

    def high_bytes(channels: int) -> Callable[[bytes], np.ndarray]:
        def expected(_: bytes) -> np.ndarray:
            samples = (wide[..., :channels] >> 8).astype(np.uint8)
            if channels in (1, 2):
                return np.repeat(samples[..., :1], 3, axis=-1)
            return samples[..., :3]
        return expected
    kinds["png-grey-16"] = (png_bytes(wide[..., 0], 0, 16), high_bytes(1))
    kinds["png-grey-alpha-16"] = (png_bytes(wide[..., :2], 4, 16), high_bytes(2))
    kinds["png-rgb-16"] = (png_bytes(wide[..., :3], 2, 16), high_bytes(3))
    kinds["png-rgba-16-interlaced"] = (png_bytes(wide, 6, 16, interlace=True), high_bytes(4))
    return kinds


def grey(rgb: np.ndarray) -> np.ndarray:
    """Pillow's RGB → L: ``(19595 R + 38470 G + 7471 B + 32768) >> 16``."""
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    return ((19595 * r + 38470 * g + 7471 * b + 0x8000) >> 16).astype(np.uint8)

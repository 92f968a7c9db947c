#!/usr/bin/env python3
"""Writes an ImageNet-like folder of JPEG files (DIR/<class>/<name>.JPEG, as torchvision's
ImageFolder reads) made from the real photographs that the scikit-image, scikit-learn and
matplotlib wheels bundle, for the image benchmark (python/benchmarks/bench_images.py) and the
image examples' tests.

    python tools/bench/make_image_set.py /tmp/imagenet-like --images 20000 --seed 0

Needs numpy and Pillow; the photographs come from whichever of scikit-image, scikit-learn and
matplotlib are installed (all three in the benchmark's venv; any one is enough). Each image is a
random crop (a quarter to all of the photograph's area, aspect 3/5..5/3, randomly mirrored) of one
photograph, rescaled so that its longer side is 400..600 pixels (--long-side), saved as a baseline JPEG of quality
75..95 (4:2:0, a few 4:4:4), as ImageNet's are. A few are of the kinds that trip up loaders:
grey (1%), CMYK (0.2%), progressive (3%), EXIF-rotated (1%: the pixels stored turned, with the
EXIF orientation that turns them upright), PNG (1%, named .png), and one PNG named .JPEG.

The classes are the photographs: each class folder holds crops of one photograph, so a small
network can learn them. The same seed and image count give the same bytes, whatever --processes.
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import math
import multiprocessing
import os
import random
import sys
from pathlib import Path

import numpy as np
from PIL import Image

# Kinds and their shares; the rest are baseline 4:2:0 JPEGs (a few 4:4:4).
SHARES = (("grey", 0.01), ("cmyk", 0.002), ("progressive", 0.03), ("exif", 0.01), ("png", 0.01))
# Image.transpose methods whose inverse exif_transpose applies for orientations 2..8.
STORE_TURNED = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
                8: Image.Transpose.ROTATE_270}


def bundled_photographs(minimum_side: int = 300) -> list[str]:
    """Paths of the colour or grey photographs that the installed wheels bundle, sorted."""
    found: list[str] = []
    try:
        import skimage
        folder = os.path.join(os.path.dirname(skimage.__file__), "data")
        # Photographs only (drawings, patterns, text and the right image of the stereo pair left out).
        photographs = ("astronaut", "brick", "camera", "chelsea", "coffee", "coins", "grass", "gravel",
                       "hubble_deep_field", "ihc", "motorcycle_left", "moon", "retina", "rocket")
        for path in glob.glob(os.path.join(folder, "*")):
            stem = os.path.splitext(os.path.basename(path))[0]
            if stem in photographs and path.lower().endswith((".png", ".jpg", ".jpeg")):
                found.append(path)
    except ImportError:
        pass
    try:
        import sklearn
        found += glob.glob(os.path.join(os.path.dirname(sklearn.__file__), "datasets", "images", "*.jpg"))
    except ImportError:
        pass
    try:
        import matplotlib
        sample = os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "sample_data")
        found += [path for path in glob.glob(os.path.join(sample, "*.jpg"))]
    except ImportError:
        pass
    usable = []
    for path in sorted(set(found)):
        try:
            with Image.open(path) as image:
                if min(image.size) >= minimum_side and image.mode in ("RGB", "RGBA", "L", "P"):
                    usable.append(path)
        except OSError:
            continue
    # The same photograph under two names (skimage's ihc / immunohistochemistry) counts once.
    seen, unique = set(), []
    for path in usable:
        with Image.open(path) as image:
            key = (image.size, image.mode, image.convert("RGB").resize((8, 8)).tobytes())
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def plan(count: int, seed: int, classes: int) -> list[dict]:
    """What each image is: its class, name and kind, drawn from the seed alone."""
    rng = random.Random(f"plan-{seed}")
    kinds = ["jpeg"] * count
    slots = list(range(count))
    rng.shuffle(slots)
    start = 0
    for kind, share in SHARES:
        take = max(1, round(count * share)) if count >= 50 else 1
        for slot in slots[start:start + take]:
            kinds[slot] = kind
        start += take
    kinds[slots[start]] = "png-named-jpeg"
    entries = []
    for index in range(count):
        label = index % classes
        entries.append({"index": index, "class": label, "kind": kinds[index],
                        "name": f"n{label:08d}_{index:06d}." + ("png" if kinds[index] == "png" else "JPEG")})
    return entries


def _crop(photo: Image.Image, rng: random.Random, sides: tuple[int, int] = (400, 600)) -> Image.Image:
    width, height = photo.size
    area = width * height * rng.uniform(0.25, 1.0)
    aspect = math.exp(rng.uniform(math.log(3 / 5), math.log(5 / 3)))
    w = min(width, max(32, int(round(math.sqrt(area * aspect)))))
    h = min(height, max(32, int(round(math.sqrt(area / aspect)))))
    left, top = rng.randint(0, width - w), rng.randint(0, height - h)
    image = photo.crop((left, top, left + w, top + h))
    long_side = rng.randint(*sides)
    scale = long_side / max(w, h)
    image = image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BICUBIC)
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return image


_PHOTOS: dict[str, Image.Image] = {}


def _photo(path: str) -> Image.Image:
    if path not in _PHOTOS:
        with Image.open(path) as source:
            _PHOTOS[path] = source.convert("RGB")
    return _PHOTOS[path]


def encode(entry: dict, photo_path: str, seed: int, sides: tuple[int, int] = (400, 600)) -> bytes:
    """The bytes of one image of the set."""
    rng = random.Random(f"image-{seed}-{entry['index']}")
    photo = _photo(photo_path)
    image = _crop(photo, rng, sides)
    quality = rng.randint(75, 95)
    subsampling = 0 if rng.random() < 0.05 else 2
    kind = entry["kind"]
    out = io.BytesIO()
    if kind in ("png", "png-named-jpeg"):
        image.save(out, format="PNG", compress_level=6)
    elif kind == "grey":
        image.convert("L").save(out, format="JPEG", quality=quality)
    elif kind == "cmyk":
        image.convert("CMYK").save(out, format="JPEG", quality=quality)
    elif kind == "progressive":
        image.save(out, format="JPEG", quality=quality, subsampling=subsampling, progressive=True)
    elif kind == "exif":
        orientation = rng.randint(2, 8)
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.transpose(STORE_TURNED[orientation]).save(out, format="JPEG", quality=quality,
                                                         subsampling=subsampling, exif=exif.tobytes())
    else:
        image.save(out, format="JPEG", quality=quality, subsampling=subsampling)
    return out.getvalue()


def _write(job: tuple[dict, str, int, str, tuple[int, int]]) -> int:
    entry, photo_path, seed, directory, sides = job
    path = os.path.join(directory, f"n{entry['class']:08d}", entry["name"])
    data = encode(entry, photo_path, seed, sides)
    with open(path, "wb") as file:
        file.write(data)
    return len(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory")
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--classes", type=int, default=0, help="class folders (default: one per photograph)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--long-side", type=int, nargs=2, default=(400, 600), metavar=("MIN", "MAX"),
                        help="range of the images' longer side in pixels (default 400 600)")
    args = parser.parse_args(argv)
    photographs = bundled_photographs()
    if not photographs:
        print("no bundled photographs found: pip install scikit-image scikit-learn matplotlib", file=sys.stderr)
        return 1
    classes = args.classes or len(photographs)
    entries = plan(args.images, args.seed, classes)
    for label in range(classes):
        os.makedirs(os.path.join(args.directory, f"n{label:08d}"), exist_ok=True)
    # Class k crops photograph k (mod the photographs found).
    sides = (args.long_side[0], args.long_side[1])
    jobs = [(entry, photographs[entry["class"] % len(photographs)], args.seed, args.directory, sides)
            for entry in entries]
    if args.processes > 1:
        with multiprocessing.Pool(args.processes) as pool:
            sizes = pool.map(_write, jobs, chunksize=64)
    else:
        sizes = [_write(job) for job in jobs]
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry["kind"]] = counts.get(entry["kind"], 0) + 1
    summary = {"directory": args.directory, "images": args.images, "classes": classes, "seed": args.seed,
               "bytes": sum(sizes), "kinds": counts,
               "photographs": [os.path.relpath(path, os.path.dirname(os.path.dirname(os.path.dirname(path))))
                               for path in photographs]}
    with open(os.path.join(args.directory, ".image-set.json"), "w") as file:
        json.dump(summary, file, indent=1)
    print(json.dumps(summary), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

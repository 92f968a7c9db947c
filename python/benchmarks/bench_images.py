"""The image benchmark (issue 19, part 4): datagen's image caches against the CPU loaders users
pick instead, on the same ImageNet-like folder of JPEG files, in one run, side by side.

Every row serves the same pipeline: random-resized-crop 224 (scale 0.08..1, ratio 3/4..4/3,
torchvision's sampler or the tool's own), horizontal flip (p = 0.5), normalise with ImageNet's
mean and std to float32, channels first (CHW), batches of 128, 3 epochs, 2 workers. Each row runs in
its own child process; the parent samples the anonymous memory (`RssAnon`, summed over the child
and its descendants, as a DataLoader's worker processes are; the tree is listed once a second)
every 50 ms and keeps the peak.

Rows:
  datagen pixels@256, pixels@512 (a subset of --images-512 images: decoded pixels take ~0.56 MB an
      image at 512), jpeg@512: `datagen cache build --from-folders DIR --data image --max-side N
      [--image-store jpeg]` (build time, size on disk, peak RssAnon), then
      `datagen cache bench CACHE --transform SPEC --workers 2` (images/s, peak RssAnon);
  datagen Python engine backend (`Cache.batches(..., transform=SPEC)`, pixels@256);
  Pillow, torchvision-style, in a torch DataLoader with 2 worker processes (torchvision's own
      transforms, written with Pillow and torch as torchvision 0.2x does them: torchvision does not
      import beside the CPU torch wheel used here);
  Pillow-SIMD, the same code (`pip install --target` of pillow-simd, put first on PYTHONPATH);
  tf.data (tensorflow-cpu): `sample_distorted_bounding_box` + `decode_and_crop_jpeg`;
  DALI's CPU pipeline (`nvidia-dali-cuda120`, `device_id=None`): `decoders.image_random_crop`;
  FFCV, if it imports.

Install the competitors in their own venv (not in CI):

    python3 -m venv python/benchmarks/.venv-images
    python/benchmarks/.venv-images/bin/pip install numpy pillow scikit-image scikit-learn \
        matplotlib torch==2.13.0+cpu tensorflow-cpu nvidia-dali-cuda120
    python/benchmarks/.venv-images/bin/pip install ./python      # datagen's Python package
    python/benchmarks/.venv-images/bin/pip install --target /tmp/pillow-simd pillow-simd  # optional

Then, with a release `datagen`:

    swift build -c release --product datagen
    python/benchmarks/.venv-images/bin/python tools/bench/make_image_set.py /tmp/imagenet-like --images 20000
    python/benchmarks/.venv-images/bin/python python/benchmarks/bench_images.py /tmp/imagenet-like \
        --datagen .build/release/datagen --work /tmp/imgbench-work --images-512 6000 \
        --markdown /tmp/images.md --json /tmp/images.json --svg docs/benchmarks-images.svg
"""

from __future__ import annotations

import argparse
import html
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

SPEC = "random-resized-crop(224),flip,normalize(imagenet),chw"
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


# ---------------------------------------------------------------------------------------------
# The data set as every competitor lists it (torchvision's ImageFolder: classes and files sorted)

def list_folder(directory: str) -> tuple[list[str], list[int]]:
    classes = sorted(entry.name for entry in os.scandir(directory)
                     if entry.is_dir() and not entry.name.startswith("."))
    files, labels = [], []
    for label, name in enumerate(classes):
        for entry in sorted(os.scandir(os.path.join(directory, name)), key=lambda e: e.name):
            if entry.is_file() and not entry.name.startswith("."):
                files.append(entry.path)
                labels.append(label)
    return files, labels


def subset_folder(directory: str, target: str, count: int) -> str:
    """A folder of hard links to the first `count` images of `directory` (round robin over classes)."""
    files, labels = list_folder(directory)
    by_class: Dict[int, List[str]] = {}
    for path, label in zip(files, labels):
        by_class.setdefault(label, []).append(path)
    chosen: List[str] = []
    position = 0
    while len(chosen) < min(count, len(files)):
        for label in sorted(by_class):
            if position < len(by_class[label]) and len(chosen) < count:
                chosen.append(by_class[label][position])
        position += 1
    marker = os.path.join(target, f".subset-{count}")
    if os.path.exists(marker):
        return target
    for path in chosen:
        destination = os.path.join(target, os.path.basename(os.path.dirname(path)), os.path.basename(path))
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        if not os.path.exists(destination):
            os.link(path, destination)
    open(marker, "w").close()
    return target


# ---------------------------------------------------------------------------------------------
# Children: one per row, each printing one JSON line

def epochs_report(times: List[float], delivered: List[int], **extra: Any) -> Dict[str, Any]:
    return {"epoch_seconds": times, "delivered": delivered, **extra}


def child_pillow(args: argparse.Namespace) -> Dict[str, Any]:
    import numpy as np
    import PIL
    import torch
    from PIL import Image
    from torch.utils.data import DataLoader, Dataset

    torch.set_num_threads(1)
    files, labels = list_folder(args.images)
    mean = torch.tensor(MEAN).view(3, 1, 1)
    std = torch.tensor(STD).view(3, 1, 1)

    def random_resized_crop_params(width: int, height: int) -> tuple[int, int, int, int]:
        # torchvision.transforms.RandomResizedCrop.get_params, line for line.
        scale, ratio = (0.08, 1.0), (3.0 / 4.0, 4.0 / 3.0)
        area = height * width
        log_ratio = torch.log(torch.tensor(ratio))
        for _ in range(10):
            target_area = area * torch.empty(1).uniform_(scale[0], scale[1]).item()
            aspect_ratio = math.exp(torch.empty(1).uniform_(log_ratio[0], log_ratio[1]).item())
            w = int(round(math.sqrt(target_area * aspect_ratio)))
            h = int(round(math.sqrt(target_area / aspect_ratio)))
            if 0 < w <= width and 0 < h <= height:
                i = int(torch.randint(0, height - h + 1, size=(1,)).item())
                j = int(torch.randint(0, width - w + 1, size=(1,)).item())
                return i, j, h, w
        in_ratio = float(width) / float(height)
        if in_ratio < min(ratio):
            w = width
            h = int(round(w / min(ratio)))
        elif in_ratio > max(ratio):
            h = height
            w = int(round(h * max(ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    class Folder(Dataset):
        def __len__(self) -> int:
            return len(files)

        def __getitem__(self, index: int):
            with open(files[index], "rb") as file:  # torchvision's pil_loader
                image = Image.open(file).convert("RGB")
            i, j, h, w = random_resized_crop_params(*image.size)
            # F.resized_crop on a PIL image: crop, then resize with Pillow's (antialiased) bilinear.
            image = image.crop((j, i, j + w, i + h)).resize((224, 224), Image.Resampling.BILINEAR)
            if torch.rand(1) < 0.5:  # RandomHorizontalFlip
                image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            # ToTensor, then Normalize.
            tensor = torch.from_numpy(np.array(image, np.uint8, copy=True)).view(224, 224, 3)
            tensor = tensor.permute((2, 0, 1)).contiguous().to(dtype=torch.float32).div(255)
            tensor.sub_(mean).div_(std)
            return tensor, labels[index]

    loader = DataLoader(Folder(), batch_size=args.batch_size, shuffle=True, num_workers=args.workers,
                        generator=torch.Generator().manual_seed(args.seed))
    times, delivered = [], []
    for _ in range(args.epochs):
        started, count = time.perf_counter(), 0
        for images, _targets in loader:
            count += images.shape[0]
        times.append(time.perf_counter() - started)
        delivered.append(count)
    return epochs_report(times, delivered, version=f"Pillow {PIL.__version__}, torch {torch.__version__}",
                         simd=".post" in PIL.__version__)


def child_tfdata(args: argparse.Namespace) -> Dict[str, Any]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_inter_op_parallelism_threads(args.workers)
    tf.config.threading.set_intra_op_parallelism_threads(args.workers)
    files, labels = list_folder(args.images)
    mean = tf.constant(MEAN, shape=(1, 1, 3))
    std = tf.constant(STD, shape=(1, 1, 3))
    whole = tf.constant([0.0, 0.0, 1.0, 1.0], shape=(1, 1, 4))

    def window(shape):
        begin, size, _ = tf.image.sample_distorted_bounding_box(
            shape, bounding_boxes=whole, min_object_covered=0.0, aspect_ratio_range=(3 / 4, 4 / 3),
            area_range=(0.08, 1.0), max_attempts=10, use_image_if_no_bounding_boxes=True)
        return tf.stack([begin[0], begin[1], size[0], size[1]])

    def load(path, label):
        data = tf.io.read_file(path)

        def jpeg():
            crop = window(tf.image.extract_jpeg_shape(data))
            return tf.image.decode_and_crop_jpeg(data, crop, channels=3)

        def other():  # PNGs (whatever their name): decode whole, then the same crop
            image = tf.io.decode_image(data, channels=3, expand_animations=False)
            crop = window(tf.shape(image))
            return tf.image.crop_to_bounding_box(image, crop[0], crop[1], crop[2], crop[3])

        image = tf.cond(tf.io.is_jpeg(data), jpeg, other)
        image = tf.image.resize(image, (224, 224), method="bilinear", antialias=True)
        image = tf.image.random_flip_left_right(image)
        image = (image / 255.0 - mean) / std
        return tf.transpose(image, (2, 0, 1)), label

    dataset = (tf.data.Dataset.from_tensor_slices((files, labels))
               .shuffle(len(files), seed=args.seed, reshuffle_each_iteration=True)
               .map(load, num_parallel_calls=args.workers, deterministic=False)
               .ignore_errors()
               .batch(args.batch_size)
               .prefetch(2))
    times, delivered = [], []
    for _ in range(args.epochs):
        started, count = time.perf_counter(), 0
        for images, _targets in dataset:
            count += int(images.shape[0])
        times.append(time.perf_counter() - started)
        delivered.append(count)
    return epochs_report(times, delivered, version=f"tensorflow {tf.__version__}",
                         failed=len(files) - min(delivered))


def child_dali(args: argparse.Namespace) -> Dict[str, Any]:
    import numpy as np
    import nvidia.dali as dali
    from nvidia.dali import fn, pipeline_def, types

    files, labels = list_folder(args.images)

    @pipeline_def(batch_size=args.batch_size, num_threads=args.workers, device_id=None, seed=args.seed,
                  prefetch_queue_depth=2)
    def pipeline():
        encoded, label = fn.readers.file(files=files, labels=labels, random_shuffle=True, name="Reader")
        images = fn.decoders.image_random_crop(encoded, device="cpu", output_type=types.RGB,
                                               random_area=[0.08, 1.0], random_aspect_ratio=[3 / 4, 4 / 3],
                                               num_attempts=10)
        images = fn.resize(images, resize_x=224, resize_y=224, antialias=True)
        images = fn.crop_mirror_normalize(images, dtype=types.FLOAT, output_layout="CHW",
                                          mean=[m * 255 for m in MEAN], std=[s * 255 for s in STD],
                                          mirror=fn.random.coin_flip(probability=0.5))
        return images, label

    pipe = pipeline()
    pipe.build()
    size = pipe.epoch_size("Reader")
    runs = math.ceil(size / args.batch_size)
    times, delivered = [], []
    for _ in range(args.epochs):
        started, count = time.perf_counter(), 0
        for _ in range(runs):
            images, _label = pipe.run()
            batch = np.array(images.as_tensor(), copy=False)
            count += batch.shape[0]
        times.append(time.perf_counter() - started)
        delivered.append(min(count, size))
    return epochs_report(times, delivered, version=f"DALI {dali.__version__}")


def child_ffcv(args: argparse.Namespace) -> Dict[str, Any]:
    """FFCV 1.0.2: a .beton of JPEGs at most 512 px on the longer side (its ImageNet example's
    `RGBImageField(write_mode="jpg", max_resolution=512)`), then its Loader with the ImageNet
    example's pipeline on the CPU (no ToDevice)."""
    import numpy as np
    import ffcv
    import torch
    from ffcv.fields import IntField, RGBImageField
    from ffcv.fields.decoders import IntDecoder, RandomResizedCropRGBImageDecoder
    from ffcv.loader import Loader, OrderOption
    from ffcv.transforms import NormalizeImage, RandomHorizontalFlip, ToTensor, ToTorchImage
    from ffcv.writer import DatasetWriter
    from PIL import Image, ImageOps

    files, labels = list_folder(args.images)

    class Folder(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(files)

        def __getitem__(self, index: int):
            with Image.open(files[index]) as image:
                return ImageOps.exif_transpose(image).convert("RGB"), labels[index]

    beton = os.path.join(args.work, "ffcv-jpeg512.beton")
    started = time.perf_counter()
    writer = DatasetWriter(beton, {"image": RGBImageField(write_mode="jpg", max_resolution=512, jpeg_quality=90),
                                   "label": IntField()}, num_workers=args.workers)
    writer.from_indexed_dataset(Folder())
    build_seconds = time.perf_counter() - started
    mean = np.array(MEAN) * 255
    std = np.array(STD) * 255
    loader = Loader(beton, batch_size=args.batch_size, num_workers=args.workers, order=OrderOption.RANDOM,
                    seed=args.seed, drop_last=False,
                    pipelines={"image": [RandomResizedCropRGBImageDecoder((224, 224)), RandomHorizontalFlip(),
                                         ToTensor(), ToTorchImage(), NormalizeImage(mean, std, np.float32)],
                               "label": [IntDecoder(), ToTensor()]})
    times, delivered = [], []
    for _ in range(args.epochs):
        started, count = time.perf_counter(), 0
        for images, _labels in loader:
            count += int(images.shape[0])
        times.append(time.perf_counter() - started)
        delivered.append(count)
    return epochs_report(times, delivered, version=f"FFCV {ffcv.__version__}", build_seconds=build_seconds,
                         disk=disk_bytes(beton), shape=list(images.shape), dtype=str(images.dtype))


def child_engine(args: argparse.Namespace) -> Dict[str, Any]:
    import datagen

    started = time.perf_counter()
    cache = datagen.open(args.cache, backend="engine")
    opened = time.perf_counter() - started
    times, delivered = [], []
    for epoch in range(args.epochs):
        started, count = time.perf_counter(), 0
        for batch in cache.batches(batch_size=args.batch_size, shuffle="full", seed=args.seed, epoch=epoch,
                                   workers=args.workers, transform=SPEC):
            first = next(iter(batch.values())) if isinstance(batch, dict) else batch[0]
            count += len(first)
        times.append(time.perf_counter() - started)
        delivered.append(count)
    return epochs_report(times, delivered, open_seconds=opened, version=f"datagen {getattr(datagen, '__version__', '?')}")


CHILDREN = {"pillow": child_pillow, "pillow-simd": child_pillow, "tfdata": child_tfdata, "dali": child_dali,
            "ffcv": child_ffcv, "engine": child_engine}


# ---------------------------------------------------------------------------------------------
# The parent: runs each row in a child, sampling RssAnon over the child's process tree

def _status(pid: int) -> Dict[str, int]:
    values = {}
    try:
        with open(f"/proc/{pid}/status") as file:
            for line in file:
                if line.startswith(("RssAnon:", "PPid:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    values[key] = int(value.split()[0])
    except OSError:
        pass
    return values


def _tree(root: int) -> set:
    """The pid `root` and its descendants (one scan of /proc: about 30 ms here, so done once a second)."""
    parents: Dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as file:
                    fields = file.read().rsplit(")", 1)[1].split()
                parents[int(entry)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return tree


def _anon(pids: set) -> int:
    return sum(_status(pid).get("RssAnon", 0) for pid in pids) * 1024


def run_measured(argv: List[str], env: Optional[Dict[str, str]] = None, timeout: float = 3600) -> Dict[str, Any]:
    """Runs argv; returns its stdout, stderr, exit code, wall seconds and peak RssAnon of its tree."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, **(env or {})})
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        pids, scanned = {process.pid}, 0.0
        while not done.is_set():
            if time.perf_counter() - scanned > 1.0:
                pids, scanned = _tree(process.pid), time.perf_counter()
            peak[0] = max(peak[0], _anon(pids))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"stdout": stdout, "stderr": stderr, "code": process.returncode,
            "seconds": seconds, "cpu_seconds": cpu, "peak_anon": peak[0]}


def last_json(text: str) -> Optional[Dict[str, Any]]:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return None


def error_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return next((line for line in lines if line.startswith("Error")), lines[-1] if lines else "?")


def disk_bytes(path: str) -> int:
    return os.stat(path).st_blocks * 512 if os.path.exists(path) else 0


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.rows: List[Dict[str, Any]] = []
        self.notes: List[str] = []
        self.commands: List[str] = []
        os.makedirs(args.work, exist_ok=True)

    def log(self, message: str) -> None:
        print(f"[bench_images] {message}", file=sys.stderr, flush=True)

    def record(self, row: Dict[str, Any]) -> None:
        times, delivered = row.get("epoch_seconds") or [], row.get("delivered") or []
        if times and sum(times) > 0:
            row["rate"] = sum(delivered) / sum(times)
            row["steady_rate"] = (statistics.median(delivered[1:]) / statistics.median(times[1:])
                                  if len(times) > 1 else row["rate"])
        self.rows.append(row)
        shown = f"{row['rate']:,.0f} images/s" if "rate" in row else row.get("status", "")
        self.log(f"{row['name']}: {shown}; peak RssAnon {row.get('peak_anon', 0) / 2**20:,.0f} MB")

    # datagen rows ------------------------------------------------------------------------
    def datagen_build(self, name: str, folder: str, max_side: int, store: str) -> Optional[Dict[str, Any]]:
        cache = os.path.join(self.args.work, f"{name}.dgcache")
        argv = [self.args.datagen, "cache", "build", "--from-folders", folder, "--data", "image",
                "--max-side", str(max_side), "--channels", "3", "--on-error", "skip",
                "--workers", str(self.args.workers), "--output", cache, "--force", "--json"]
        if store != "pixels":
            argv += ["--image-store", store]
        self.commands.append(shlex.join(argv))
        result = run_measured(argv)
        if result["code"] != 0:
            reason = error_line(result["stderr"])
            return {"status": f"not yet ({reason})" if "not implemented" in reason else f"failed: {reason}"}
        info = last_json(result["stdout"]) or {}
        return {"cache": cache, "build_seconds": result["seconds"], "build_cpu": result["cpu_seconds"],
                "build_anon": result["peak_anon"],
                "disk": disk_bytes(cache), "build_info": info}

    def datagen_row(self, name: str, title: str, folder: str, max_side: int, store: str, images: int) -> None:
        row: Dict[str, Any] = {"name": name, "tool": title, "group": "datagen", "images": images}
        built = self.datagen_build(name, folder, max_side, store)
        if built is None or "status" in built:
            row.update(built or {})
            self.record(row)
            return
        row.update(built)
        row["build_rate"] = images / built["build_seconds"]
        self.datagen_serve(row, built["cache"], SPEC)

    def datagen_serve(self, row: Dict[str, Any], cache: str, transform: Optional[str]) -> None:
        argv = [self.args.datagen, "cache", "bench", cache] + (["--transform", transform] if transform else []) + [
                "--workers", str(self.args.workers), "--epochs", str(self.args.epochs),
                "--batch-size", str(self.args.batch_size), "--seed", str(self.args.seed), "--json"]
        self.commands.append(shlex.join(argv))
        result = run_measured(argv)
        info = last_json(result["stdout"])
        if result["code"] != 0 or info is None:
            reason = error_line(result["stderr"])
            row["status"] = ("not yet: `cache bench --transform` is not in this build" if "--transform" in reason
                             else f"failed: {reason}")
        else:
            samples = info["samples"]
            row.update({"epoch_seconds": info["epoch_seconds"], "delivered": [samples] * len(info["epoch_seconds"]),
                        "peak_anon": result["peak_anon"], "budget": info.get("memory_budget_bytes"),
                        "cpu_seconds": result["cpu_seconds"],
                        "batch_bytes": self.args.batch_size * 3 * 224 * 224 * 4,
                        "version": "datagen cache bench", "digest": info.get("digest")})
        self.record(row)

    def engine_row(self, cache: Optional[str], images: int) -> None:
        row: Dict[str, Any] = {"name": "engine256", "tool": "datagen Python, engine backend, pixels@256",
                               "group": "datagen", "images": images}
        if not cache:
            row["status"] = "no pixels@256 cache"
            self.record(row)
            return
        self.child_row(row, "engine", extra=["--cache", cache],
                       env={"PYTHONPATH": self.args.datagen_python} if self.args.datagen_python else None)

    # competitor rows -----------------------------------------------------------------------
    def child_row(self, row: Dict[str, Any], kind: str, env: Optional[Dict[str, str]] = None,
                  extra: Optional[List[str]] = None) -> None:
        argv = [sys.executable, os.path.abspath(__file__), self.args.images, "--child", kind,
                "--epochs", str(self.args.epochs), "--batch-size", str(self.args.batch_size),
                "--workers", str(self.args.workers), "--seed", str(self.args.seed)] + (extra or [])
        self.commands.append(("PYTHONPATH=" + env["PYTHONPATH"] + " " if env and "PYTHONPATH" in env else "")
                             + shlex.join(argv[1:]).replace(os.path.abspath(__file__), "python/benchmarks/bench_images.py"))
        result = run_measured(argv, env=env)
        info = last_json(result["stdout"])
        if result["code"] != 0 or info is None or "error" in info:
            reason = (info or {}).get("error") or error_line(result["stderr"])
            row["status"] = f"did not run: {reason[:300]}"
        else:
            row.update(info)
            row["peak_anon"] = result["peak_anon"]
            row["cpu_seconds"] = result["cpu_seconds"]
        self.record(row)

    def run(self) -> None:
        args = self.args
        files, _ = list_folder(args.images)
        count = len(files)
        wanted = set(args.rows.split(","))
        existing = os.path.join(args.work, "pixels256.dgcache")
        pixels256 = existing if os.path.exists(existing) else None  # from an earlier run, when not rebuilt
        if "pixels256" in wanted:
            self.datagen_row("pixels256", "datagen pixels@256 (lz4), 2 workers", args.images, 256, "pixels", count)
            pixels256 = self.rows[-1].get("cache")
        if "pixels256-raw" in wanted and pixels256:
            # Context, not the pipeline: the stored uint8 images, padded to each batch's largest.
            self.datagen_serve({"name": "pixels256-raw", "tool": "datagen pixels@256, no transform "
                                "(stored uint8 HWC, padded; context only)", "group": "context", "images": count},
                               pixels256, None)
        folder512 = args.images
        count512 = count
        if args.images_512 and args.images_512 < count:
            folder512 = subset_folder(args.images, os.path.join(args.work, f"subset-{args.images_512}"), args.images_512)
            count512 = args.images_512
        if "pixels512" in wanted:
            self.datagen_row("pixels512", f"datagen pixels@512 (lz4), 2 workers", folder512, 512, "pixels", count512)
            if not args.keep_caches and self.rows[-1].get("cache"):
                os.remove(self.rows[-1]["cache"])
        if "jpeg512" in wanted:
            self.datagen_row("jpeg512", "datagen jpeg@512, 2 workers", args.images, 512, "jpeg", count)
        if "engine" in wanted:
            self.engine_row(pixels256, count)
        if "pillow" in wanted:
            self.child_row({"name": "pillow", "tool": "Pillow (torchvision-style), torch DataLoader, 2 workers",
                            "group": "competitor", "images": count}, "pillow")
        if "pillow-simd" in wanted:
            row = {"name": "pillow-simd", "tool": "Pillow-SIMD (torchvision-style), torch DataLoader, 2 workers",
                   "group": "competitor", "images": count}
            if args.pillow_simd and os.path.isdir(os.path.join(args.pillow_simd, "PIL")):
                self.child_row(row, "pillow-simd", env={"PYTHONPATH": args.pillow_simd})
                if row.get("simd") is False:
                    row["status"] = "did not run: the PIL imported is not Pillow-SIMD"
                    row.pop("rate", None)
            else:
                row["status"] = args.pillow_simd_reason or "not installed"
                self.record(row)
        if "tfdata" in wanted:
            self.child_row({"name": "tfdata", "tool": "tf.data (decode_and_crop_jpeg), 2 threads",
                            "group": "competitor", "images": count}, "tfdata")
        if "dali" in wanted:
            self.child_row({"name": "dali", "tool": "DALI CPU pipeline (device_id=None), 2 threads",
                            "group": "competitor", "images": count}, "dali")
        if "ffcv" in wanted:
            row = {"name": "ffcv", "tool": "FFCV", "group": "competitor", "images": count}
            if args.ffcv_reason:
                row["status"] = args.ffcv_reason
                self.record(row)
            else:
                row["tool"] = "FFCV (.beton of JPEGs ≤ 512 px, quality 90), 2 workers"
                self.child_row(row, "ffcv", env={"PYTHONPATH": args.ffcv_path} if args.ffcv_path else None,
                               extra=["--work", args.work])


# ---------------------------------------------------------------------------------------------
# Reports

def find(rows: List[Dict[str, Any]], name: str) -> Optional[Dict[str, Any]]:
    return next((row for row in rows if row["name"] == name and "rate" in row), None)


def goals(rows: List[Dict[str, Any]], workers: int) -> List[Dict[str, Any]]:
    out = []

    def goal(text: str, value: Optional[float], target: float, unit: str = "×") -> None:
        if value is None:
            out.append({"goal": text, "measured": "–", "target": f"≥ {target:,g}{unit}", "verdict": "not measured"})
        else:
            shown = f"{value:,.0f}" if unit == " images/s" else f"{value:.2f}"
            out.append({"goal": text, "measured": f"{shown}{unit}", "target": f"≥ {target:,g}{unit}",
                        "verdict": "met" if value >= target else "**missed**"})

    p256, p512, j512 = find(rows, "pixels256"), find(rows, "pixels512"), find(rows, "jpeg512")
    pillow, dali = find(rows, "pillow"), find(rows, "dali")
    goal(f"pixels@256 images/s on {workers} cores", p256 and p256["rate"], 10000, " images/s")
    goal("pixels@256 vs the Pillow DataLoader", p256 and pillow and p256["rate"] / pillow["rate"], 10)
    goal("pixels@256 vs DALI (CPU)", p256 and dali and p256["rate"] / dali["rate"], 8)
    goal("jpeg@512 vs DALI (CPU)", j512 and dali and j512["rate"] / dali["rate"], 2)
    for name in ("pixels256", "pixels512", "jpeg512"):
        row = next((r for r in rows if r["name"] == name and "build_seconds" in r), None)
        label = name.replace("pixels", "pixels@").replace("jpeg", "jpeg@")
        goal(f"first pass (build) of {label}, images/s per core (wall time / {workers} workers)",
             row and row["images"] / row["build_seconds"] / workers, 600, " images/s")
        if row and row.get("build_cpu"):
            out.append({"goal": f"(beside it) the same per CPU-second the build used ({row['build_cpu']:.1f} s)",
                        "measured": f"{row['images'] / row['build_cpu']:,.0f} images/s", "target": "reported",
                        "verdict": ""})
    # Memory: serving holds the batch buffers and the workers' scratch, nothing sized by the stored
    # images: pixels@512's anonymous memory stays that of pixels@256 (plus a fixed margin).
    if p256 and p512 and p256.get("peak_anon") and p512.get("peak_anon"):
        margin = 64 * 2**20
        value, limit = p512["peak_anon"], p256["peak_anon"] + margin
        out.append({"goal": "peak RssAnon serving pixels@512 vs pixels@256 + 64 MB (nothing sized by the images)",
                    "measured": f"{value / 2**20:,.0f} MB", "target": f"≤ {limit / 2**20:,.0f} MB",
                    "verdict": "met" if value <= limit else "**missed**"})
    for row in (p256, p512, j512):
        if row and row.get("peak_anon"):
            batch = row.get("batch_bytes") or 0
            budget = row.get("budget")
            out.append({"goal": f"peak RssAnon serving {row['tool']} (memory budget: "
                                f"{'none' if budget is None else f'{budget / 2**20:,.0f} MB'}; one float32 batch "
                                f"{batch / 2**20:,.0f} MB)",
                        "measured": f"{row['peak_anon'] / 2**20:,.0f} MB", "target": "reported", "verdict": ""})
    return out


def markdown(bench_rows: List[Dict[str, Any]], args: argparse.Namespace, meta: Dict[str, Any]) -> str:
    pillow, dali = find(bench_rows, "pillow"), find(bench_rows, "dali")
    lines = ["| Tool | Images | Build (s) | On disk (MB) | Epochs (s) | Images/s | CPU s (whole process) | Peak RssAnon (MB) | × Pillow | × DALI |",
             "|---|--:|--:|--:|---|--:|--:|--:|--:|--:|"]
    for row in bench_rows:
        build = f"{row['build_seconds']:.1f} ({row['images'] / row['build_seconds']:,.0f}/s)" if "build_seconds" in row else "–"
        disk = f"{row['disk'] / 1e6:,.0f}" if row.get("disk") else "–"
        anon = [f"{row['peak_anon'] / 2**20:,.0f}" if row.get("peak_anon") else "–"]
        if row.get("build_anon"):
            anon.append(f"build {row['build_anon'] / 2**20:,.0f}")
        if "rate" in row:
            epochs = " / ".join(f"{t:.2f}" for t in row["epoch_seconds"])
            rate = f"{row['rate']:,.0f}"
            versus_pillow = f"{row['rate'] / pillow['rate']:.2f}×" if pillow else "–"
            versus_dali = f"{row['rate'] / dali['rate']:.2f}×" if dali else "–"
        else:
            epochs, rate, versus_pillow, versus_dali = row.get("status", "–"), "–", "–", "–"
        cpu = "; ".join(part for part in (
            f"build {row['build_cpu']:.1f}" if row.get("build_cpu") else "",
            f"{row['cpu_seconds']:.1f}" if row.get("cpu_seconds") else "") if part) or "–"
        lines.append(f"| {row['tool']} | {row['images']:,} | {build} | {disk} | {epochs} | {rate} | {cpu} | "
                     f"{'; '.join(anon)} | {versus_pillow} | {versus_dali} |")
    lines += ["", "| Goal | Measured | Target | |", "|---|--:|---|---|"]
    for item in goals(bench_rows, args.workers):
        lines.append(f"| {item['goal']} | {item['measured']} | {item['target']} | {item['verdict']} |")
    notes = [f"* {row['tool']}: {row['version']}" + (f"; {row['failed']} images not delivered (decode errors, skipped)"
                                                     if row.get("failed") else "")
             for row in bench_rows if row.get("version")]
    lines += ["", f"Load average before: {meta['load_before']}; after: {meta['load_after']}.", ""] + notes
    return "\n".join(lines) + "\n"


def svg(rows: List[Dict[str, Any]]) -> str:
    measured = [row for row in rows if "rate" in row]
    width, left, bar_height, gap, top = 980, 430, 18, 6, 40
    height = top + max(1, len(measured)) * (bar_height + gap) + 30
    largest = max([row["rate"] for row in measured] or [1])
    scale = (width - left - 140) / largest
    dali = find(rows, "dali")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">'
             'Images per second: random-resized-crop 224 + flip + normalise, float32 CHW, batch 128, 2 workers</text>']
    for index, row in enumerate(measured):
        y = top + index * (bar_height + gap)
        length = max(1.0, row["rate"] * scale)
        colour = {"datagen": "#4e9a06", "context": "#888a85"}.get(row["group"], "#3465a4")
        parts.append(f'<text x="{left - 8}" y="{y + bar_height - 5}" text-anchor="end">{html.escape(row["tool"])}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{bar_height}" fill="{colour}"/>')
        versus = f" ({row['rate'] / dali['rate']:.2f}× DALI)" if dali else ""
        parts.append(f'<text x="{left + length + 6:.1f}" y="{y + bar_height - 5}">{row["rate"]:,.0f}{versus}</text>')
    parts.append(f'<text x="{left}" y="{height - 8}" fill="#555">green: datagen caches (the pipeline in the engine); grey: datagen without the transform (context); blue: loaders reading the JPEG files</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="datagen's image caches against CPU image loaders (issue 19).")
    parser.add_argument("images", help="the image folder (DIR/<class>/<file>), e.g. from tools/bench/make_image_set.py")
    parser.add_argument("--datagen", default="datagen", help="the datagen command (a release build)")
    parser.add_argument("--work", default="/tmp/imgbench-work", help="where the caches go")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--images-512", type=int, default=0, help="images in the pixels@512 cache (0: all)")
    parser.add_argument("--rows", default="pixels256,pixels256-raw,pixels512,jpeg512,engine,pillow,pillow-simd,tfdata,"
                                          "dali,ffcv")
    parser.add_argument("--pillow-simd", default="", help="a pip --target folder holding pillow-simd")
    parser.add_argument("--pillow-simd-reason", default="", help="why Pillow-SIMD is missing (for the table)")
    parser.add_argument("--datagen-python", default="", help="PYTHONPATH for the engine-backend row (else the installed datagen)")
    parser.add_argument("--ffcv-path", default="", help="PYTHONPATH for the FFCV row (pip --target folders)")
    parser.add_argument("--ffcv-reason", default="", help="why FFCV is missing (for the table)")
    parser.add_argument("--keep-caches", action="store_true")
    parser.add_argument("--json", help="write every row here")
    parser.add_argument("--markdown", help="write the tables here")
    parser.add_argument("--svg", help="write the chart here")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        try:
            report = CHILDREN[args.child](args)
        except Exception as error:  # reported as the row's status, not a crash of the whole run
            report = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(report), flush=True)
        return 0

    meta = {"load_before": " ".join(open("/proc/loadavg").read().split()[:3]),
            "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    bench = Bench(args)
    bench.run()
    meta["load_after"] = " ".join(open("/proc/loadavg").read().split()[:3])
    text = markdown(bench.rows, args, meta)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(f"Run {meta['started']}\n\n" + text + "\nCommands:\n\n```sh\n"
                                       + "\n".join(bench.commands) + "\n```\n")
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "rows": bench.rows, "commands": bench.commands,
                                               "goals": goals(bench.rows, args.workers)}, indent=1))
    if args.svg:
        Path(args.svg).write_text(svg(bench.rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Writes Tests/Golden/: the golden caches (built by the `datagen` CLI from sources written here),
their corrupt variants, golden.json (digests, checkpoints, expected errors) and orders.json (epoch
order vectors). Run through tools/golden/regenerate, which finds the CLI and checks the result with
both test suites. Every value is cross-checked between the Swift CLI and the Python reader before
anything is written: a disagreement stops the script.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "Tests" / "Golden"
sys.path.insert(0, str(REPO / "python" / "src"))

import numpy as np  # noqa: E402

import datagen  # noqa: E402
from datagen._order import BatchPlan, EpochOrder, Shard, epoch_permutation  # noqa: E402

CLI = os.environ["DATAGEN_CLI"]

#: Every record file gets this modification time (seconds since 1970) before a build: the cache
#: keeps each source's size and time, so a rebuild is byte-identical only with the same times.
SOURCE_MTIME = 1_767_225_600  # 2026-01-01T00:00:00Z


# -- sources --------------------------------------------------------------------------------------

def _text_record(i):
    values = [[(i * 7 + r * 5 + c * 3) % 23 - 5 for c in range(4)] for r in range(3)]
    return "\n".join(" ".join(f"{v / 4:g}" for v in row) for row in values) + "\n"


def _raw_record(i):
    return bytes((i * 31 + k * 7) % 256 for k in range(300))


def _utf8_record(i):
    text = "grüße " * (i % 3) + f"record {i}"
    return text * 40 if i % 5 == 4 else text  # every fifth row ≥ 256 bytes: a unit of its own


def _npy_record(i):
    array = (np.arange(6, dtype=np.int16).reshape(2, 3) * (i - 5)).astype("<i2")
    buffer = tempfile.SpooledTemporaryFile()
    np.save(buffer, array, allow_pickle=False)
    buffer.seek(0)
    return buffer.read()


ANIMALS = ["cat", "dog", "emu"]

#: name → (records, suffix, record body, target value, build options). The command is
#: `datagen cache build {dir}/inventory.csv -o {output} --id-suffix SUFFIX --quiet OPTIONS`.
CACHES = {
    "text-label-lz4": (24, ".txt", _text_record, lambda i: ANIMALS[(i * 5) % 3], ["--codec", "lz4"]),
    "raw-onehot-none": (10, ".dat", _raw_record, lambda i: ["b", "a"][i % 2],
                        ["--data", "raw", "--shape", "300", "--target", "onehot", "--codec", "none"]),
    "utf8-float-lz4": (16, ".txt", _utf8_record, lambda i: f"{i / 8:g}", ["--data", "utf8", "--target", "float"]),
    "npy-int-lz4hc": (12, ".npy", _npy_record, lambda i: str(i * 3 - 10),
                      ["--data", "npy", "--target", "int", "--codec", "lz4hc"]),
    # Records 3 and 10 do not parse: left out and listed with their reasons (which name each file
    # below the data directory, so the bytes are the same in any folder).
    "text-skips-lz4": (14, ".txt", lambda i: "not a number\n" if i in (3, 10) else _text_record(i),
                       lambda i: ANIMALS[i % 3], ["--on-error", "skip"]),
}

#: The runs whose digest each cache pins: (seed, order, batch size, epochs, drop last).
DIGEST_RUNS = [(0, "full", 5, 2, False), (42, "window", 4, 1, False), (3, "none", 7, 1, True)]

#: Checkpoints: (cache, seed, order, batch size, epochs, drop last, batches consumed before saving,
#: rank, world size).
CHECKPOINTS = [("text-label-lz4", 7, "full", 5, 3, False, 7, 0, 1), ("utf8-float-lz4", 9, "window", 3, 2, True, 6, 0, 1),
               ("raw-onehot-none", 5, "full", 2, 2, False, 4, 1, 2)]


def write_sources(name, directory: Path):
    count, suffix, body, target, _ = CACHES[name]
    directory.mkdir(parents=True)
    lines = [",id,target"]
    for i in range(count):
        lines.append(f"{i},r{i:02d},{target(i)}")
        content = body(i)
        path = directory / f"r{i:02d}{suffix}"
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    (directory / "inventory.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def stamp_sources(directory: Path):
    for path in directory.iterdir():
        os.utime(path, ns=(SOURCE_MTIME * 10**9, SOURCE_MTIME * 10**9))


def build_command(name):
    _, suffix, _, _, options = CACHES[name]
    return ["cache", "build", "{dir}/inventory.csv", "-o", "{output}", "--id-suffix", suffix, "--quiet", *options]


def run_cli(*args, check=True):
    result = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True)
    if check and result.returncode != 0:
        sys.exit(f"datagen {' '.join(map(str, args))} exited {result.returncode}: {result.stderr}")
    return result


# -- corrupt variants -----------------------------------------------------------------------------

def _frame(data: bytes):
    index_offset, index_length, meta_length, meta_crc = struct.unpack_from("<QQQI", data, len(data) - 64)
    meta_start = index_offset + index_length - meta_length
    return index_offset, meta_start, json.loads(data[meta_start:meta_start + meta_length])


def _flip(data: bytes, offset: int, mask=0x5A) -> bytes:
    out = bytearray(data)
    out[offset] ^= mask
    return bytes(out)


def _with_metadata(data: bytes, edit) -> bytes:
    """The file with its metadata document edited (same length) and its CRC-32 rewritten."""
    _, meta_start, _ = _frame(data)
    document = data[meta_start:len(data) - 64]
    edited = edit(document.decode("utf-8")).encode("utf-8")
    assert len(edited) == len(document), "a metadata edit must keep the document's length"
    out = bytearray(data)
    out[meta_start:len(data) - 64] = edited
    struct.pack_into("<I", out, len(data) - 64 + 24, zlib.crc32(edited))
    return bytes(out)


def corrupt_variants(data: bytes):
    """name → (bytes, what was done). Offsets are found from the file's own tables."""
    index_offset, meta_start, meta = _frame(data)
    data_column = next(c for c in meta["columns"] if c["name"] == "data")
    units_at = index_offset + data_column["units"]["offset"]
    unit_offset, unit_length = struct.unpack_from("<QQ", data, units_at)
    # The first zero byte between two units (units are 8-aligned): only verify reads it.
    extents = sorted(struct.unpack_from("<QQ", data, index_offset + c["units"]["offset"] + 24 * u)
                     for c in meta["columns"] for u in range(c["unitCount"]))
    gap = next(offset + length for (offset, length), (following, _) in zip(extents, extents[1:])
               if offset + length < following)
    future = bytearray(data)
    struct.pack_into("<I", future, 8, 4)
    struct.pack_into("<I", future, len(data) - 64 + 28, 4)
    return {
        "unit-byte-flipped": (_flip(data, unit_offset + unit_length // 2), "a byte in unit 0 of column 'data'"),
        "units-table-byte-flipped": (_flip(data, units_at + 9), "a byte in column 'data''s units table"),
        "metadata-byte-flipped": (_flip(data, meta_start + 40), "a byte in the metadata document"),
        "metadata-edited": (_with_metadata(data, lambda text: text.replace('"recordsSkipped":0', '"recordsSkipped":1')),
                            "the metadata's recordsSkipped set to 1 (CRC-32 rewritten)"),
        "padding-byte-set": (_flip(data, gap, 0x01), "a zero byte between two units set to 1"),
        "truncated": (data[:-10], "the last 10 bytes cut off"),
        "wrong-magic": (b"X" + data[1:], "the header magic's first byte changed"),
        "future-version": (bytes(future), "format version 4 in the header and the trailer"),
    }


#: Python class → Swift CacheError case.
SWIFT_CASES = {"NotACacheError": "notACache", "TruncatedError": "truncated",
               "UnsupportedVersionError": "unsupportedVersion", "CorruptError": "corrupt",
               "ChecksumError": "checksumMismatch"}


def refusal(path: Path):
    """(stage, error) of the numpy reader on a bad file: "open", "read" (every batch of one epoch)
    or "verify"; ends the script when the file passes everything."""
    try:
        cache = datagen.open(path, backend="numpy")
    except datagen.CacheError as error:
        return "open", error
    try:
        for _ in cache.batches(batch_size=4, shuffle="none", epochs=1):
            pass
    except datagen.CacheError as error:
        return "read", error
    try:
        cache.verify()
    except datagen.CacheError as error:
        return "verify", error
    sys.exit(f"{path} passes every check")


# -- digests and checkpoints ----------------------------------------------------------------------

def bench_digest(path, seed, order, batch_size, epochs, drop_last):
    args = ["cache", "bench", path, "--batch-size", batch_size, "--epochs", epochs, "--seed", seed,
            "--shuffle", order, "--json"] + (["--drop-last"] if drop_last else [])
    return json.loads(run_cli(*args).stdout)["digest"]


def swift_state(state: dict):
    """Python's checkpoint dict as Swift's JSONEncoder writes the same IteratorState."""
    order = state["order"]
    swift_order = {order: {}} if isinstance(order, str) else order
    out = {"version": state["version"], "seed": state["seed"], "epoch": state["epoch"], "batch": state["batch"],
           "samples": state["samples"], "batchSize": state["batch_size"],
           "order": swift_order, "truncate": state["drop_last"], "rank": state["rank"],
           "worldSize": state["world_size"], "fingerprint": state["fingerprint"]}
    if state["end_epoch"] is not None:
        out["endEpoch"] = state["end_epoch"]
    return out


def checkpoint(cache_paths, name, seed, order, batch_size, epochs, drop_last, consumed, rank, world_size):
    cache = datagen.open(cache_paths[name], backend="numpy")
    run = cache.batches(batch_size=batch_size, shuffle=order, seed=seed, epochs=epochs, drop_last=drop_last,
                        rank=rank, world_size=world_size)
    for _ in range(consumed):
        next(run)
    state = run.state()
    epoch, index = run.position()
    plan = run.plan
    following = []
    for _ in range(2):
        following.append([int(r) for r in plan.rows(epoch, index)])
        index += 1
        if index == plan.batches_per_epoch:
            epoch, index = epoch + 1, 0
    return {"cache": name, "seed": seed, "order": order, "batchSize": batch_size, "epochs": epochs,
            "dropLast": drop_last, "rank": rank, "worldSize": world_size, "batchesConsumed": consumed, "python": state, "swift": swift_state(state),
            "nextRows": following}


# -- epoch orders ---------------------------------------------------------------------------------

ORDER_SEEDS = [0, 1, 42, 2**32 + 7, 2**64 - 1]
ORDER_COUNTS = [1, 2, 7, 128, 1000, 60000]
FIRST_ROWS = 16


def permutation_digest(rows: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(rows, dtype="<i8").tobytes()).hexdigest()


def order_vector(order: EpochOrder, seed, epoch, count, shard=Shard()):
    plan = BatchPlan(count, 0, order, seed, shard, False)
    rows = plan.epoch_rows(epoch)
    vector = {"order": order.name}
    if order.name == "window":
        vector.update(rowsPerBlock=order.rows_per_block, blocksPerWindow=order.blocks_per_window)
    vector.update(seed=seed, epoch=epoch, count=count)
    if shard.world_size != 1:
        vector.update(rank=shard.rank, worldSize=shard.world_size, remainder=shard.remainder)
    vector.update(rows=len(rows), first=[int(r) for r in rows[:FIRST_ROWS]], sha256=permutation_digest(rows))
    if shard.world_size == 1:  # the shard's rows and the epoch's permutation are the same thing
        assert np.array_equal(rows, epoch_permutation(order, seed, epoch, count))
    return vector


def order_vectors():
    vectors = []
    small_window = EpochOrder("window", 8, 4)
    for seed in ORDER_SEEDS:
        for count in ORDER_COUNTS:
            for order in [EpochOrder("full"), EpochOrder("window")] + ([small_window] if seed in (0, 42) else []):
                for epoch in (0, 1):
                    vectors.append(order_vector(order, seed, epoch, count))
    for count in (7, 1000):
        for order in (EpochOrder("full"), EpochOrder("window"), small_window):
            for remainder in ("drop", "pad"):
                for rank in range(3):
                    for epoch in (0, 1):
                        vectors.append(order_vector(order, 42, epoch, count, Shard(rank, 3, remainder)))
    return vectors


def write_json(path: Path, document: dict, vector_key: str):
    """JSON with one entry of ``document[vector_key]`` per line (small diffs when a value moves)."""
    head = {k: v for k, v in document.items() if k != vector_key}
    text = json.dumps(head, indent=1, ensure_ascii=False)[:-2]
    entries = ",\n".join("  " + json.dumps(v, ensure_ascii=False, separators=(",", ":")) for v in document[vector_key])
    path.write_text(f'{text},\n "{vector_key}": [\n{entries}\n ]\n}}\n', encoding="utf-8")
    json.loads(path.read_text(encoding="utf-8"))


# -- main -----------------------------------------------------------------------------------------

def main():
    scratch = Path(tempfile.mkdtemp(prefix="golden-"))
    try:
        for sub in ("sources", "caches", "corrupt"):
            shutil.rmtree(GOLDEN / sub, ignore_errors=True)
        (GOLDEN / "caches").mkdir(parents=True)
        (GOLDEN / "corrupt").mkdir()
        manifest = {
            "about": "Golden caches of the DataGenerator cache format: see docs/RELIABILITY.md (Golden files). "
                     "Written by tools/golden/regenerate; the tests only read this.",
            "sourceModificationTime": SOURCE_MTIME,
            "caches": [], "corrupt": [], "checkpoints": [],
        }
        paths = {}
        for name in CACHES:
            sources = GOLDEN / "sources" / name
            write_sources(name, sources)
            # Built in a scratch copy (as the tests rebuild), then compared with a second build
            # elsewhere: a cache must not depend on where its sources lie.
            builds = []
            for attempt in ("a", "b"):
                copy = scratch / attempt / name
                shutil.copytree(sources, copy)
                stamp_sources(copy)
                output = copy / "out.dgcache"
                run_cli(*[a.replace("{dir}", str(copy)).replace("{output}", str(output)) for a in build_command(name)])
                builds.append(output.read_bytes())
            if builds[0] != builds[1]:
                sys.exit(f"{name}: two builds of the same inputs in two folders differ")
            path = GOLDEN / "caches" / f"{name}.dgcache"
            path.write_bytes(builds[0])
            paths[name] = path
            run_cli("cache", "verify", path)
            cache = datagen.open(path, backend="numpy")
            digests = []
            for seed, order, batch_size, epochs, drop_last in DIGEST_RUNS:
                swift = bench_digest(path, seed, order, batch_size, epochs, drop_last)
                python = cache.digest(batch_size=batch_size, epochs=epochs, shuffle=order, seed=seed,
                                      drop_last=drop_last)
                if swift != python:
                    sys.exit(f"{name}: the CLI's digest {swift} differs from the numpy reader's {python}")
                digests.append({"seed": seed, "order": order, "batchSize": batch_size, "epochs": epochs,
                                "dropLast": drop_last, "sha256": swift})
            manifest["caches"].append({
                "name": name, "file": f"caches/{name}.dgcache", "sources": f"sources/{name}",
                "build": build_command(name), "bytes": len(builds[0]),
                "sha256": hashlib.sha256(builds[0]).hexdigest(), "rows": cache.rows,
                "fingerprint": cache.fingerprint, "ids": cache.ids, "classes": cache.classes,
                "columns": [{"name": c["name"], "role": c["role"], "dtype": c["dtype"], "shape": c["shape"],
                             "variableLength": c["variableLength"], "codec": c["codec"], "layout": c["layout"]}
                            for c in cache.metadata["columns"]],
                "digests": digests,
            })

        original = paths["text-label-lz4"].read_bytes()
        for variant, (data, what) in corrupt_variants(original).items():
            path = GOLDEN / "corrupt" / f"{variant}.dgcache"
            path.write_bytes(data)
            stage, error = refusal(path)
            message = str(error)
            swift = run_cli("cache", "verify", path, check=False)
            if swift.returncode != 1 or swift.stderr.strip() != f"datagen: error: {message}":
                sys.exit(f"{variant}: the CLI says {swift.stderr.strip()!r}, the numpy reader {message!r}")
            python_class = type(error).__name__
            manifest["corrupt"].append({
                "name": variant, "file": f"corrupt/{variant}.dgcache", "from": "text-label-lz4", "damage": what,
                "stage": stage, "python": python_class, "swift": SWIFT_CASES[python_class],
                "message": message.replace(str(path), "{path}"),
            })

        for spec in CHECKPOINTS:
            manifest["checkpoints"].append(checkpoint(paths, *spec))

        (GOLDEN / "golden.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        write_json(GOLDEN / "orders.json", {
            "about": "Epoch-order vectors (docs/EPOCHS.md): for each order, seed, epoch, row count and shard, "
                     "the rows the shard visits (rows), the first of them (first) and the SHA-256 of all of "
                     "them as int64 little-endian (sha256). Written by tools/golden/regenerate.",
            "vectors": order_vectors(),
        }, "vectors")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

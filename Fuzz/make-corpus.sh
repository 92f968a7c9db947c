#!/usr/bin/env bash
# Regenerates the seed corpora in Fuzz/Corpus/ (small on purpose: libFuzzer grows its own corpus
# in Fuzz/.build-fuzz/corpus/). Needs a built `datagen` and python3 with numpy.
#   Fuzz/make-corpus.sh [PATH-TO-DATAGEN]
# Every seed starts with the fuzz target's selector byte (see the targets' doc comments).
set -euo pipefail
cd "$(dirname "$0")"
datagen=${1:-$(cd .. && swift build --show-bin-path)/datagen}
work=$(mktemp -d /tmp/make-corpus-XXXXXX)
trap 'rm -rf "$work"' EXIT
reader=Corpus/FuzzCacheReader
parsers=Corpus/FuzzInventoryDecoders
rm -rf "$reader" "$parsers"
mkdir -p "$reader" "$parsers"

# Cache files: one per data format, codec and column kind, with both selector bytes
# (0: as is, 1: checksums repaired after mutation).
python3 - "$work" <<'PY'
import os, sys, numpy as np
w = sys.argv[1]
def records(name, files):
    d = os.path.join(w, name); os.makedirs(d)
    with open(os.path.join(d, "inventory.csv"), "w") as f:
        f.write("id,target\n")
        for i, (fname, content) in enumerate(files):
            f.write(f"{fname},{'ab'[i % 2]}\n")
            mode = "wb" if isinstance(content, bytes) else "w"
            with open(os.path.join(d, fname), mode) as g: g.write(content)
records("text", [(f"r{i}", f"{i} {i+1} {i*2}\n") for i in range(4)])
records("wide", [(f"r{i}", " ".join(str((i * 7 + j) % 5) for j in range(70)) + "\n") for i in range(2)])
records("utf8", [(f"r{i}", "x" * (i * 5) + "é") for i in range(5)])
records("raw", [(f"r{i}", bytes(range(i, i + 6))) for i in range(3)])
def npy(a):
    import io; b = io.BytesIO(); np.save(b, a); return b.getvalue()
records("npy", [(f"r{i}", npy(np.arange(4, dtype=np.int16).reshape(2, 2) * i)) for i in range(3)])
PY
build() { "$datagen" cache build "$work/$1/inventory.csv" -o "$work/$2.dgcache" --quiet --jobs 1 "${@:3}"; }
build text text --data text
build wide wide-lz4hc --data text --codec lz4hc
build utf8 utf8 --data utf8
build raw raw-none --data raw --codec none
build npy npy --data npy
build npy npy-none --data npy --codec none  # fixed shape, uncompressed: served from the mapping
for cache in "$work"/*.dgcache; do
  name=$(basename "$cache" .dgcache)
  { printf '\x00'; cat "$cache"; } > "$reader/$name"
  { printf '\x01'; cat "$cache"; } > "$reader/$name-repair"
done
printf '\x00' > "$reader/empty"

# Parser inputs: 0 CSV, 1 npy, 2 text, 3-6 ResourceDecoder formats.
python3 - "$parsers" <<'PY'
import io, os, sys, numpy as np
out = sys.argv[1]
def seed(name, selector, data):
    with open(os.path.join(out, name), "wb") as f: f.write(bytes([selector]) + data)
seed("csv-plain", 0, b"id,target\na,1\nb,2\n")
seed("csv-pandas", 0, b",id,target\n0,id1.txt,cat\n1,id2.txt,dog\n")
seed("csv-quoted-crlf-bom", 0, b'\xef\xbb\xbfid,label\r\n"a,b","say ""hi"""\r\n"multi\nline",x\r\n')
seed("csv-blank-lines", 0, b"id\n\na\n\nb\n")
def npy(a, version=None):
    b = io.BytesIO()
    if version: np.lib.format.write_array(b, a, version=version)
    else: np.save(b, a)
    return b.getvalue()
seed("npy-float32", 1, npy(np.arange(6, dtype=np.float32).reshape(2, 3)))
seed("npy-int64", 1, npy(np.array([1, -2, 3], dtype=np.int64)))
seed("npy-bool", 1, npy(np.array([True, False])))
seed("npy-bigendian", 1, npy(np.arange(3, dtype=">i4")))
seed("npy-fortran", 1, npy(np.asfortranarray(np.arange(6, dtype=np.uint16).reshape(2, 3))))
seed("npy-v2", 1, npy(np.arange(2, dtype=np.float64), version=(2, 0)))
seed("npy-v3", 1, npy(np.arange(2, dtype=np.float16), version=(3, 0)))
seed("npy-scalar", 1, npy(np.uint8(7)))
seed("text-grid", 2, b"1 2 3\n4 5 6\n")
seed("text-commas", 2, b"1.5e3,-2,0x10\n")
seed("text-special", 2, b"nan inf -inf\n")
seed("resource-text", 3, b"1 2\n3 4\n")
seed("resource-npy", 4, npy(np.arange(4, dtype=np.int8)))
seed("resource-raw", 5, b"\x00\x01\x02\x03")
seed("resource-utf8", 6, "héllo".encode())
PY
ls -l "$reader" "$parsers" | awk '{s += $5} END {print "corpus bytes:", s}'

# Transform specs: three bytes choosing the image (height, width, channels and seed), then the
# spec; valid pipelines of every step and argument form, and malformed ones.
transforms=Corpus/FuzzTransformSpec
rm -rf "$transforms"
mkdir -p "$transforms"
python3 - "$transforms" <<'PY'
import os, sys
specs = ["random-resized-crop(224),flip,normalize(imagenet),chw",
         "random-resized-crop(32,scale=0.35..1,ratio=3/4..4/3),flip", "resize-shorter(40),center-crop(32)",
         "center-crop(80)", "center-crop(16),random-resized-crop(8,scale=1..1,ratio=1..1)",
         "normalize(mean=0.5/0.5/0.5,std=0.25/0.25/0.25),center-crop(12),chw", "flip,center-crop(7),flip",
         "random-resized-crop( 12 , ratio=1e-1..2.5e1 )", "normalize(mean=0.5,std=2),resize-shorter(3),center-crop(5)",
         "flip,,chw", "random-resized-crop(224", "blur(3)", "center-crop(0)", "normalize(imagenet"]
headers = [bytes([40, 50, 0]), bytes([7, 63, 1]), bytes([0, 0, 2]), bytes([63, 3, 0])]
for index, spec in enumerate(specs):
    with open(os.path.join(sys.argv[1], f"seed-{index:02d}"), "wb") as f:
        f.write(headers[index % 4] + spec.encode())
PY

# Cache set manifests (.dgset): a set made by `datagen cache set create` over shards of the text
# records (one of them empty), and variants written here (unknown keys, a variable-shape column,
# many shards, a newer version, escaping paths).
manifests=Corpus/FuzzSetManifest
rm -rf "$manifests"
mkdir -p "$manifests"
for k in 0 1 2 3 4; do
  "$datagen" cache build "$work/text/inventory.csv" -o "$work/text/part-$k.dgcache" --quiet --jobs 1 --data text --shard "$k/5"
done
"$datagen" cache set create "$work/text/text.dgset" "$work/text"/part-*.dgcache --json >/dev/null
cp "$work/text/text.dgset" "$manifests/created"
python3 - "$manifests" <<'PY'
import hashlib, json, os, sys
out = sys.argv[1]
def fingerprint(shards):
    return hashlib.sha256(b"datagen-set-v1\n" + b"".join(f"{s['fingerprint']}\n".encode() for s in shards)).hexdigest()
def manifest(shards, schema=None, classes=None, **extra):
    m = {"format": "datagen-set", "version": 1, "rows": sum(s["rows"] for s in shards),
         "schema": schema or [{"name": "data", "role": "data", "encoder": "e@1", "dtype": "float32", "shape": [2, 3], "variableLength": False},
                              {"name": "target", "role": "target", "encoder": "label@1", "dtype": "int64", "shape": [], "variableLength": False}],
         "classes": classes, "shards": shards, "fingerprint": fingerprint(shards)}
    m.update(extra)
    return m
def shard(i, rows):
    return {"path": f"shards/part-{i}.dgcache", "rows": rows, "fingerprint": hashlib.sha256(str(i).encode()).hexdigest(), "bytes": 1000 + i}
def seed(name, value):
    with open(os.path.join(out, name), "w") as f: f.write(value if isinstance(value, str) else json.dumps(value, sort_keys=True))
seed("three-shards-one-empty", manifest([shard(0, 5), shard(1, 0), shard(2, 7)], classes=["a", "b"]))
seed("unknown-keys", manifest([shard(0, 1)], later={"x": [1, 2]}))
seed("variable-shape", manifest([shard(0, 2)], schema=[{"name": "image", "role": "data", "encoder": "image@1", "dtype": "uint8",
                                                        "shape": [], "variableLength": True, "rowShape": [-1, -1, 3]}]))
seed("many-shards", manifest([shard(i, i % 3) for i in range(200)], classes=[str(i) for i in range(10)]))
seed("newer-version", dict(manifest([shard(0, 1)]), version=2))
seed("escaping-path", dict(manifest([shard(0, 1)]), shards=[dict(shard(0, 1), path="../x.dgcache")]))
seed("rows-mismatch", dict(manifest([shard(0, 4)]), rows=5))
PY
ls -l "$manifests" | awk '{s += $5} END {print "set manifest corpus bytes:", s}'

"""Image transforms in the engine (`transform=`): the served crops equal Pillow's antialiased
bilinear resize of the same boxes, the digest does not depend on the workers, the numpy backend
refuses `transform=` naming the engine backend, and the transform objects spell the spec."""

from __future__ import annotations

import numpy as np
import pytest

import datagen
from datagen.transforms import CHW, CenterCrop, Compose, Flip, Normalize, RandomResizedCrop, ResizeShorter, spec_of

pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

pytestmark = pytest.mark.skipif(not datagen.engine_available(),
                                reason="the engine library was not built (no Swift toolchain at install time)")

SIZES = [(61, 80), (90, 47), (120, 133), (33, 35), (200, 151), (75, 75), (48, 250), (140, 99)]


def _image(index: int, height: int, width: int) -> np.ndarray:
    """A photo-like RGB image: gradients, a few edges and some noise."""
    rng = np.random.default_rng(index)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([(x * 255 // max(1, width - 1)), (y * 255 // max(1, height - 1)), ((x + y) * 3) % 256], axis=-1)
    base[(x // 9 + y // 7) % 3 == 0] //= 2
    noise = rng.integers(-12, 13, size=base.shape)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def images(tmp_path_factory, cli):
    """A cache of 8 PNG images of various sizes; {id: pixels}."""
    folder = tmp_path_factory.mktemp("transform-images")
    pixels = {}
    lines = ["id,target"]
    for index, (height, width) in enumerate(SIZES):
        name = f"img{index}.png"
        pixels[name] = _image(index, height, width)
        Image.fromarray(pixels[name]).save(folder / name)
        lines.append(f"{name},c{index % 2}")
    (folder / "inventory.csv").write_text("\n".join(lines) + "\n")
    path = folder / "images.dgcache"
    cli("cache", "build", folder / "inventory.csv", "--data-dir", folder, "-o", path, "--data", "image", "--quiet")
    return path, pixels


def _served(path, spec, **options):
    """{id: served row} of one epoch in stored order."""
    cache = datagen.open(path, backend="engine")
    ids = cache.ids
    out = {}
    for batch in cache.batches(batch_size=3, shuffle="none", transform=spec, **options):
        assert "data_shapes" not in batch
        for row, array in enumerate(batch["data"]):
            out[ids[len(out)]] = array.copy()
    return out


def _mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int64) - b.astype(np.int64)).mean())


def test_resize_shorter_then_center_crop_is_pillows_resize_then_crop(images):
    path, pixels = images
    served = _served(path, "resize-shorter(40),center-crop(32)")
    for name, image in pixels.items():
        h, w = image.shape[:2]
        short, long = (w, h) if w <= h else (h, w)
        new_long = int(40 * long / short)
        nw, nh = (40, new_long) if w <= h else (new_long, 40)
        resized = np.asarray(Image.fromarray(image).resize((nw, nh), Image.BILINEAR))
        top, left = int(round((nh - 32) / 2)), int(round((nw - 32) / 2))
        expected = resized[top:top + 32, left:left + 32]
        assert served[name].shape == (32, 32, 3)
        assert _mad(served[name], expected) <= 1.5, name
        assert np.abs(served[name].astype(int) - expected).max() <= 1, name


def test_a_crop_resized_to_a_square_matches_pillows_resize_of_the_same_box(images):
    """center-crop(K) then random-resized-crop(S, scale=1..1, ratio=1..1): the box is the centre
    K x K square of the stored image, resized to S x S as Pillow's resize(box=...) does."""
    path, pixels = images
    for size, crop in ((24, 30), (56, 30), (16, 33)):
        served = _served(path, f"center-crop({crop}),random-resized-crop({size},scale=1..1,ratio=1..1)")
        for name, image in pixels.items():
            h, w = image.shape[:2]
            if min(h, w) < crop:
                continue
            top, left = int(round((h - crop) / 2)), int(round((w - crop) / 2))
            expected = np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR,
                                                                box=(left, top, left + crop, top + crop)))
            assert _mad(served[name], expected) <= 1.5, (name, size, crop, _mad(served[name], expected))


def test_a_whole_image_resized_to_a_square_matches_pillow(images):
    """random-resized-crop with the image's own aspect and scale 1: the box is the whole image."""
    path, pixels = images
    for name, image in pixels.items():
        h, w = image.shape[:2]
        served = _served(path, f"random-resized-crop(28,scale=1..1,ratio={w}/{h}..{w}/{h})")
        expected = np.asarray(Image.fromarray(image).resize((28, 28), Image.BILINEAR))
        assert _mad(served[name], expected) <= 1.5, name


def test_normalize_and_chw_are_torchvisions_floats_channels_first(images):
    path, _ = images
    plain = _served(path, "center-crop(20)")
    floats = _served(path, "center-crop(20),normalize(imagenet),chw")
    mean = np.array([0.485, 0.456, 0.406], dtype=np.float32)
    std = np.array([0.229, 0.224, 0.225], dtype=np.float32)
    for name, image in plain.items():
        expected = ((image.astype(np.float32) / np.float32(255) - mean) / std).transpose(2, 0, 1)
        assert floats[name].dtype == np.float32 and floats[name].shape == (3, 20, 20)
        np.testing.assert_array_equal(floats[name], expected)


def test_the_digest_is_the_same_for_any_workers_and_epochs_differ(images):
    path, _ = images
    cache = datagen.open(path, backend="engine")
    spec = Compose(RandomResizedCrop(24), Flip(), Normalize.imagenet(), CHW())
    digests = {cache.digest(batch_size=3, epochs=2, seed=4, transform=spec)}
    for workers in (0, 1, 2):
        run = cache.batches(batch_size=3, epochs=2, seed=4, workers=workers, transform=spec)
        batches = list(run)
        assert batches[0]["data"].shape == (3, 3, 24, 24) and batches[0]["data"].dtype == np.float32
        digests.add(datagen._batches.digest_batches(batches, [("data", False), ("target", False)]))
    assert len(digests) == 1
    first, second = (np.concatenate([b["data"] for b in cache.batches(batch_size=8, shuffle="none", epoch=e,
                                                                      transform=spec)]) for e in (0, 1))
    assert not np.array_equal(first, second)


def test_a_resumed_run_serves_the_same_transformed_batches(images):
    path, _ = images
    cache = datagen.open(path, backend="engine")
    whole = [b["data"].copy() for b in cache.batches(batch_size=3, epochs=2, seed=2, transform="random-resized-crop(16),flip")]
    run = cache.batches(batch_size=3, epochs=2, seed=2, transform="random-resized-crop(16),flip")
    seen = [next(run)["data"].copy() for _ in range(4)]
    state = run.state()
    resumed = cache.batches(batch_size=3, epochs=2, seed=2, transform="random-resized-crop(16),flip").restore(state)
    rest = [b["data"].copy() for b in resumed]
    assert all(np.array_equal(a, b) for a, b in zip(seen + rest, whole)) and len(seen + rest) == len(whole)


def test_bad_specs_and_the_numpy_backend_raise_option_errors(images):
    path, _ = images
    engine = datagen.open(path, backend="engine")
    with pytest.raises(datagen.OptionError, match="character 6"):
        engine.batches(transform="flip,,chw")
    with pytest.raises(datagen.OptionError, match="no column"):
        engine.batches(transform="center-crop(8)", transform_column="nope")
    assert engine.roles["target"] == "target"
    with pytest.raises(datagen.OptionError, match="transform_column 'target' is not an image column: it holds the targets"):
        engine.batches(transform="center-crop(8)", transform_column="target")
    numpy_cache = datagen.open(path, backend="numpy")
    with pytest.raises(datagen.OptionError, match="engine backend"):
        numpy_cache.batches(transform="center-crop(8)")
    with pytest.raises(datagen.OptionError, match="engine backend"):
        numpy_cache.digest(transform="center-crop(8)")


def test_transform_objects_spell_the_spec():
    assert spec_of([RandomResizedCrop(224), Flip(), Normalize.imagenet(), CHW()]) == \
        "random-resized-crop(224),flip,normalize(imagenet),chw"
    assert str(RandomResizedCrop(96, scale=(0.35, 1))) == "random-resized-crop(96,scale=0.35..1)"
    assert str(Compose(ResizeShorter(256), CenterCrop(224))) == "resize-shorter(256),center-crop(224)"
    assert str(Normalize(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))) == "normalize(mean=0.5/0.5/0.5,std=0.25/0.25/0.25)"
    assert spec_of(None) is None


def test_transform_objects_refuse_bad_arguments_naming_them():
    for bad in (lambda: CenterCrop(0), lambda: ResizeShorter(-3), lambda: RandomResizedCrop(2.5)):
        with pytest.raises(ValueError, match="size must be a positive whole number"):
            bad()
    assert CenterCrop(np.int64(8)).size == 8
    with pytest.raises(ValueError, match="scale must have 0 < low ≤ high"):
        RandomResizedCrop(8, scale=(1, 0.5))
    with pytest.raises(ValueError, match="mean has 2 values and std 3"):
        Normalize([.5, .5], [0, 1, 1])
    with pytest.raises(ValueError, match="every std must be > 0"):
        Normalize([.5, .5, .5], [0, 1, 1])
    with pytest.raises(TypeError, match="Compose takes datagen.transforms steps"):
        Compose("flip")


def test_a_transform_that_is_not_a_spec_says_what_transform_accepts(images):
    path, _ = images
    engine = datagen.open(path, backend="engine")
    for bad in (42, engine.ids.__len__, [Flip(), "chw"]):
        with pytest.raises(TypeError, match="transform= takes a spec string") as refused:
            engine.batches(transform=bad)
        assert "argument after" not in str(refused.value)
    with pytest.raises(TypeError, match="Python callables cannot run"):
        spec_of(engine.digest)


def test_the_transforms_module_exports_only_its_steps():
    import datagen.transforms as module
    assert set(module.__all__) == {"Transform", "RandomResizedCrop", "ResizeShorter", "CenterCrop", "Flip", "Normalize",
                                   "CHW", "Compose", "TransformSpec", "spec_of"}
    public = {name for name in vars(module) if not name.startswith("_")}
    assert public == set(module.__all__)


def test_the_torch_adapter_passes_the_transform_on(images):
    torch = pytest.importorskip("torch")
    from datagen.torch import CacheIterable
    path, _ = images
    dataset = CacheIterable(path, batch_size=4, transform="random-resized-crop(16),normalize(imagenet),chw",
                            backend="engine")
    x, y = next(iter(torch.utils.data.DataLoader(dataset, batch_size=None)))
    assert tuple(x.shape) == (4, 3, 16, 16) and x.dtype == torch.float32


def test_the_keras_adapter_passes_the_transform_on(images):
    pytest.importorskip("keras")
    from datagen.keras import CacheDataset
    path, _ = images
    dataset = CacheDataset(path, batch_size=4, transform=[CenterCrop(12), CHW()], backend="engine")
    x, _ = dataset[0]
    assert x.shape == (4, 3, 12, 12) and x.dtype == np.uint8

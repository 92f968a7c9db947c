"""Image transforms run by the engine's workers every epoch (docs/EPOCHS.md, "Image transforms").

Each object stands for one step of the spec syntax the CLI (``--transform``) and the C API take;
``Compose`` (or a list) joins them::

    >>> from datagen.transforms import CHW, Compose, Flip, Normalize, RandomResizedCrop
    >>> str(Compose(RandomResizedCrop(224), Flip(), Normalize.imagenet(), CHW()))
    'random-resized-crop(224),flip,normalize(imagenet),chw'

``Cache.batches(..., transform=...)`` takes a spec string, one of these objects or a list of them.
The engine parses and checks the spec (a bad one raises :class:`datagen.OptionError` naming the
character position); these classes only spell it.
"""

from __future__ import annotations

from typing import Sequence, Tuple, Union

__all__ = ["Transform", "RandomResizedCrop", "ResizeShorter", "CenterCrop", "Flip", "Normalize", "CHW", "Compose",
           "TransformSpec", "spec_of"]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class Transform:
    """One step; ``str(step)`` is its spec."""

    def spec(self) -> str:
        """The step in the spec syntax."""
        raise NotImplementedError

    def __str__(self) -> str:
        return self.spec()

    def __repr__(self) -> str:
        return f"<datagen.transforms {self.spec()}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Transform) and other.spec() == self.spec()

    def __hash__(self) -> int:
        return hash(self.spec())


class RandomResizedCrop(Transform):
    """torchvision's ``RandomResizedCrop(size, scale, ratio)`` with Pillow's antialiased bilinear resize."""

    def __init__(self, size: int, scale: Tuple[float, float] = (0.08, 1.0),
                 ratio: Tuple[float, float] = (3 / 4, 4 / 3)):
        self.size, self.scale, self.ratio = int(size), (float(scale[0]), float(scale[1])), \
            (float(ratio[0]), float(ratio[1]))

    def spec(self) -> str:
        parts = [str(self.size)]
        if self.scale != (0.08, 1.0):
            parts.append(f"scale={_number(self.scale[0])}..{_number(self.scale[1])}")
        if self.ratio != (3 / 4, 4 / 3):
            parts.append(f"ratio={_number(self.ratio[0])}..{_number(self.ratio[1])}")
        return f"random-resized-crop({','.join(parts)})"


class ResizeShorter(Transform):
    """torchvision's ``Resize(size)``: the shorter side becomes ``size``."""

    def __init__(self, size: int):
        self.size = int(size)

    def spec(self) -> str:
        return f"resize-shorter({self.size})"


class CenterCrop(Transform):
    """torchvision's ``CenterCrop(size)``."""

    def __init__(self, size: int):
        self.size = int(size)

    def spec(self) -> str:
        return f"center-crop({self.size})"


class Flip(Transform):
    """A horizontal flip with probability 0.5."""

    def spec(self) -> str:
        return "flip"


class CHW(Transform):
    """Channels first."""

    def spec(self) -> str:
        return "chw"


class Normalize(Transform):
    """``(pixel / 255 - mean) / std`` per channel, as float32."""

    IMAGENET_MEAN = (0.485, 0.456, 0.406)
    IMAGENET_STD = (0.229, 0.224, 0.225)

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        self.mean, self.std = tuple(float(m) for m in mean), tuple(float(s) for s in std)

    @classmethod
    def imagenet(cls) -> Normalize:
        """ImageNet's means and standard deviations."""
        return cls(cls.IMAGENET_MEAN, cls.IMAGENET_STD)

    def spec(self) -> str:
        if self.mean == self.IMAGENET_MEAN and self.std == self.IMAGENET_STD:
            return "normalize(imagenet)"
        return (f"normalize(mean={'/'.join(_number(m) for m in self.mean)},"
                f"std={'/'.join(_number(s) for s in self.std)})")


class Compose(Transform):
    """Steps applied in order."""

    def __init__(self, *steps: Transform):
        self.steps = tuple(steps)

    def spec(self) -> str:
        return ",".join(step.spec() for step in self.steps)


#: What ``transform=`` takes: a spec string, a step, a list of steps, or ``None`` (no transform).
TransformSpec = Union[str, Transform, Sequence[Transform], None]


def spec_of(transform: TransformSpec) -> str | None:
    """The spec string of ``transform`` (``None`` for no transform)."""
    if transform is None:
        return None
    if isinstance(transform, str):
        return transform
    if isinstance(transform, Transform):
        return transform.spec()
    return Compose(*transform).spec()

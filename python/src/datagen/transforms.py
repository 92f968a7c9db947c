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

import numbers as _numbers
from typing import Optional as _Optional, Sequence as _Sequence, Tuple as _Tuple, Union as _Union

__all__ = ["Transform", "RandomResizedCrop", "ResizeShorter", "CenterCrop", "Flip", "Normalize", "CHW", "Compose",
           "TransformSpec", "spec_of"]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _size(step: str, value: object, name: str = "size") -> int:
    """``value`` as a positive whole number of pixels; ``ValueError`` naming ``step``'s argument."""
    if isinstance(value, bool) or not isinstance(value, _numbers.Real) or not float(value).is_integer() \
            or float(value) <= 0:
        raise ValueError(f"{step}: {name} must be a positive whole number of pixels, got {value!r}")
    return int(float(value))


def _range(step: str, name: str, value: object) -> "_Tuple[float, float]":
    """``value`` as a (low, high) pair of positive numbers with low ≤ high; ``ValueError`` naming it."""
    try:
        low, high = (float(v) for v in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise ValueError(f"{step}: {name} must be a (low, high) pair of numbers, got {value!r}") from None
    if not 0 < low <= high:
        raise ValueError(f"{step}: {name} must have 0 < low ≤ high, got {value!r}")
    return low, high


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

    def __init__(self, size: int, scale: "_Tuple[float, float]" = (0.08, 1.0),
                 ratio: "_Tuple[float, float]" = (3 / 4, 4 / 3)):
        self.size = _size("RandomResizedCrop", size)
        self.scale, self.ratio = _range("RandomResizedCrop", "scale", scale), _range("RandomResizedCrop", "ratio", ratio)

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
        self.size = _size("ResizeShorter", size)

    def spec(self) -> str:
        return f"resize-shorter({self.size})"


class CenterCrop(Transform):
    """torchvision's ``CenterCrop(size)``."""

    def __init__(self, size: int):
        self.size = _size("CenterCrop", size)

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

    def __init__(self, mean: "_Sequence[float]", std: "_Sequence[float]"):
        try:
            self.mean, self.std = tuple(float(m) for m in mean), tuple(float(s) for s in std)
        except (TypeError, ValueError):
            raise ValueError(f"Normalize: mean and std must be sequences of numbers (one per channel), "
                             f"got mean={mean!r}, std={std!r}") from None
        if not self.mean or len(self.mean) != len(self.std):
            raise ValueError(f"Normalize: mean has {len(self.mean)} values and std {len(self.std)}: "
                             f"give one of each per channel")
        if any(not s > 0 for s in self.std):
            raise ValueError(f"Normalize: every std must be > 0, got std={std!r}")

    @classmethod
    def imagenet(cls) -> "Normalize":
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
        for step in steps:
            if not isinstance(step, Transform):
                raise TypeError(f"Compose takes datagen.transforms steps, got {step!r}")
        self.steps = tuple(steps)

    def spec(self) -> str:
        return ",".join(step.spec() for step in self.steps)


#: What ``transform=`` takes: a spec string, a step, a list of steps, or ``None`` (no transform).
TransformSpec = _Union[str, Transform, _Sequence[Transform], None]


def spec_of(transform: TransformSpec) -> _Optional[str]:
    """The spec string of ``transform`` (``None`` for no transform).

    Raises ``TypeError`` saying what ``transform=`` accepts for anything else (a number, a Python
    function or method: the engine's workers run only the spec's steps)."""
    if transform is None:
        return None
    if isinstance(transform, str):
        return transform
    if isinstance(transform, Transform):
        return transform.spec()
    if isinstance(transform, (list, tuple)) and all(isinstance(step, Transform) for step in transform):
        return Compose(*transform).spec()
    raise TypeError("transform= takes a spec string such as 'center-crop(224),chw', a datagen.transforms step, "
                    f"a list of steps or None, not {transform!r}"
                    + (" (Python callables cannot run in the engine's workers)" if callable(transform) else ""))

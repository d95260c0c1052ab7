"""Argument errors a person can act on, in the project's format:
``Expected <expectation> for <argument> but received <what came>``. ``TypeError`` for a wrong kind,
``ValueError`` for a bad value or shape (the TypeScript package's ``RangeError``), always naming the
Python argument (``group_size``, ``min_weight``)."""

from __future__ import annotations

import math
from typing import Any, Sequence


def describe(value: Any) -> str:
    """A short, readable rendering of what a caller passed, for error messages."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "...")
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of length {len(value)}"
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    kind = type(value)
    name = f"{kind.__module__}.{kind.__qualname__}" if kind.__module__ not in ("builtins",) else kind.__qualname__
    if name == "torch.Tensor" or name.startswith("torch.nn.parameter"):
        return f"torch.Tensor({str(dtype).replace('torch.', '')}, {format_shape(tuple(shape or ()))}, {value.device})"
    if shape is not None and dtype is not None:
        try:
            return f"{name}({dtype}, {format_shape(tuple(shape))})"
        except TypeError:
            pass
    return name


def format_shape(shape: Sequence[int]) -> str:
    """``[2, 3, 4]``."""
    return "[" + ", ".join(str(int(d)) for d in shape) + "]"


def message(expectation: str, argument: str, received: str) -> str:
    return f"Expected {expectation} for {argument} but received {received}"


def type_error(expectation: str, argument: str, received: Any, describe_it: bool = True) -> TypeError:
    """A ``TypeError`` (wrong kind); ``received`` is a value to describe, or a description."""
    return TypeError(message(expectation, argument, describe(received) if describe_it else str(received)))


def value_error(expectation: str, argument: str, received: Any, describe_it: bool = True) -> ValueError:
    """A ``ValueError`` (bad value or shape); ``received`` is a value to describe, or a description."""
    return ValueError(message(expectation, argument, describe(received) if describe_it else str(received)))


class DeviceUnavailableError(RuntimeError):
    """A call asked for a CUDA device that this build or machine cannot use; the message says why."""

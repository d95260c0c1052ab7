"""Validation of options, from the generated schema (``_schema.py``): generic code over each option's
kind, no per-option copy. Messages name the Python option (``min_weight``), ``TypeError`` for kinds,
``ValueError`` for values; everything is checked when a step is made, before any work."""

from __future__ import annotations

import math
import numbers
import os
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ._errors import type_error, value_error
from ._schema import MAX_OBJECTIVE_FACTOR, OPTIONS, PRESETS, PRESETS_SINGLE_OBJECTIVE

#: Every option name, in the schema's order.
OPTION_NAMES: Tuple[str, ...] = tuple(OPTIONS)

_DEVICE_TEXT = "one of 'auto', 'cpu', 'cuda', 'cuda:N'"
_DEVICE_RE = re.compile(r"^(auto|cpu|cuda)(?::(0|[1-9][0-9]{0,8}))?$")


def _number_text(x: float) -> str:
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return str(x)


def _one_of(values: Tuple[Any, ...]) -> str:
    return "one of " + ", ".join(repr(v) if isinstance(v, str) else str(v) for v in values)


def _range_text(spec: Mapping[str, Any]) -> str:
    kind = "integer" if spec["integer"] else "number"
    lo = "(" if spec["min_exclusive"] else "["
    return f"{kind} in {lo}{_number_text(spec['min'])}, {_number_text(spec['max'])}]"


_FACTOR_TEXT = f"finite number in [-{MAX_OBJECTIVE_FACTOR}, {MAX_OBJECTIVE_FACTOR}]"


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def parse_device(value: str) -> Optional[Tuple[str, int]]:
    """``'auto'`` -> ('auto', -1), ``'cpu'`` -> ('cpu', -1), ``'cuda'`` -> ('cuda', 0), ``'cuda:3'`` -> ('cuda', 3)."""
    m = _DEVICE_RE.match(value)
    if m is None:
        return None
    kind, index = m.group(1), m.group(2)
    if index is not None and kind != "cuda":
        return None
    return (kind, int(index) if index is not None else (0 if kind == "cuda" else -1))


def _factors(value: Any, name: str) -> Tuple[float, ...]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or not hasattr(value, "__getitem__"):
        raise type_error("a sequence of K numbers", name, value)
    if hasattr(value, "tolist"):  # numpy arrays and torch tensors
        if getattr(value, "ndim", 1) != 1:
            raise value_error("a sequence of K numbers (rank 1)", name, value)
        value = value.tolist()
    items = list(value)
    if len(items) == 0:
        raise value_error("length K >= 1", name, "length 0", False)
    out: List[float] = []
    for k, x in enumerate(items):
        if not _is_number(x):
            raise type_error(_FACTOR_TEXT, f"{name}[{k}]", x)
        x = float(x)
        if not abs(x) <= MAX_OBJECTIVE_FACTOR:
            raise value_error(_FACTOR_TEXT, f"{name}[{k}]", x)
        out.append(x)
    return tuple(out)


def option_value(name: str, value: Any) -> Any:
    """One option's value checked against its schema entry (None: the default)."""
    spec = OPTIONS[name]
    if value is None:
        value = spec["default"]
        if value is None:
            return None
    kind = spec["kind"]
    if kind == "enum":
        if not isinstance(value, str):
            raise type_error(_one_of(spec["values"]), name, value)
        if value not in spec["values"]:
            raise value_error(_one_of(spec["values"]), name, value)
        return value
    if kind == "choice":
        if not _is_number(value):
            raise type_error(_one_of(spec["values"]), name, value)
        if value not in spec["values"]:
            raise value_error(_one_of(spec["values"]), name, value)
        return int(value)
    if kind == "number":
        if not _is_number(value):
            raise type_error(_range_text(spec), name, value)
        x = float(value)
        ok = (x > spec["min"] if spec["min_exclusive"] else x >= spec["min"]) and x <= spec["max"]
        if ok and spec["integer"]:
            ok = x == math.floor(x)
        if not ok:
            raise value_error(_range_text(spec), name, value)
        return int(x) if spec["integer"] else x
    if kind == "factors":
        return _factors(value, name)
    if kind == "device":
        if not isinstance(value, str):
            raise type_error(_DEVICE_TEXT, name, value)
        if parse_device(value) is None:
            raise value_error(_DEVICE_TEXT, name, value)
        return value
    raise AssertionError(f"option kind {kind!r} of {name} has no Python check")  # a schema the generator wrote wrongly


def _default_device() -> str:
    env = os.environ.get("OTCA_DEVICE", "")
    if env == "":
        return "auto"
    if parse_device(env) is None:
        raise value_error(_DEVICE_TEXT, "the environment variable OTCA_DEVICE", env)
    return env


class ResolvedOptions:
    """A step's options after validation: every value, the device, what the native plan parses."""

    __slots__ = ("values", "device", "native", "native_single")

    def __init__(self, values: Dict[str, Any], device: Tuple[str, int], native: List[Tuple[str, str, Any]],
                 native_single: Optional[List[Tuple[str, str, Any]]] = None):
        self.values = values
        self.device = device
        #: (kind, TypeScript name, value) of each native option that has a value
        self.native = native
        #: the same for calls with one objective (K = 1) where the preset branches on K
        #: (PRESETS_SINGLE_OBJECTIVE); None where it does not
        self.native_single = native_single


def resolve_options(options: Mapping[str, Any]) -> ResolvedOptions:
    """A preset's options first, the caller's over them, then each option's default; checks all."""
    for key in options:
        if key not in OPTIONS:
            snake = re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), str(key))
            hint = f" (the Python name of {key} is {snake})" if snake != key and snake in OPTIONS else ""
            raise TypeError(
                f"Expected an option name (one of {', '.join(OPTION_NAMES)}) for options but received {key!r}{hint}"
            )
    preset = option_value("preset", options.get("preset"))
    base: Mapping[str, Any] = PRESETS[preset] if preset is not None else {}
    values: Dict[str, Any] = {}
    for name in OPTION_NAMES:
        given = options.get(name)
        values[name] = option_value(name, given if given is not None else base.get(name))
    if options.get("device") is None:
        values["device"] = _default_device()
    weights, scale = values.get("objective_weights"), values.get("objective_scale")
    if weights is not None and scale is not None and len(weights) != len(scale):
        raise value_error(f"length {len(weights)} (as objective_weights)", "objective_scale", f"length {len(scale)}", False)
    def native_of(v: Mapping[str, Any]) -> List[Tuple[str, str, Any]]:
        return [(OPTIONS[name]["kind"], OPTIONS[name]["abi"], v[name]) for name in OPTION_NAMES
                if OPTIONS[name]["native"] and v[name] is not None]

    # a preset that branches on K: its K = 1 options, under the caller's (as lib/validate.ts)
    single = PRESETS_SINGLE_OBJECTIVE.get(preset) if preset is not None else None
    native_single = None
    if single is not None:
        v1 = dict(values)
        for name, value in single.items():
            if options.get(name) is None:
                v1[name] = option_value(name, value)
        native_single = native_of(v1)
    device = parse_device(values["device"])
    assert device is not None
    return ResolvedOptions(values, device, native_of(values), native_single)


FACTOR_OPTIONS = tuple(name for name in OPTION_NAMES if OPTIONS[name]["kind"] == "factors")


def check_options_for_k(resolved: ResolvedOptions, K: int) -> None:
    """objective_weights and objective_scale, once K is known, must have K entries."""
    for name in FACTOR_OPTIONS:
        arr = resolved.values.get(name)
        if arr is not None and len(arr) != K:
            raise value_error(f"length K ({K})", name, f"length {len(arr)}", False)

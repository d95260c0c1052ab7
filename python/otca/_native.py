"""The C ABI of libotca.so (csrc/capi/otca.h), through ctypes: loading the library, its structs and
functions, and its errors turned into Python exceptions with Python argument names.

Lookup order of the library: the environment variable ``OTCA_LIBRARY`` (a path), the copy bundled in
the package (``otca/_lib/libotca.so``, in the wheel and in ``pip install ./python``), then a checkout's
``build/Release/libotca.so`` (``npm run build``), for a package imported from the checkout itself."""

from __future__ import annotations

import ctypes
import os
import re
import threading
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from ._schema import OPTIONS, OUTPUT_ABI_NAMES

#: The OTCA_ABI_VERSION this binding was written for.
ABI_VERSION = 1

# otca_status
OK, E_TYPE, E_RANGE, E_DEVICE, E_NO_MEMORY, E_STATE, E_INTERNAL = range(7)
# otca_option_kind
OPTION_ENUM, OPTION_NUMBER, OPTION_FACTORS = range(3)
# otca_dtype
FLOAT32, FLOAT64, FLOAT16, BFLOAT16 = range(4)
# otca_kind
KIND_ADVANTAGES, KIND_TRAJECTORY, KIND_OBJECTIVE = range(3)
STATUS_BYTES = 32
OUTPUT_COUNT = 11
#: otca_output index of each output, by its Python name (otca.h's order, pinned by a test against
#: otca_output_name)
OUTPUT_INDEX: Dict[str, int] = {
    "similarity": 0,
    "delta_s": 1,
    "raw_weights": 2,
    "step_weights": 3,
    "trajectory_score": 4,
    "objective_advantages": 5,
    "exploration": 6,
    "lambda": 7,
    "coefficients": 8,
    "fused": 9,
    "advantages": 10,
}

_c = ctypes
_i32, _i64, _u32, _vp, _cp = _c.c_int32, _c.c_int64, _c.c_uint32, _c.c_void_p, _c.c_char_p


class Latents(_c.Structure):
    _fields_ = [
        ("struct_size", _u32),
        ("dtype", _i32),
        ("N", _i64),
        ("T", _i64),
        ("D", _i64),
        ("data", _vp),
        ("states", _c.POINTER(_vp)),
        ("sample_stride", _i64),
    ]


class Rewards(_c.Structure):
    _fields_ = [("struct_size", _u32), ("dtype", _i32), ("N", _i64), ("T", _i64), ("K", _i64), ("data", _vp)]


class Groups(_c.Structure):
    _fields_ = [
        ("struct_size", _u32),
        ("group_size", _i64),
        ("group_ids", _vp),
        ("index", _vp),
        ("group_count", _i64),
    ]


class Outputs(_c.Structure):
    _fields_ = [("struct_size", _u32), ("data", _vp * OUTPUT_COUNT)]


class BackendInfo(_c.Structure):
    _fields_ = [
        ("struct_size", _u32),
        ("cpu_threads", _i32),
        ("cuda_compiled", _i32),
        ("cuda_usable", _i32),
        ("cuda_device_count", _i32),
        ("cuda_driver_version", _i32),
        ("cuda_runtime_version", _i32),
        ("cuda_reason", _cp),
        ("cuda_architectures", _cp),
    ]


class DeviceInfo(_c.Structure):
    _fields_ = [
        ("struct_size", _u32),
        ("name", _c.c_char * 256),
        ("major", _i32),
        ("minor", _i32),
        ("multiprocessors", _i32),
        ("total_memory", _i64),
        ("l2_bytes", _i64),
    ]


_PKG = Path(__file__).resolve().parent
LIBRARY_NAME = "libotca.so"


def candidate_paths() -> List[Tuple[str, Path]]:
    """Where the library is looked for, in order, each with what put it there."""
    out: List[Tuple[str, Path]] = []
    env = os.environ.get("OTCA_LIBRARY")
    if env:
        out.append(("the environment variable OTCA_LIBRARY", Path(env)))
    out.append(("the copy bundled in the package", _PKG / "_lib" / LIBRARY_NAME))
    checkout = _PKG.parent.parent
    if (checkout / "CMakeLists.txt").is_file():
        out.append(("the checkout's build (npm run build)", checkout / "build" / "Release" / LIBRARY_NAME))
    return out


def _declare(lib: ctypes.CDLL) -> None:
    P = _c.POINTER
    sig = {
        "otca_abi_version": (_i32, []),
        "otca_version": (_cp, []),
        "otca_last_error": (_cp, []),
        "otca_last_error_argument": (_cp, []),
        "otca_options_create": (_i32, [P(_vp)]),
        "otca_options_destroy": (None, [_vp]),
        "otca_options_set_enum": (_i32, [_vp, _cp, _cp]),
        "otca_options_set_number": (_i32, [_vp, _cp, _c.c_double]),
        "otca_options_set_factors": (_i32, [_vp, _cp, P(_c.c_double), _i64]),
        "otca_option_info": (_i32, [_i32, P(_cp), P(_i32)]),
        "otca_plan_create": (_i32, [_vp, _i32, P(_vp)]),
        "otca_plan_destroy": (None, [_vp]),
        "otca_plan_device": (_i32, [_vp]),
        "otca_group_index": (_i32, [_vp, _i64, _vp, P(_i64)]),
        "otca_output_name": (_cp, [_i32]),
        "otca_run": (_i32, [_vp, _i32, P(Latents), P(Rewards), _vp, P(Groups), P(Outputs)]),
        "otca_workspace_size": (_i32, [_vp, _i32, _i64, _i64, _i64, _i64, _i64, P(_c.c_size_t)]),
        "otca_run_cuda": (
            _i32,
            [_vp, _i32, P(Latents), P(Rewards), _vp, P(Groups), P(Outputs), _vp, _c.c_size_t, _vp, _vp],
        ),
        "otca_check_status": (_i32, [_vp, _i32, P(Latents), P(Rewards), _vp, _vp, _vp]),
        "otca_backend_info_get": (_i32, [P(BackendInfo)]),
        "otca_device_info_get": (_i32, [_i32, P(DeviceInfo)]),
    }
    for name, (restype, argtypes) in sig.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


_lib: Optional[ctypes.CDLL] = None
_lib_path: Optional[Path] = None
_lock = threading.Lock()


def library() -> ctypes.CDLL:
    """The loaded library (loaded at the first call), or an OSError that lists where it looked."""
    global _lib, _lib_path
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is not None:
            return _lib
        tried: List[str] = []
        for origin, path in candidate_paths():
            if not path.is_file():
                tried.append(f"  {path} ({origin}): not found")
                continue
            try:
                lib = ctypes.CDLL(str(path))
                _declare(lib)
            except (OSError, AttributeError) as e:
                tried.append(f"  {path} ({origin}): {e}")
                continue
            version = lib.otca_abi_version()
            if version != ABI_VERSION:
                tried.append(f"  {path} ({origin}): ABI version {version}, this package needs {ABI_VERSION}")
                continue
            _lib, _lib_path = lib, path
            return lib
        raise OSError(
            "otca could not load its library libotca.so. Looked in:\n"
            + "\n".join(tried)
            + "\nInstall the wheel (pip install otca-*.whl, which bundles it), or in a checkout run "
            "`npm run build` (it writes build/Release/libotca.so) and then `pip install ./python`, "
            "or set OTCA_LIBRARY to the library's path."
        )


def library_path() -> Path:
    library()
    assert _lib_path is not None
    return _lib_path


# ------------------------------------------------------------------ errors

#: Every camelCase name the core's messages can use, to its Python spelling.
_PY_NAMES: Dict[str, str] = {spec["abi"]: name for name, spec in OPTIONS.items()}
_PY_NAMES.update({abi: name for name, abi in OUTPUT_ABI_NAMES.items()})
_PY_NAMES.update({"groupSize": "group_size", "groupIds": "group_ids", "trajectoryScore": "trajectory_score"})
_CAMEL_RE = re.compile(r"\b(" + "|".join(sorted((k for k in _PY_NAMES if k != _PY_NAMES[k]), key=len, reverse=True)) + r")\b")


def python_names(text: str) -> str:
    """A core message with every camelCase argument and option in its Python spelling."""
    return _CAMEL_RE.sub(lambda m: _PY_NAMES[m.group(1)], text)


def error(status: int) -> Exception:
    """The exception for a failed call's status, from this thread's last error message."""
    lib = library()
    text = python_names((lib.otca_last_error() or b"").decode("utf-8", "replace"))
    if status == E_TYPE:
        return TypeError(text)
    if status == E_RANGE:
        return ValueError(text)
    if status == E_DEVICE:  # a CUDA failure (a plan that cannot be made is DeviceUnavailableError: _step)
        return RuntimeError(text)
    if status == E_NO_MEMORY:
        return MemoryError(text)
    return RuntimeError(f"otca internal error ({status}): {text}")


def check(status: int) -> None:
    if status != OK:
        raise error(status)

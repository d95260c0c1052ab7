"""Inputs as the ABI takes them: numpy arrays, torch tensors (CPU and CUDA) and any ``__dlpack__``
object, turned into a dtype code, a shape, a device and data pointers, without a copy. Every check
that can fail runs here, before any work, with messages that name the Python argument."""

from __future__ import annotations

import ctypes
import numbers
import sys
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from . import _native as n
from ._errors import describe, format_shape, type_error, value_error

_from_buffer = ctypes.c_char.from_buffer
_addressof = ctypes.addressof

#: numpy dtypes of the latents and the rewards (ml_dtypes' bfloat16, where installed, is added by name)
NP_LATENT = {np.dtype(np.float32): n.FLOAT32, np.dtype(np.float16): n.FLOAT16}
NP_REWARD = {np.dtype(np.float32): n.FLOAT32, np.dtype(np.float64): n.FLOAT64}
try:  # bfloat16 numpy arrays come from ml_dtypes; without it there are none to accept
    import ml_dtypes as _ml_dtypes

    NP_LATENT[np.dtype(_ml_dtypes.bfloat16)] = n.BFLOAT16
except ImportError:  # pragma: no cover - ml_dtypes is optional
    pass

_TORCH_LATENT: dict = {}
_TORCH_REWARD: dict = {}
_torch: Any = None

LATENT_DTYPES = "float32, float16 or bfloat16"
REWARD_DTYPES = "float32 or float64"
CONTIGUOUS = "a contiguous array (call .contiguous(), or numpy.ascontiguousarray)"


def torch_module() -> Any:
    """torch, imported at the first torch input (otca itself never imports it)."""
    global _torch
    if _torch is None:
        import torch

        _TORCH_LATENT.update({torch.float32: n.FLOAT32, torch.float16: n.FLOAT16, torch.bfloat16: n.BFLOAT16})
        _TORCH_REWARD.update({torch.float32: n.FLOAT32, torch.float64: n.FLOAT64})
        _torch = torch
    return _torch


def is_torch(x: Any) -> bool:
    mod = sys.modules.get("torch")
    return mod is not None and isinstance(x, mod.Tensor)


def np_ptr(a: np.ndarray) -> int:
    """The address of a C-contiguous numpy array's data (the buffer protocol is the fast way; a
    read-only array, or a dtype the buffer protocol cannot describe, takes __array_interface__)."""
    try:
        return _addressof(_from_buffer(a))  # type: ignore[arg-type]  # numpy arrays export the buffer protocol
    except (TypeError, ValueError, BufferError):
        return a.__array_interface__["data"][0]


def from_dlpack(x: Any, argument: str) -> Any:
    """Any other object with __dlpack__: a torch tensor where torch is installed (CUDA memory
    needs it), else a numpy array; anything else is a TypeError."""
    if isinstance(x, np.ndarray) or is_torch(x):
        return x
    if not hasattr(x, "__dlpack__"):
        raise type_error("a numpy array, a torch tensor or an object with __dlpack__", argument, x)
    try:
        device_type = x.__dlpack_device__()[0] if hasattr(x, "__dlpack_device__") else 1
    except Exception:  # noqa: BLE001 - a producer that cannot say is read as host memory
        device_type = 1
    if device_type != 1:  # not kDLCPU: only torch can hold it
        try:
            return torch_module().from_dlpack(x)
        except ImportError:
            raise type_error("host memory (CUDA memory through __dlpack__ needs torch)", argument, x) from None
    try:
        return np.from_dlpack(x)
    except (TypeError, BufferError, RuntimeError) as e:
        raise type_error(f"an object numpy.from_dlpack accepts ({e})", argument, x) from None


class Input:
    """One array as the ABI reads it."""

    __slots__ = ("array", "torch", "device", "dtype", "shape", "ptr", "sample_stride")

    def __init__(self, array: Any, torch: bool, device: int, dtype: int, shape: Tuple[int, ...], ptr: int, sample_stride: int = 0):
        self.array = array
        self.torch = torch
        self.device = device  # -1: host; N: cuda:N
        self.dtype = dtype
        self.shape = shape
        self.ptr = ptr
        self.sample_stride = sample_stride  # elements between samples; 0: contiguous


def _sample_stride(shape: Sequence[int], strides: Sequence[int], unit: int) -> int:
    """The sample stride (in elements) of an array whose every sample is contiguous (its dims after
    the first C-contiguous), e.g. ``z[:, j]`` of a stacked [N, T+1, D] or ``z.unbind(1)``; 0 where the
    samples are not contiguous rows (then the array is refused)."""
    expected = unit
    for d, st in zip(reversed(shape[1:]), reversed(strides[1:])):
        if d != 1 and st != expected:
            return 0
        expected *= d
    first = strides[0]
    if first % unit != 0 or first < expected or first <= 0:
        return 0
    return first // unit


def device_name(device: int) -> str:
    return "cpu" if device < 0 else f"cuda:{device}"


def array_input(x: Any, argument: str, dtypes: str, np_table: dict, torch_table: dict, strided: bool = False) -> Input:
    """A numpy array or torch tensor of one of the dtypes of the tables, C-contiguous (with
    `strided`, latents: each sample contiguous, any sample stride)."""
    if type(x) is np.ndarray or isinstance(x, np.ndarray):
        code = np_table.get(x.dtype)
        if code is None:
            raise type_error(f"dtype {dtypes}", argument, str(x.dtype), False)
        stride = 0
        if not x.flags.c_contiguous:
            stride = _sample_stride(x.shape, x.strides, x.itemsize) if strided and x.ndim >= 2 else 0
            if stride == 0:
                raise value_error(CONTIGUOUS, argument, f"a non-contiguous {describe(x)}", False)
            return Input(x, False, -1, code, x.shape, x.__array_interface__["data"][0], stride)
        return Input(x, False, -1, code, x.shape, np_ptr(x) if x.size else 0)
    if not is_torch(x):
        x = from_dlpack(x, argument)
        return array_input(x, argument, dtypes, np_table, torch_table, strided)
    if not torch_table:
        torch_module()
    code = torch_table.get(x.dtype)
    if code is None:
        raise type_error(f"dtype {dtypes}", argument, str(x.dtype).replace("torch.", ""), False)
    stride = 0
    if not x.is_contiguous():
        stride = _sample_stride(x.shape, x.stride(), 1) if strided and x.dim() >= 2 else 0
        if stride == 0:
            raise value_error(CONTIGUOUS, argument, f"a non-contiguous {describe(x)}", False)
    if x.is_cuda:
        device = x.get_device()
    elif x.device.type == "cpu":
        device = -1
    else:
        raise value_error("a tensor on the CPU or a CUDA device", argument, describe(x), False)
    return Input(x, True, device, code, tuple(x.shape), x.data_ptr(), stride)


class LatentsInput:
    """The latents: one array [N, T+1, D] / [N, T+1, *dims], or a list of T+1 arrays [N, *dims]."""

    __slots__ = ("torch", "device", "dtype", "N", "T", "D", "ptr", "ptrs", "keep", "sample_stride")

    def __init__(self) -> None:
        self.torch = False
        self.device = -1  # -1: host; N: cuda:N
        self.dtype = 0
        self.N = self.T = self.D = 0
        self.ptr = 0  # the one array's data (0 for a list)
        self.ptrs: Optional[List[int]] = None  # each state's data (a list)
        self.keep: Any = None  # what the pointers point into
        self.sample_stride = 0


_LATENTS_KINDS = "an array [N, T+1, D] or [N, T+1, *dims], or a list of T+1 arrays [N, *dims]"


def latents_input(x: Any) -> LatentsInput:
    out = LatentsInput()
    if isinstance(x, (list, tuple)):
        if len(x) < 2:
            raise value_error("a list of T+1 >= 2 arrays [N, *dims] (T >= 1)", "latents", f"a list of {len(x)}", False)
        states = [array_input(s, f"latents[{j}]", LATENT_DTYPES, NP_LATENT, _TORCH_LATENT, True) for j, s in enumerate(x)]
        first = states[0]
        if len(first.shape) < 2:
            raise value_error("rank >= 2 [N, *dims]", "latents[0]", f"shape {format_shape(first.shape)}", False)
        for j, s in enumerate(states[1:], 1):
            if s.torch != first.torch or s.device != first.device:
                raise value_error(
                    f"an array of the library and device of latents[0] ({device_name(first.device)})",
                    f"latents[{j}]",
                    describe(x[j]),
                    False,
                )
            if s.dtype != first.dtype:
                raise type_error(f"the dtype of latents[0] ({first.array.dtype})", f"latents[{j}]", str(s.array.dtype), False)
            if s.shape != first.shape:
                raise value_error(
                    f"shape {format_shape(first.shape)} (as latents[0])", f"latents[{j}]", f"shape {format_shape(s.shape)}", False
                )
            if s.sample_stride != first.sample_stride:  # the ABI takes one sample stride for every state
                raise value_error(
                    f"the sample stride of latents[0] ({first.sample_stride or 'contiguous'}; call .contiguous())",
                    f"latents[{j}]", f"sample stride {s.sample_stride or 'contiguous'}", False)
        N = first.shape[0]
        D = 1
        for d in first.shape[1:]:
            D *= d
        out.torch, out.device, out.dtype = first.torch, first.device, first.dtype
        out.N, out.T, out.D = N, len(states) - 1, D
        out.ptr = 0
        out.ptrs = [s.ptr for s in states]
        out.sample_stride = first.sample_stride
        out.keep = states
        shape_text = format_shape(first.shape)
    else:
        if not (isinstance(x, np.ndarray) or is_torch(x) or hasattr(x, "__dlpack__")):
            raise type_error(_LATENTS_KINDS, "latents", x)
        a = array_input(x, "latents", LATENT_DTYPES, NP_LATENT, _TORCH_LATENT, True)
        shape = a.shape
        if len(shape) < 3:
            raise value_error(
                "rank >= 3 [N, T+1, D] or [N, T+1, *dims] (or a list of T+1 arrays [N, *dims])",
                "latents",
                f"shape {format_shape(shape)}",
                False,
            )
        D = 1
        for d in shape[2:]:
            D *= d
        out.torch, out.device, out.dtype = a.torch, a.device, a.dtype
        out.N, out.T, out.D = shape[0], shape[1] - 1, D
        out.ptr = a.ptr
        out.sample_stride = a.sample_stride
        out.keep = a
        shape_text = format_shape(shape)
    if out.N < 1:
        raise value_error("N >= 1 samples", "latents", f"shape {shape_text}", False)
    if out.T < 1:
        raise value_error("T+1 >= 2 states (T >= 1)", "latents", f"shape {shape_text}", False)
    if out.D < 1:
        raise value_error("D >= 1 latent elements", "latents", f"shape {shape_text}", False)
    return out


def rewards_input(x: Any, N: Optional[int]) -> Input:
    """Rewards [N, K] (or per-step [N, T, K]), float32 or float64."""
    if not (isinstance(x, np.ndarray) or is_torch(x) or hasattr(x, "__dlpack__")):
        raise type_error("an array [N, K] (float32 or float64)", "rewards", x)
    r = array_input(x, "rewards", REWARD_DTYPES, NP_REWARD, _TORCH_REWARD)
    shape = r.shape
    if len(shape) not in (2, 3):
        raise value_error("rank 2 [N, K] (or 3, per-step [N, T, K])", "rewards", f"shape {format_shape(shape)}", False)
    if shape[0] < 1:
        raise value_error("N >= 1 samples", "rewards", f"shape {format_shape(shape)}", False)
    if shape[-1] < 1:
        raise value_error("K >= 1 objectives", "rewards", f"shape {format_shape(shape)}", False)
    if N is not None and shape[0] != N:
        raise value_error(f"N ({N}) rows as in latents", "rewards", f"shape {format_shape(shape)}", False)
    return r


def score_input(x: Any, N: int) -> Input:
    """trajectory_score q [N] float32."""
    if not (isinstance(x, np.ndarray) or is_torch(x) or hasattr(x, "__dlpack__")):
        raise type_error("a float32 array [N]", "trajectory_score", x)
    q = array_input(x, "trajectory_score", "float32", {np.dtype(np.float32): n.FLOAT32}, _F32_TABLE())
    if q.shape != (N,):
        raise value_error(f"shape [{N}] (N as in rewards)", "trajectory_score", f"shape {format_shape(q.shape)}", False)
    return q


def _F32_TABLE() -> dict:
    return {torch_module().float32: n.FLOAT32} if "torch" in sys.modules else {}


def group_size_value(group_size: Any, N: int) -> int:
    if not isinstance(group_size, numbers.Integral) or isinstance(group_size, bool):
        raise type_error("integer >= 1", "group_size", group_size)
    g = int(group_size)
    if g < 1:
        raise value_error("integer >= 1", "group_size", group_size)
    if N % g != 0:
        raise value_error(f"N ({N}) divisible by group_size ({g})", "group_size", group_size)
    return g


_INT32_MAX = 0x7FFFFFFF


def group_ids_host(group_ids: Any, N: int) -> np.ndarray:
    """group_ids as a C-contiguous int32 numpy array of N ids in [0, 2^31 - 1]: from a list, any
    integer numpy array, or an integer torch tensor (a CUDA one is read with one synchronising
    copy to the host)."""
    if is_torch(group_ids):
        t = group_ids
        if t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch_module().bool:
            raise type_error("an integer array of N ids", "group_ids", str(t.dtype).replace("torch.", ""), False)
        ids = t.detach().cpu().numpy()
    elif isinstance(group_ids, np.ndarray):
        ids = group_ids
    elif isinstance(group_ids, (list, tuple)):
        for i, v in enumerate(group_ids):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
                raise type_error("integers", "group_ids", f"{describe(v)} at sample {i}", False)
        ids = np.asarray(group_ids, dtype=np.int64) if len(group_ids) else np.zeros(0, np.int64)
    elif hasattr(group_ids, "__dlpack__"):
        return group_ids_host(from_dlpack(group_ids, "group_ids"), N)
    else:
        raise type_error("a list, numpy array or torch tensor of N integer ids", "group_ids", group_ids)
    if ids.dtype.kind not in "iu":
        raise type_error("an integer array of N ids", "group_ids", str(ids.dtype), False)
    if ids.ndim != 1 or ids.shape[0] != N:
        raise value_error(f"shape [{N}] (length N)", "group_ids", f"shape {format_shape(ids.shape)}", False)
    if N > 0:
        lo, hi = int(ids.min()), int(ids.max())
        if lo < 0 or hi > _INT32_MAX:
            bad = int(np.argmax((ids < 0) | (ids > _INT32_MAX)))
            raise value_error("integers in [0, 2^31 - 1]", "group_ids", f"{int(ids[bad])} at sample {bad}", False)
    return np.ascontiguousarray(ids, dtype=np.int32)


def same_device(inp: Input, device: int, argument: str, as_what: str) -> None:
    """A second input must live on the device of the first (numpy arrays and CPU tensors mix)."""
    if inp.device != device:
        raise value_error(f"an array on {device_name(device)} (as {as_what})", argument, describe(inp.array), False)

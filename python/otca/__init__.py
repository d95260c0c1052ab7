"""otca: per-step OTCA advantages for GRPO post-training of flow-matching generators, from Python.

The same C++/CUDA core as the Node package (through its C ABI, libotca.so), over numpy arrays and
torch tensors (CPU and CUDA) and any ``__dlpack__`` object::

    import otca
    adv = otca.advantages(rewards, latents, group_size=12)   # [N, T] float32, like rewards' library

``otca.AdvantageStep(**options)`` parses the options once for a trainer's loop; ``trajectory_credit``
and ``objective_credit`` are the two phases, ``combine_credit`` joins them; ``otca.torch`` registers
the step as a torch custom op (for ``torch.compile``), ``otca.distributed`` runs it across the ranks
of a ``torch.distributed`` process group. Options, devices and errors: ``docs/python.md``.
"""

from __future__ import annotations

from typing import Any, Dict

from ._errors import DeviceUnavailableError
from ._schema import OBJECTIVE_OUTPUTS, OUTPUT_NAMES, PRESETS, PRESETS_SINGLE_OBJECTIVE, TRAJECTORY_OUTPUTS
from ._options import OPTION_NAMES
from ._step import AdvantageStep, advantages, combine_credit, objective_credit, trajectory_credit

__all__ = [
    "AdvantageStep",
    "DeviceUnavailableError",
    "OBJECTIVE_OUTPUTS",
    "OPTION_NAMES",
    "OUTPUT_NAMES",
    "PRESETS",
    "PRESETS_SINGLE_OBJECTIVE",
    "TRAJECTORY_OUTPUTS",
    "advantages",
    "backend_info",
    "combine_credit",
    "objective_credit",
    "trajectory_credit",
]

__version__ = "0.1.0"


def backend_info() -> Dict[str, Any]:
    """What the loaded library can run on: ``library`` (the file loaded), ``version``,
    ``cpu_threads``, ``cuda_compiled``, ``cuda_usable``, ``cuda_device_count``,
    ``cuda_driver_version``, ``cuda_runtime_version``, ``cuda_reason`` (why CUDA is not usable, ""
    when it is), ``cuda_architectures`` (the compiled GPU targets) and ``devices`` (name and compute
    capability of each usable CUDA device)."""
    import ctypes

    from . import _native as n

    lib = n.library()
    info = n.BackendInfo(struct_size=ctypes.sizeof(n.BackendInfo))
    n.check(lib.otca_backend_info_get(ctypes.byref(info)))
    devices = []
    for d in range(info.cuda_device_count if info.cuda_usable else 0):
        dev = n.DeviceInfo(struct_size=ctypes.sizeof(n.DeviceInfo))
        if lib.otca_device_info_get(d, ctypes.byref(dev)) == n.OK:
            devices.append({"name": dev.name.decode(), "capability": (dev.major, dev.minor), "total_memory": dev.total_memory})
    return {
        "library": str(n.library_path()),
        "version": lib.otca_version().decode(),
        "cpu_threads": info.cpu_threads,
        "cuda_compiled": bool(info.cuda_compiled),
        "cuda_usable": bool(info.cuda_usable),
        "cuda_device_count": info.cuda_device_count,
        "cuda_driver_version": info.cuda_driver_version,
        "cuda_runtime_version": info.cuda_runtime_version,
        "cuda_reason": (info.cuda_reason or b"").decode(),
        "cuda_architectures": (info.cuda_architectures or b"").decode(),
        "devices": devices,
    }

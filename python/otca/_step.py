"""AdvantageStep: the options checked once into plans (one per device, made at first use), then
runs that only turn arrays into pointers and call the core. The one-shot functions are thin
wrappers over a cached step."""

from __future__ import annotations

import ctypes
import threading
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _arrays as a
from . import _native as n
from ._errors import DeviceUnavailableError, describe, format_shape, type_error, value_error
from ._options import FACTOR_OPTIONS, ResolvedOptions, check_options_for_k, resolve_options
from ._schema import OBJECTIVE_OUTPUTS, OUTPUT_NAMES, TRAJECTORY_OUTPUTS

ArrayLike = Any  # numpy.ndarray, torch.Tensor, or any object with __dlpack__
OutputsRequest = Union[str, Sequence[str]]

_ALL = frozenset(OUTPUT_NAMES)
_ONLY_ADVANTAGES = ("advantages",)
_ADVANTAGES_SLOT = [n.OUTPUT_INDEX["advantages"]]
_OUTPUTS_TEXT = "'advantages', 'all' or a list of output names (" + ", ".join(OUTPUT_NAMES) + ")"


def outputs_request(outputs: Any) -> Tuple[str, ...]:
    """'advantages', 'all', or a list of names (advantages always among them), in the docs' order."""
    if outputs == "advantages":
        return _ONLY_ADVANTAGES
    if outputs == "all":
        return OUTPUT_NAMES
    if isinstance(outputs, str):
        raise value_error(_OUTPUTS_TEXT, "outputs", outputs)
    if not isinstance(outputs, (list, tuple)):
        raise type_error(_OUTPUTS_TEXT, "outputs", outputs)
    for i, name in enumerate(outputs):
        if not isinstance(name, str):
            raise type_error("an output name", f"outputs[{i}]", name)
        if name not in _ALL:
            raise value_error("one of " + ", ".join(OUTPUT_NAMES), f"outputs[{i}]", name)
    wanted = set(outputs) | {"advantages"}
    return tuple(name for name in OUTPUT_NAMES if name in wanted)


def output_shapes(N: int, T: int, K: int, per_step: bool) -> Dict[str, Tuple[int, ...]]:
    """Each output's shape. With per-step rewards [N, T, K], the per-objective quantities gain the
    step axis (A, c [N, T, K]; f, lambda [N, T]); e stays per sample, as q does."""
    NT = (N, T)
    return {
        "advantages": NT,
        "similarity": (N, T + 1),
        "delta_s": NT,
        "step_weights": NT,
        "raw_weights": NT,
        "objective_advantages": (N, T, K) if per_step else (N, K),
        "coefficients": (N, T, K) if per_step else (N, K),
        "trajectory_score": (N,),
        "exploration": (N,),
        "lambda": NT if per_step else (N,),
        "fused": NT if per_step else (N,),
    }


class _Structs:
    """One thread's ctypes argument blocks, reused by every run of a step on that thread."""

    __slots__ = ("latents", "rewards", "groups", "outputs", "latents_p", "rewards_p", "groups_p", "outputs_p", "set_outputs")

    def __init__(self) -> None:
        self.latents = n.Latents(struct_size=ctypes.sizeof(n.Latents))
        self.rewards = n.Rewards(struct_size=ctypes.sizeof(n.Rewards))
        self.groups = n.Groups(struct_size=ctypes.sizeof(n.Groups))
        self.outputs = n.Outputs(struct_size=ctypes.sizeof(n.Outputs))
        self.latents_p = ctypes.byref(self.latents)
        self.rewards_p = ctypes.byref(self.rewards)
        self.groups_p = ctypes.byref(self.groups)
        self.outputs_p = ctypes.byref(self.outputs)
        self.set_outputs: List[int] = []  # the output slots the last run filled (cleared by the next)


class AdvantageStep:
    """The OTCA advantage step for a fixed set of options: parse once, run every iteration.

    Options are the TypeScript package's in snake_case (see ``docs/python.md``): ``preset``,
    ``temporal``, ``min_weight``, ``objective``, ``objective_weights``, ... and ``device``. They are
    checked here, before any work (``TypeError`` for a wrong kind, ``ValueError`` for a bad value,
    naming the option). The step makes its native plan once per device, at its first run there.

    A call runs where its inputs live: numpy arrays and CPU tensors on the CPU backend (results of
    the library of ``rewards``, or of ``latents`` for phase 1), CUDA tensors on their device,
    enqueued on ``torch.cuda.current_stream()`` with outputs and scratch from torch's allocator and
    no host synchronisation. Example::

        step = otca.AdvantageStep(objective="moca", min_weight=0.5)
        adv = step.run(rewards, latents, group_size=12)          # [N, T] float32
        out = step.run(rewards, latents, group_size=12, outputs="all")
        out["lambda"], out["step_weights"]
    """

    def __init__(self, **options: Any) -> None:
        self._resolved: ResolvedOptions = resolve_options(options)
        self._lib = n.library()
        self._options_handle: Optional[ctypes.c_void_p] = None
        self._options_single: Optional[ctypes.c_void_p] = None  # K = 1 where the preset branches on K
        self._options_handle = self._native_options(self._resolved.native)
        if self._resolved.native_single is not None:
            self._options_single = self._native_options(self._resolved.native_single)
        # plans by (device, single): single for calls with one objective where the preset branches on K
        self._plans: Dict[Tuple[int, bool], ctypes.c_void_p] = {}
        self._plan_lock = threading.Lock()
        self._local = threading.local()
        self._workspace_sizes: Dict[Tuple[int, ...], int] = {}
        self._captured: List[Any] = []  # host buffers that captured CUDA graphs read at replay
        self._host_plan: Optional[ctypes.c_void_p] = self._plan(-1) if self._resolved.device[0] != "cuda" else None
        self._single = self._options_single is not None
        # the short path of run(): a host plan and no per-objective factors to check against K
        self._has_factors = any(self._resolved.values.get(name) is not None for name in FACTOR_OPTIONS)
        self._fast = self._host_plan is not None and not self._has_factors

    @property
    def options(self) -> Dict[str, Any]:
        """Every option's resolved value (Python names)."""
        return dict(self._resolved.values)

    def close(self) -> None:
        """Releases the native plans now (the garbage collector does it otherwise)."""
        lib = self._lib
        for plan in self._plans.values():
            lib.otca_plan_destroy(plan)
        self._plans = {}
        self._host_plan = None
        self._fast = False
        for handle in (self._options_handle, self._options_single):
            if handle is not None:
                lib.otca_options_destroy(handle)
        self._options_handle = self._options_single = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def __enter__(self) -> "AdvantageStep":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        given = {k: v for k, v in self._resolved.values.items() if v is not None}
        return f"AdvantageStep({', '.join(f'{k}={v!r}' for k, v in given.items())})"

    # ------------------------------------------------------------------ plans and devices

    def _native_options(self, native: Sequence[Tuple[str, str, Any]]) -> ctypes.c_void_p:
        """An otca_options handle holding these (kind, TypeScript name, value) options."""
        lib = self._lib
        handle = ctypes.c_void_p()
        n.check(lib.otca_options_create(ctypes.byref(handle)))
        try:
            for kind, abi, value in native:
                if kind == "enum":
                    status = lib.otca_options_set_enum(handle, abi.encode(), value.encode())
                elif kind == "factors":
                    arr = (ctypes.c_double * len(value))(*value)
                    status = lib.otca_options_set_factors(handle, abi.encode(), arr, len(value))
                else:
                    status = lib.otca_options_set_number(handle, abi.encode(), float(value))
                n.check(status)
        except BaseException:
            lib.otca_options_destroy(handle)
            raise
        return handle

    def _plan(self, device: int, single: bool = False) -> ctypes.c_void_p:
        """The plan for `device`; `single`: the one for calls with one objective (K = 1) where the
        preset branches on K (PRESETS_SINGLE_OBJECTIVE), as the Node package's step resolves it."""
        key = (device, single)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        with self._plan_lock:
            plan = self._plans.get(key)
            if plan is None:
                handle = self._options_single if single else self._options_handle
                if handle is None:
                    raise RuntimeError("this AdvantageStep was closed")
                plan = ctypes.c_void_p()
                status = self._lib.otca_plan_create(handle, device, ctypes.byref(plan))
                if status == n.E_DEVICE:  # CUDA not compiled in, or this device cannot be used: why, from the core
                    raise DeviceUnavailableError(str(n.error(status)))
                n.check(status)
                self._plans[key] = plan
        return plan

    def _device_for(self, device: int, argument: str, received: Any) -> int:
        """The device a call with inputs on `device` runs on, under the `device` option."""
        kind, index = self._resolved.device
        if kind == "auto":
            return device
        if kind == "cpu":
            if device >= 0:
                raise value_error(
                    "host memory (device='cpu'; pass .cpu(), or device='auto' to run on the GPU)", argument, describe(received), False
                )
            return -1
        if device != index:
            want = f"cuda:{index}"
            hint = f"; pass .to('{want}')" if device < 0 else ""
            raise value_error(f"a CUDA tensor on {want} (device='{self._resolved.values['device']}'{hint})", argument, describe(received), False)
        return device

    def _structs(self) -> _Structs:
        try:
            return self._local.structs
        except AttributeError:
            s = self._local.structs = _Structs()
            return s

    # ------------------------------------------------------------------ argument assembly

    @staticmethod
    def _fill_latents(s: _Structs, lat: a.LatentsInput) -> Any:
        L = s.latents
        L.dtype, L.N, L.T, L.D, L.sample_stride = lat.dtype, lat.N, lat.T, lat.D, lat.sample_stride
        if lat.ptrs is None:
            L.data, L.states = lat.ptr, None
            return None
        states = (ctypes.c_void_p * len(lat.ptrs))(*lat.ptrs)
        L.data, L.states = None, ctypes.cast(states, ctypes.POINTER(ctypes.c_void_p))
        return states  # kept alive by the caller for the call

    def _groups(self, s: _Structs, group_size: Any, group_ids: Any, N: int, device: int) -> Any:
        """Fills the groups block; returns what must stay alive during the call."""
        g = s.groups
        if group_size is not None and group_ids is not None:
            raise TypeError("Expected exactly one of group_size and group_ids but received both")
        if group_ids is None:
            if group_size is None:
                raise TypeError("Expected exactly one of group_size and group_ids but received neither")
            g.group_size, g.group_ids, g.index, g.group_count = a.group_size_value(group_size, N), None, None, 0
            return None
        ids = a.group_ids_host(group_ids, N)
        g.group_size = 0
        if device < 0:
            g.group_ids, g.index, g.group_count = a.np_ptr(ids), None, 0
            return ids
        # a device run takes the group index, built on the host and copied on the stream
        torch = a.torch_module()
        host = torch.empty(3 * N + 1, dtype=torch.int64, pin_memory=True)
        count = ctypes.c_int64()
        n.check(self._lib.otca_group_index(a.np_ptr(ids), N, host.data_ptr(), ctypes.byref(count)))
        B = count.value
        index = torch.empty(B + 1 + 2 * N, dtype=torch.int64, device=f"cuda:{device}")
        index.copy_(host[: B + 1 + 2 * N], non_blocking=True)
        g.group_ids, g.index, g.group_count = None, index.data_ptr(), B
        if torch.cuda.is_current_stream_capturing():
            # a CUDA graph replays the copy from this pinned buffer: it lives as long as the step
            self._captured.append((host, index))
        return (ids, host, index)

    def _alloc(self, names: Sequence[str], shapes: Mapping[str, Tuple[int, ...]], s: _Structs, like_torch: bool, device: int) -> Dict[str, Any]:
        data = s.outputs.data
        for i in s.set_outputs:
            data[i] = None
        s.set_outputs = slots = [n.OUTPUT_INDEX[name] for name in names]
        out: Dict[str, Any] = {}
        if not like_torch:
            for name, slot in zip(names, slots):
                arr = np.empty(shapes[name], np.float32)
                out[name] = arr
                data[slot] = a.np_ptr(arr)
            return out
        torch = a.torch_module()
        dev = "cpu" if device < 0 else f"cuda:{device}"
        for name, slot in zip(names, slots):
            t = torch.empty(shapes[name], dtype=torch.float32, device=dev)
            out[name] = t
            data[slot] = t.data_ptr()
        return out

    def _call(self, kind: int, device: int, s: _Structs, lat: Optional[a.LatentsInput], rew: Optional[a.Input],
              q: Optional[a.Input], K: int, B: int, check: bool) -> Any:
        """Runs on the host (synchronous, checked) or enqueues on the current CUDA stream."""
        if K == 1 and self._single:
            plan = self._plan(device, True)
        else:
            plan = self._plan(device) if device >= 0 or self._host_plan is None else self._host_plan
        lat_p = s.latents_p if lat is not None else None
        rew_p = s.rewards_p if rew is not None else None
        groups_p = s.groups_p if kind != n.KIND_TRAJECTORY else None
        q_ptr = q.ptr if q is not None else None
        if device < 0:
            status = self._lib.otca_run(plan, kind, lat_p, rew_p, q_ptr, groups_p, s.outputs_p)
            if status != n.OK:
                raise n.error(status)
            return None
        torch = a.torch_module()
        N = lat.N if lat is not None else rew.shape[0]  # type: ignore[union-attr]  # one of the two is given
        T = lat.T if lat is not None else s.rewards.T  # an objective run: its rewards' T (0 for [N, K])
        D = lat.D if lat is not None else 0
        key = (device, kind, N, T, D, K, B)
        size = self._workspace_sizes.get(key)
        if size is None:
            c_size = ctypes.c_size_t()
            n.check(self._lib.otca_workspace_size(plan, kind, N, T, D, K, B, ctypes.byref(c_size)))
            size = self._workspace_sizes[key] = c_size.value
        # status word at 0, workspace at 256 (torch's blocks are 512-byte aligned); from torch's
        # caching allocator on this stream, so runs on other streams never share it
        scratch = torch.empty(256 + size, dtype=torch.uint8, device=f"cuda:{device}")
        base = scratch.data_ptr()
        stream = torch.cuda.current_stream(device).cuda_stream
        status = self._lib.otca_run_cuda(plan, kind, lat_p, rew_p, q_ptr, groups_p, s.outputs_p, base + 256, size, base, stream)
        if status != n.OK:
            raise n.error(status)
        if check:
            n.check(self._lib.otca_check_status(plan, kind, lat_p, rew_p, q_ptr, base, stream))
        return scratch

    # ------------------------------------------------------------------ the public runs

    def run(self, rewards: ArrayLike, latents: Any, *, group_size: Optional[int] = None, group_ids: Any = None,
            outputs: OutputsRequest = "advantages", check: bool = False) -> Any:
        """The advantages ``Adv [N, T]`` (float32) of one batch; with ``outputs='all'`` or a list of
        names, a dict of those outputs (``advantages`` always among them).

        rewards: [N, K] float32 or float64 (numpy array, torch tensor, any ``__dlpack__`` object), or
            per-step rewards [N, T, K] (T as in latents): then ``objective_advantages`` and
            ``coefficients`` are [N, T, K], ``lambda`` and ``fused`` [N, T].
        latents: [N, T+1, D], [N, T+1, *dims] (flattened in place), or a list of T+1 arrays
            [N, *dims]; float32, float16 or bfloat16; C-contiguous.
        group_size: contiguous groups of this many samples; or group_ids: N integer ids (list,
            numpy, torch), groups of any size in any order. Exactly one of the two.
        check: on CUDA, synchronise and raise the ``ValueError`` a non-finite input gives on the
            CPU (without it, a non-finite input makes the call's outputs NaN). Ignored on the CPU,
            where every call is checked.
        """
        if (self._fast and type(latents) is np.ndarray and type(rewards) is np.ndarray and type(group_size) is int
                and group_ids is None and type(outputs) is str and outputs == "advantages"):
            fast = self._run_numpy(rewards, latents, group_size)
            if fast is not None:
                return fast
        names = _ONLY_ADVANTAGES if type(outputs) is str and outputs == "advantages" else outputs_request(outputs)
        lat = a.latents_input(latents)
        rew = a.rewards_input(rewards, lat.N)
        if rew.device != lat.device:
            a.same_device(rew, lat.device, "rewards", "latents")
        device = self._device_for(lat.device, "latents", latents)
        K = rew.shape[-1]
        if len(rew.shape) == 3 and rew.shape[1] != lat.T:
            raise value_error(f"{lat.T} steps (T as in latents)", "rewards", f"shape {format_shape(rew.shape)}", False)
        if self._has_factors:
            check_options_for_k(self._resolved, K)
        s = self._structs()
        keep_states = self._fill_latents(s, lat)
        R = s.rewards
        R.dtype, R.N, R.T, R.K, R.data = rew.dtype, lat.N, (rew.shape[1] if len(rew.shape) == 3 else 0), K, rew.ptr
        keep_groups = self._groups(s, group_size, group_ids, lat.N, device)
        B = s.groups.group_count or (lat.N // s.groups.group_size if s.groups.group_size else lat.N)
        per_step = len(rew.shape) == 3
        if names is _ONLY_ADVANTAGES and not per_step and not rew.torch:
            shapes: Mapping[str, Tuple[int, ...]] = {"advantages": (lat.N, lat.T)}
        else:
            shapes = output_shapes(lat.N, lat.T, K, per_step)
        out = self._alloc(names, shapes, s, rew.torch, device)
        self._call(n.KIND_ADVANTAGES, device, s, lat, rew, None, K, B, check)
        del keep_states, keep_groups
        return out["advantages"] if names is _ONLY_ADVANTAGES else out

    def _run_numpy(self, rewards: np.ndarray, latents: np.ndarray, group_size: int) -> Optional[np.ndarray]:
        """The common call in its shortest form (numpy [N, T+1, D] and [N, K], C-contiguous, a group
        size, the advantages only, a host plan): the same checks as the general path, which takes
        over (with its messages) wherever one fails. None then."""
        if latents.ndim != 3 or rewards.ndim != 2 or not (latents.flags.c_contiguous and rewards.flags.c_contiguous):
            return None
        ld, rd = a.NP_LATENT.get(latents.dtype), a.NP_REWARD.get(rewards.dtype)
        N, S, D = latents.shape
        rows, K = rewards.shape
        plan = self._plan(-1, True) if K == 1 and self._single else self._host_plan
        if ld is None or rd is None or N < 1 or S < 2 or D < 1 or rows != N or K < 1 or group_size < 1 or N % group_size or plan is None:
            return None
        s = self._structs()
        L = s.latents
        L.dtype, L.N, L.T, L.D, L.data, L.states, L.sample_stride = ld, N, S - 1, D, a.np_ptr(latents), None, 0
        R = s.rewards
        R.dtype, R.N, R.T, R.K, R.data = rd, N, 0, K, a.np_ptr(rewards)
        G = s.groups
        G.group_size, G.group_ids, G.index, G.group_count = group_size, None, None, 0
        out = np.empty((N, S - 1), np.float32)
        data = s.outputs.data
        if s.set_outputs is not _ADVANTAGES_SLOT:
            for i in s.set_outputs:
                data[i] = None
            s.set_outputs = _ADVANTAGES_SLOT
        data[n.OUTPUT_INDEX["advantages"]] = a.np_ptr(out)
        status = self._lib.otca_run(plan, n.KIND_ADVANTAGES, s.latents_p, s.rewards_p, None, s.groups_p, s.outputs_p)
        if status != n.OK:
            raise n.error(status)
        return out

    def trajectory_credit(self, latents: Any, *, check: bool = False) -> Dict[str, Any]:
        """Phase 1, per sample from its own latents: ``similarity`` S [N, T+1], ``delta_s`` dS [N, T],
        ``raw_weights`` wbar [N, T], ``step_weights`` w [N, T], ``trajectory_score`` q [N]."""
        lat = a.latents_input(latents)
        device = self._device_for(lat.device, "latents", latents)
        s = self._structs()
        keep = self._fill_latents(s, lat)
        shapes = output_shapes(lat.N, lat.T, 1, False)
        out = self._alloc(TRAJECTORY_OUTPUTS, shapes, s, lat.torch, device)
        self._call(n.KIND_TRAJECTORY, device, s, lat, None, None, 0, 0, check)
        del keep
        return out

    def objective_credit(self, rewards: ArrayLike, trajectory_score: ArrayLike, *, group_size: Optional[int] = None,
                         group_ids: Any = None, check: bool = False) -> Dict[str, Any]:
        """Phase 2, per group from N*(K+1) numbers: ``objective_advantages`` A [N, K],
        ``exploration`` e [N], ``lambda`` [N], ``coefficients`` c [N, K], ``fused`` f [N]. With
        per-step rewards [N, T, K]: A and c [N, T, K], lambda and f [N, T] (e stays [N])."""
        rew = a.rewards_input(rewards, None)
        N = rew.shape[0]
        q = a.score_input(trajectory_score, N)
        if q.device != rew.device:
            a.same_device(q, rew.device, "trajectory_score", "rewards")
        device = self._device_for(rew.device, "rewards", rewards)
        K = rew.shape[-1]
        check_options_for_k(self._resolved, K)
        s = self._structs()
        R = s.rewards
        per_step = len(rew.shape) == 3
        R.dtype, R.N, R.T, R.K, R.data = rew.dtype, N, (rew.shape[1] if per_step else 0), K, rew.ptr
        keep = self._groups(s, group_size, group_ids, N, device)
        B = s.groups.group_count or (N // s.groups.group_size if s.groups.group_size else N)
        shapes = output_shapes(N, rew.shape[1] if per_step else 1, K, per_step)
        out = self._alloc(OBJECTIVE_OUTPUTS, shapes, s, rew.torch, device)
        self._call(n.KIND_OBJECTIVE, device, s, None, rew, q, K, B, check)
        del keep
        return out


# ------------------------------------------------------------------ one-shot functions

_STEPS: Dict[Tuple[Tuple[str, Any], ...], AdvantageStep] = {}
_STEPS_LOCK = threading.Lock()
_STEPS_MAX = 16


def _key_part(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return tuple(_key_part(x) for x in v)
    if isinstance(v, (str, int, float, bool)) or v is None:
        return (type(v).__name__, v)
    raise TypeError  # not keyed: the call makes its own step


def step_for(options: Mapping[str, Any]) -> AdvantageStep:
    """The cached step for these options (made once; the one-shot functions parse nothing twice)."""
    try:
        key = tuple(sorted((k, _key_part(v)) for k, v in options.items()))
    except TypeError:
        return AdvantageStep(**options)
    step = _STEPS.get(key)
    if step is None:
        step = AdvantageStep(**options)
        with _STEPS_LOCK:
            if len(_STEPS) >= _STEPS_MAX:
                _STEPS.pop(next(iter(_STEPS)))
            _STEPS[key] = step
    return step


def advantages(rewards: ArrayLike, latents: Any, *, group_size: Optional[int] = None, group_ids: Any = None,
               check: bool = False, **options: Any) -> Any:
    """OTCA advantages ``Adv [N, T]`` (float32) for one batch, of the library and device of
    ``rewards`` (numpy in, numpy out; torch in, torch out on the same device).

    Example::

        import otca
        adv = otca.advantages(rewards, latents, group_size=12)           # defaults: TCD + MOCA
        adv = otca.advantages(rewards, latents, group_ids=prompt_ids, preset="flow-grpo", temporal="tcd")

    See :class:`AdvantageStep` for the inputs and ``docs/python.md`` for the options.
    """
    return step_for(options).run(rewards, latents, group_size=group_size, group_ids=group_ids, check=check)


def trajectory_credit(latents: Any, *, check: bool = False, **options: Any) -> Dict[str, Any]:
    """Phase 1 (see :meth:`AdvantageStep.trajectory_credit`)."""
    return step_for(options).trajectory_credit(latents, check=check)


def objective_credit(rewards: ArrayLike, trajectory_score: ArrayLike, *, group_size: Optional[int] = None,
                     group_ids: Any = None, check: bool = False, **options: Any) -> Dict[str, Any]:
    """Phase 2 (see :meth:`AdvantageStep.objective_credit`)."""
    return step_for(options).objective_credit(rewards, trajectory_score, group_size=group_size, group_ids=group_ids, check=check)


def combine_credit(trajectory: Mapping[str, Any], objective: Mapping[str, Any]) -> Any:
    """``Adv [N, T] = step_weights[i, t] * fused[i]`` in float32 from the two phases' results (with
    per-step rewards, ``fused`` is [N, T] and ``Adv[i, t] = step_weights[i, t] * fused[i, t]``): the
    very bits :func:`advantages` gives. Arrays of one library and device (numpy or torch)."""
    if not isinstance(trajectory, Mapping) or "step_weights" not in trajectory:
        raise type_error("phase 1's result (a dict with step_weights)", "trajectory", trajectory)
    if not isinstance(objective, Mapping) or "fused" not in objective:
        raise type_error("phase 2's result (a dict with fused)", "objective", objective)
    w, f = trajectory["step_weights"], objective["fused"]
    if getattr(w, "dtype", None) is None or str(w.dtype) not in ("float32", "torch.float32") or len(w.shape) != 2:
        raise type_error("a float32 array [N, T] (phase 1's step_weights)", "trajectory['step_weights']", w)
    if getattr(f, "dtype", None) is None or str(f.dtype) not in ("float32", "torch.float32") or len(f.shape) not in (1, 2):
        raise type_error("a float32 array [N] or [N, T] (phase 2's fused)", "objective['fused']", f)
    if f.shape[0] != w.shape[0] or (len(f.shape) == 2 and tuple(f.shape) != tuple(w.shape)):
        want = f"[{w.shape[0]}, {w.shape[1]}]" if len(f.shape) == 2 else f"[{w.shape[0]}]"
        raise value_error(f"shape {want} (as trajectory['step_weights'])", "objective['fused']", describe(f), False)
    if a.is_torch(w) != a.is_torch(f):
        raise type_error("an array of the library of trajectory['step_weights']", "objective['fused']", f)
    return w * (f[:, None] if len(f.shape) == 1 else f)  # one float32 multiply per element, as the core

"""Bit for bit the Node package's results on the CPU backend, over random cases: every option, the
three latent dtypes, the layouts (stacked, trailing dims, a list of states), float32 and float64
rewards, group_size and scattered group_ids, both presets, the one call and both phases; numpy and
torch inputs give the same bits."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Tuple

import ml_dtypes
import numpy as np
import pytest
import torch

import otca
from conftest import decode, encode, needs_node, node_results, same_bits
from otca._schema import OPTIONS, OUTPUT_ABI_NAMES

CASES = 48
DTYPES = {"float32": np.float32, "float16": np.float16, "bfloat16": ml_dtypes.bfloat16}


def random_options(rng: np.random.Generator, K: int) -> Dict[str, Any]:
    """Each native option given or not, at a random allowed value (from the schema); a preset sometimes."""
    out: Dict[str, Any] = {}
    if rng.random() < 0.25:
        out["preset"] = str(rng.choice(OPTIONS["preset"]["values"]))
    for name, spec in OPTIONS.items():
        if not spec["native"] or name == "threads" or rng.random() < 0.5:
            continue
        kind = spec["kind"]
        if kind in ("enum", "choice"):
            out[name] = spec["values"][int(rng.integers(len(spec["values"])))]
        elif kind == "factors":
            out[name] = [float(np.float32(x)) for x in rng.uniform(-2, 2, size=K)]
        elif spec["max"] == math.inf:  # the clips: none, or a bound
            out[name] = [math.inf, 0.5, 1.0, 5.0][int(rng.integers(4))]
        elif name.startswith("eps"):
            out[name] = float(max(spec["min"], 10.0 ** rng.uniform(-9, -1)))
        else:
            out[name] = float(rng.uniform(spec["min"], spec["max"]))
    out["threads"] = int(rng.integers(0, 3))
    return out


def node_options(options: Dict[str, Any]) -> Dict[str, Any]:
    return {OPTIONS[k]["abi"]: ("Infinity" if v == math.inf else v) for k, v in options.items()}


def make_case(seed: int) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(the Python call, the Node case) for one seed."""
    rng = np.random.default_rng(1000 + seed)
    kind = ["advantages", "advantages", "trajectory", "objective"][seed % 4]
    B, G = int(rng.integers(1, 4)), int(rng.integers(1, 5))
    N, T, K = B * G, int(rng.integers(1, 7)), int(rng.integers(1, 5))
    dims = [(13,), (4, 2, 3), (1,), (2, 8)][int(rng.integers(4))]
    D = int(np.prod(dims))
    dtype = list(DTYPES)[int(rng.integers(3))]
    layout = ["stacked", "trailing", "list"][int(rng.integers(3))]
    z = np.cumsum(rng.normal(size=(N, T + 1, D)), axis=1)
    if rng.random() < 0.2:
        z[int(rng.integers(N))] = 0  # a zero trajectory: S = 0 by convention
    z = z.astype(DTYPES[dtype])
    rewards = rng.normal(size=(N, K)).astype(np.float64 if rng.random() < 0.5 else np.float32)
    if rng.random() < 0.2:
        rewards[:G] = rewards[0]  # a group of equal rewards: std 0
    options = random_options(rng, K)
    groups: Dict[str, Any]
    if rng.random() < 0.5:
        groups = {"group_size": G}
        node_groups: Dict[str, Any] = {"groupSize": G}
    else:
        ids = rng.integers(0, B + 2, size=N)
        groups = {"group_ids": ids.astype([np.int64, np.int32, np.int16][int(rng.integers(3))])}
        node_groups = {"groupIds": [int(x) for x in ids]}
    if layout == "stacked":
        latents: Any = z
    elif layout == "trailing":
        latents = z.reshape((N, T + 1) + dims)
    else:
        latents = [np.ascontiguousarray(z[:, j]).reshape((N,) + dims) for j in range(T + 1)]
    node_latents: Any = [encode(np.ascontiguousarray(z[:, j])) for j in range(T + 1)] if layout == "list" else encode(z)
    q = rng.uniform(-2, 2, size=N).astype(np.float32)
    py = {"kind": kind, "options": options, "rewards": rewards, "latents": latents, "q": q, "groups": groups}
    node = {"kind": kind, "options": node_options(options), **node_groups}
    if kind != "trajectory":
        node["rewards"] = encode(rewards)
    if kind != "objective":
        node["latents"] = node_latents
    if kind == "objective":
        node["trajectoryScore"] = encode(q)
    return py, node


def run_python(c: Dict[str, Any], as_torch: bool = False) -> Dict[str, Any]:
    def conv(x: Any) -> Any:
        if not as_torch:
            return x
        if isinstance(x, list):
            return [conv(s) for s in x]
        if x.dtype == ml_dtypes.bfloat16:
            return torch.from_numpy(x.view(np.uint16)).view(torch.bfloat16)
        return torch.from_numpy(x)

    step = otca.AdvantageStep(**c["options"])
    groups = dict(c["groups"])
    if as_torch and "group_ids" in groups:
        groups["group_ids"] = torch.from_numpy(groups["group_ids"])
    if c["kind"] == "trajectory":
        return step.trajectory_credit(conv(c["latents"]))
    if c["kind"] == "objective":
        return step.objective_credit(conv(c["rewards"]), conv(c["q"]), **groups)
    return step.run(conv(c["rewards"]), conv(c["latents"]), outputs="all", **groups)


@needs_node
def test_bit_for_bit_the_node_package() -> None:
    made = [make_case(seed) for seed in range(CASES)]
    results = node_results([node for _, node in made])
    compared = 0
    for seed, ((py, _), want) in enumerate(zip(made, results)):
        assert "error" not in want, (seed, want)
        got = run_python(py)
        expected_names = {name for name, abi in OUTPUT_ABI_NAMES.items() if abi in want}
        assert set(got) == expected_names, (seed, set(got), set(want))
        for name in got:
            assert same_bits(got[name], decode(want[OUTPUT_ABI_NAMES[name]])), (seed, py["kind"], name, py["options"])
            compared += 1
        got_torch = run_python(py, as_torch=True)
        for name in got:
            assert isinstance(got_torch[name], torch.Tensor)
            assert same_bits(got_torch[name], got[name]), (seed, name)
    assert compared > CASES * 5


def test_phases_combine_to_the_one_call() -> None:
    rng = np.random.default_rng(7)
    rewards = rng.normal(size=(8, 3)).astype(np.float32)
    z = np.cumsum(rng.normal(size=(8, 6, 32)), axis=1).astype(ml_dtypes.bfloat16)
    ids = [3, 1, 3, 0, 1, 0, 0, 3]
    one = otca.advantages(rewards, z, group_ids=ids, min_weight=0.25)
    t = otca.trajectory_credit(z, min_weight=0.25)
    o = otca.objective_credit(rewards, t["trajectory_score"], group_ids=ids, min_weight=0.25)
    assert same_bits(otca.combine_credit(t, o), one)
    assert not np.array_equal(one, otca.advantages(rewards, z, group_ids=ids))  # the option mattered


def test_layouts_and_libraries_give_the_same_bits() -> None:
    rng = np.random.default_rng(8)
    rewards = rng.normal(size=(4, 2)).astype(np.float32)
    z = np.cumsum(rng.normal(size=(4, 5, 3, 4, 4)), axis=1).astype(np.float32)  # [N, T+1, C, H, W]
    base = otca.advantages(rewards, z.reshape(4, 5, 48), group_size=2)
    assert base.shape == (4, 4) and base.dtype == np.float32
    assert same_bits(otca.advantages(rewards, z, group_size=2), base)
    assert same_bits(otca.advantages(rewards, [z[:, j].copy() for j in range(5)], group_size=2), base)
    tz = torch.from_numpy(z)
    out = otca.advantages(torch.from_numpy(rewards), tz, group_size=2)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and same_bits(out, base)
    assert same_bits(otca.advantages(torch.from_numpy(rewards), list(tz.unbind(1)), group_size=2), base)

    class Capsule:  # any object with __dlpack__
        def __init__(self, a: np.ndarray) -> None:
            self.a = a

        def __dlpack__(self, **kw: Any) -> Any:
            return self.a.__dlpack__(**kw)

        def __dlpack_device__(self) -> Any:
            return self.a.__dlpack_device__()

    assert same_bits(otca.advantages(Capsule(rewards), Capsule(z), group_size=2), base)
    # bfloat16: ml_dtypes with numpy and torch's own give the same bits
    zb = z.astype(ml_dtypes.bfloat16)
    tb = torch.from_numpy(zb.view(np.uint16)).view(torch.bfloat16)
    assert same_bits(otca.advantages(rewards, zb, group_size=2), otca.advantages(torch.from_numpy(rewards), tb, group_size=2))


# ------------------------------------------------------------------ per-step rewards and the newer presets


def explicit_case(seed: int, kind: str, options: Dict[str, Any], N: int, G: int, T: int, K: int,
                  steps: int = 0, by_ids: bool = False, f64: bool = False) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(the Python call, the Node case) of one shape: rewards [N, K], or per-step [N, steps, K]."""
    rng = np.random.default_rng(5000 + seed)
    z = np.cumsum(rng.normal(size=(N, T + 1, 12)), axis=1).astype(np.float32)
    rewards = rng.normal(size=(N, steps, K) if steps else (N, K)).astype(np.float64 if f64 else np.float32)
    q = rng.uniform(-2, 2, size=N).astype(np.float32)
    if by_ids:
        ids = rng.integers(0, max(1, N // G) + 1, size=N)
        groups: Dict[str, Any] = {"group_ids": ids}
        node_groups: Dict[str, Any] = {"groupIds": [int(x) for x in ids]}
    else:
        groups, node_groups = {"group_size": G}, {"groupSize": G}
    py = {"kind": kind, "options": options, "rewards": rewards, "latents": z, "q": q, "groups": groups}
    node: Dict[str, Any] = {"kind": kind, "options": node_options(options), **node_groups, "rewards": encode(rewards)}
    if kind == "advantages":
        node["latents"] = encode(z)
    else:
        node["trajectoryScore"] = encode(q)
    return py, node


# (name, kind, options, N, G, T, K, rewards' steps, group ids, float64 rewards)
EXPLICIT = [
    ("per-step, defaults", "advantages", {}, 8, 4, 4, 2, 4, False, False),
    ("per-step, uniform, group std, ids, f64", "advantages", {"temporal": "uniform", "std_scope": "batch"}, 9, 3, 3, 3, 3, True, True),
    ("per-step, min-norm, fused batch norm", "advantages", {"objective": "min-norm", "fused_normalization": "batch"}, 6, 3, 5, 2, 5, False, False),
    ("per-step K = 1", "advantages", {"objective": "weighted-reward"}, 6, 2, 2, 1, 2, False, True),
    ("per-step objective run, its own T", "objective", {"exploration_signal": "centered"}, 8, 4, 1, 3, 6, False, False),
    ("per-step objective run, ids", "objective", {}, 10, 5, 1, 2, 3, True, True),
    ("g2rpo, per-step", "advantages", {"preset": "g2rpo"}, 8, 4, 4, 3, 4, False, False),
    ("g2rpo, per-step, ids, f64", "advantages", {"preset": "g2rpo"}, 9, 3, 3, 2, 3, True, True),
    ("g2rpo, per-step objective run", "objective", {"preset": "g2rpo"}, 8, 4, 1, 2, 5, False, False),
    ("flow-factory K = 3", "advantages", {"preset": "flow-factory"}, 12, 4, 3, 3, 0, False, False),
    ("flow-factory K = 2, ids, f64", "advantages", {"preset": "flow-factory"}, 10, 5, 2, 2, 0, True, True),
    ("flow-factory per-step", "advantages", {"preset": "flow-factory"}, 8, 4, 3, 2, 3, False, False),
    ("gdpo K = 3", "advantages", {"preset": "gdpo", "objective_weights": [1.0, 0.5, 2.0]}, 12, 4, 3, 3, 0, False, False),
    ("gdpo K = 1", "advantages", {"preset": "gdpo"}, 12, 4, 3, 1, 0, False, False),
    ("gdpo K = 1, f64, ids", "advantages", {"preset": "gdpo"}, 10, 5, 2, 1, 0, True, True),
    ("gdpo K = 1, weighted", "advantages", {"preset": "gdpo", "objective_weights": [0.5]}, 8, 4, 2, 1, 0, False, False),
    ("gdpo K = 1, the caller's objective over the branch", "advantages", {"preset": "gdpo", "objective": "moca"}, 8, 4, 2, 1, 0, False, False),
    ("gdpo K = 1 objective run", "objective", {"preset": "gdpo"}, 8, 4, 1, 1, 0, False, False),
    ("gdpo K = 3 objective run", "objective", {"preset": "gdpo"}, 8, 4, 1, 3, 0, False, False),
    ("gdpo K = 1, per-step", "advantages", {"preset": "gdpo"}, 8, 4, 3, 1, 3, False, False),
]


@needs_node
def test_per_step_rewards_and_the_newer_presets_bit_for_bit_the_node_package() -> None:
    made = [explicit_case(i, kind, options, N, G, T, K, steps, ids, f64)
            for i, (_, kind, options, N, G, T, K, steps, ids, f64) in enumerate(EXPLICIT)]
    results = node_results([node for _, node in made])
    for (name, *_), (py, _), want in zip(EXPLICIT, made, results):
        assert "error" not in want, (name, want)
        got = run_python(py)
        assert {OUTPUT_ABI_NAMES[k] for k in got} == set(want), (name, set(got), set(want))
        for out in got:
            assert same_bits(got[out], decode(want[OUTPUT_ABI_NAMES[out]])), (name, out)
        steps = py["rewards"].shape[1] if py["rewards"].ndim == 3 else 0
        N, K = py["rewards"].shape[0], py["rewards"].shape[-1]
        rows = (N, steps) if steps else (N,)
        assert got["objective_advantages"].shape == rows + (K,) and got["coefficients"].shape == rows + (K,), name
        assert got["lambda"].shape == rows and got["fused"].shape == rows and got["exploration"].shape == (N,), name
        got_torch = run_python(py, as_torch=True)
        for out in got:
            assert isinstance(got_torch[out], torch.Tensor) and same_bits(got_torch[out], got[out]), (name, out)


def test_gdpo_with_one_reward_takes_its_single_objective_branch() -> None:
    """K = 1: GDPO's trainer normalises the weighted reward per group (PRESETS_SINGLE_OBJECTIVE), not
    the preset's K >= 2 steps; options given beside the preset still win; K = 3 keeps the preset's."""
    rng = np.random.default_rng(21)
    z = np.cumsum(rng.normal(size=(12, 4, 8)), axis=1).astype(np.float32)
    r1 = rng.normal(size=(12, 1)).astype(np.float32)
    r3 = rng.normal(size=(12, 3)).astype(np.float32)
    step = otca.AdvantageStep(preset="gdpo")
    single = otca.AdvantageStep(preset="gdpo", objective="weighted-reward", fused_normalization="none")
    as_many = otca.AdvantageStep(preset="gdpo", objective="weighted-advantage", fused_normalization="batch")
    assert same_bits(step.run(r1, z, group_size=4), single.run(r1, z, group_size=4))
    assert not same_bits(step.run(r1, z, group_size=4), as_many.run(r1, z, group_size=4))  # the branch matters
    assert same_bits(step.run(r3, z, group_size=4), as_many.run(r3, z, group_size=4))
    # the one-call fast path (numpy, a group size, advantages only) and the general one agree
    assert same_bits(step.run(r1, z, group_size=4), step.run(r1, z, group_size=4, outputs="all")["advantages"])
    q = step.trajectory_credit(z)["trajectory_score"]
    assert same_bits(step.objective_credit(r1, q, group_size=4)["fused"], single.objective_credit(r1, q, group_size=4)["fused"])
    given = otca.AdvantageStep(preset="gdpo", fused_normalization="batch")  # the caller's value over the branch
    mixed = otca.AdvantageStep(preset="gdpo", objective="weighted-reward", fused_normalization="batch")
    assert same_bits(given.run(r1, z, group_size=4), mixed.run(r1, z, group_size=4))
    assert step.options["objective"] == "weighted-advantage"  # the step's options are the preset's, as in Node


def test_per_step_phases_combine_to_the_one_call() -> None:
    rng = np.random.default_rng(22)
    rewards = rng.normal(size=(8, 5, 2)).astype(np.float64)
    z = np.cumsum(rng.normal(size=(8, 6, 16)), axis=1).astype(ml_dtypes.bfloat16)
    ids = [3, 1, 3, 0, 1, 0, 0, 3]
    one = otca.advantages(rewards, z, group_ids=ids, preset="g2rpo", temporal="tcd")
    t = otca.trajectory_credit(z, preset="g2rpo", temporal="tcd")
    o = otca.objective_credit(rewards, t["trajectory_score"], group_ids=ids, preset="g2rpo", temporal="tcd")
    assert o["fused"].shape == (8, 5) and o["objective_advantages"].shape == (8, 5, 2)
    assert same_bits(otca.combine_credit(t, o), one)
    # the per-step rewards matter: the same rewards summed over the steps give other advantages
    assert not np.array_equal(one, otca.advantages(rewards.sum(axis=1), z, group_ids=ids, preset="g2rpo", temporal="tcd"))

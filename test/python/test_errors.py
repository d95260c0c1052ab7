"""Bad options and inputs: the kind of error, and a message in the project's format naming the
Python argument, before any work."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import otca
from conftest import batch


def raises(kind, pattern, fn, *args, **kw):
    with pytest.raises(kind) as e:
        fn(*args, **kw)
    assert re.search(pattern, str(e.value)), str(e.value)
    return str(e.value)


# ------------------------------------------------------------------ options, from the schema

@pytest.mark.parametrize(
    "options, kind, message",
    [
        ({"min_weight": 2}, ValueError, r"^Expected number in \[0, 1\] for min_weight but received 2$"),
        ({"min_weight": "0.5"}, TypeError, r"^Expected number in \[0, 1\] for min_weight but received '0.5'$"),
        ({"min_weight": True}, TypeError, r"for min_weight but received True$"),
        ({"temporal": "tdc"}, ValueError, r"^Expected one of 'tcd', 'uniform' for temporal but received 'tdc'$"),
        ({"temporal": 1}, TypeError, r"for temporal but received 1$"),
        ({"std_correction": 2}, ValueError, r"^Expected one of 0, 1 for std_correction but received 2$"),
        ({"adv_clip": 0}, ValueError, r"^Expected number in \(0, inf\] for adv_clip but received 0$"),
        ({"threads": 1.5}, ValueError, r"^Expected integer in \[0, 4096\] for threads but received 1.5$"),
        ({"eps_moca": 0}, ValueError, r"for eps_moca but received 0$"),
        ({"objective_weights": []}, ValueError, r"^Expected length K >= 1 for objective_weights but received length 0$"),
        ({"objective_weights": [1, "x"]}, TypeError, r"for objective_weights\[1\] but received 'x'$"),
        ({"objective_scale": [1, 2e9]}, ValueError, r"^Expected finite number in \[-1000000000, 1000000000\] for objective_scale\[1\]"),
        ({"objective_weights": 3}, TypeError, r"for objective_weights but received 3$"),
        ({"objective_weights": [1, 2], "objective_scale": [1]}, ValueError, r"^Expected length 2 \(as objective_weights\) for objective_scale"),
        ({"preset": "grpo"}, ValueError, r"^Expected one of 'dancegrpo', 'flow-grpo', .* for preset but received 'grpo'$"),
        ({"device": "gpu"}, ValueError, r"^Expected one of 'auto', 'cpu', 'cuda', 'cuda:N' for device but received 'gpu'$"),
        ({"device": 0}, TypeError, r"for device but received 0$"),
        ({"minWeight": 0.5}, TypeError, r"^Expected an option name \(one of .*\) for options but received 'minWeight' \(the Python name of minWeight is min_weight\)$"),
        ({"outputs": "all"}, TypeError, r"for options but received 'outputs'$"),
    ],
)
def test_bad_options(options, kind, message) -> None:
    raises(kind, message, otca.AdvantageStep, **options)


def test_a_preset_and_options_beside_it() -> None:
    step = otca.AdvantageStep(preset="flow-grpo", temporal="tcd")
    o = step.options
    assert o["objective"] == "weighted-reward" and o["std_scope"] == "batch" and o["eps_adv"] == 1e-4
    assert o["temporal"] == "tcd"
    assert otca.AdvantageStep().options["temporal"] == "tcd"


def test_factors_must_have_k_entries() -> None:
    rewards, z = batch(np.random.default_rng(1))
    raises(ValueError, r"^Expected length K \(3\) for objective_weights but received length 2$",
           otca.advantages, rewards, z, group_size=3, objective="weighted-advantage", objective_weights=[1, 2])


# ------------------------------------------------------------------ inputs

def test_bad_inputs() -> None:
    rewards, z = batch(np.random.default_rng(2))
    step = otca.AdvantageStep()
    raises(TypeError, r"^Expected an array \[N, T\+1, D\] .* for latents but received dict$", step.run, rewards, {}, group_size=3)
    raises(TypeError, r"^Expected dtype float32, float16 or bfloat16 for latents but received float64$", step.run, rewards, z.astype(np.float64), group_size=3)
    raises(TypeError, r"^Expected dtype float32 or float64 for rewards but received int64$", step.run, rewards.astype(np.int64), z, group_size=3)
    raises(TypeError, r"for rewards but received list of length 6$", step.run, rewards.tolist(), z, group_size=3)
    raises(ValueError, r"^Expected rank >= 3 .* for latents but received shape \[6, 80\]$", step.run, rewards, z.reshape(6, -1), group_size=3)
    raises(ValueError, r"^Expected N \(6\) rows as in latents for rewards but received shape \[5, 3\]$", step.run, rewards[:5], z, group_size=3)
    raises(ValueError, r"^Expected rank 2 \[N, K\] .* for rewards but received shape \[18\]$", step.run, rewards.reshape(-1), z, group_size=3)
    raises(ValueError, r"^Expected T\+1 >= 2 states \(T >= 1\) for latents but received shape \[6, 1, 16\]$", step.run, rewards, z[:, :1].copy(), group_size=3)
    raises(ValueError, r"^Expected K >= 1 objectives for rewards", step.run, np.zeros((6, 0), np.float32), z, group_size=3)
    # groups
    raises(TypeError, r"^Expected exactly one of group_size and group_ids but received neither$", step.run, rewards, z)
    raises(TypeError, r"but received both$", step.run, rewards, z, group_size=3, group_ids=[0] * 6)
    raises(ValueError, r"^Expected N \(6\) divisible by group_size \(4\) for group_size but received 4$", step.run, rewards, z, group_size=4)
    raises(ValueError, r"^Expected integer >= 1 for group_size but received 0$", step.run, rewards, z, group_size=0)
    raises(TypeError, r"^Expected integer >= 1 for group_size but received 3.0$", step.run, rewards, z, group_size=3.0)
    raises(ValueError, r"^Expected shape \[6\] \(length N\) for group_ids but received shape \[5\]$", step.run, rewards, z, group_ids=[0] * 5)
    raises(ValueError, r"^Expected integers in \[0, 2\^31 - 1\] for group_ids but received -1 at sample 2$", step.run, rewards, z, group_ids=[0, 0, -1, 1, 1, 1])
    raises(ValueError, r"but received 2147483648 at sample 0$", step.run, rewards, z, group_ids=np.array([2**31] + [0] * 5, np.int64))
    raises(TypeError, r"^Expected integers for group_ids but received 0.5 at sample 1$", step.run, rewards, z, group_ids=[0, 0.5, 0, 1, 1, 1])
    raises(TypeError, r"^Expected an integer array of N ids for group_ids but received float32$", step.run, rewards, z, group_ids=np.zeros(6, np.float32))
    raises(TypeError, r"^Expected an integer array of N ids for group_ids but received float32$", step.run, rewards, z, group_ids=torch.zeros(6))
    # outputs
    raises(ValueError, r"^Expected 'advantages', 'all' or a list of output names .* for outputs but received 'everything'$", step.run, rewards, z, group_size=3, outputs="everything")
    raises(ValueError, r"^Expected one of .* for outputs\[1\] but received 'deltaS'$", step.run, rewards, z, group_size=3, outputs=["lambda", "deltaS"])


def test_non_contiguous_inputs_name_the_argument_and_say_contiguous() -> None:
    rewards, z = batch(np.random.default_rng(3))
    step = otca.AdvantageStep()
    m = raises(ValueError, r"for latents but received a non-contiguous", step.run, rewards, z[:, :, ::2], group_size=3)
    assert ".contiguous()" in m
    t = torch.from_numpy(z).transpose(0, 1).contiguous().transpose(0, 1)
    raises(ValueError, r"\.contiguous\(\).* for latents but received a non-contiguous torch\.Tensor", step.run, torch.from_numpy(rewards), t, group_size=3)
    raises(ValueError, r"for rewards but received a non-contiguous", step.run, np.asfortranarray(np.ones((6, 3), np.float32)), z, group_size=3)
    states = [z[:, j, ::2] for j in range(z.shape[1])]  # samples not contiguous rows
    raises(ValueError, r"for latents\[0\] but received a non-contiguous", step.run, rewards, states, group_size=3)


def test_sample_strided_views_are_read_in_place() -> None:
    """Samples that are contiguous rows at any stride (z[:, j] of a stacked array, torch's unbind(1),
    a slice of the samples) are read in place through the ABI's sample stride: the same bits."""
    rewards, z = batch(np.random.default_rng(31), N=6, T=4, D=16)
    step = otca.AdvantageStep()
    want = step.run(rewards, z, group_size=3)
    assert np.array_equal(step.run(rewards, [z[:, j] for j in range(5)], group_size=3), want)
    tz = torch.from_numpy(z)
    assert np.array_equal(step.run(torch.from_numpy(rewards), list(tz.unbind(1)), group_size=3).numpy(), want)
    big = np.zeros((12, 5, 16), np.float32)
    big[::2] = z
    assert np.array_equal(step.run(rewards, big[::2], group_size=3), want)  # every other sample of a larger batch
    mixed = [z[:, 0].copy()] + [z[:, j] for j in range(1, 5)]
    raises(ValueError, r"^Expected the sample stride of latents\[0\] \(contiguous; call \.contiguous\(\)\) for latents\[1\] but received sample stride 80$",
           step.run, rewards, mixed, group_size=3)


def test_list_states_must_agree() -> None:
    rewards, z = batch(np.random.default_rng(4))
    states = [np.ascontiguousarray(z[:, j]) for j in range(z.shape[1])]
    step = otca.AdvantageStep()
    bad = states[:2] + [states[2][:, :8].copy()] + states[3:]
    raises(ValueError, r"^Expected shape \[6, 16\] \(as latents\[0\]\) for latents\[2\] but received shape \[6, 8\]$", step.run, rewards, bad, group_size=3)
    bad = states[:1] + [states[1].astype(np.float16)] + states[2:]
    raises(TypeError, r"^Expected the dtype of latents\[0\] \(float32\) for latents\[1\] but received float16$", step.run, rewards, bad, group_size=3)
    raises(ValueError, r"^Expected a list of T\+1 >= 2 arrays .* for latents but received a list of 1$", step.run, rewards, states[:1], group_size=3)


def test_device_option_on_host_inputs() -> None:
    rewards, z = batch(np.random.default_rng(5))
    if torch.cuda.is_available():
        pytest.skip("a CUDA machine: the GPU tests cover device requests")
    step = otca.AdvantageStep(device="cuda")
    raises(ValueError, r"^Expected a CUDA tensor on cuda:0 \(device='cuda'; pass \.to\('cuda:0'\)\) for latents but received numpy\.ndarray", step.run, rewards, z, group_size=3)


def test_non_finite_inputs_are_the_cores_errors_in_python_names() -> None:
    rewards, z = batch(np.random.default_rng(6))
    step = otca.AdvantageStep()
    z[3, 1, 5] = np.nan
    raises(ValueError, r"^Expected finite values for latents but received NaN at sample 3", step.run, rewards, z, group_size=3)
    z[3, 1, 5] = 0
    rewards[4, 2] = np.inf
    raises(ValueError, r"for rewards but received Infinity at sample 4, objective 2$", step.run, rewards, z, group_size=3)
    q = np.full(6, 9, np.float32)
    raises(ValueError, r"for trajectory_score but received 9 at sample 0$", step.objective_credit, np.ones((6, 3), np.float32), q, group_size=3)


def test_per_step_rewards_of_another_t() -> None:
    """Rewards [N, T, K] need the latents' T (the Node package's words); an objective run takes any T."""
    _, z = batch(np.random.default_rng(9), N=4, T=2, D=8)
    raises(ValueError, r"^Expected 2 steps \(T as in latents\) for rewards but received shape \[4, 3, 3\]$",
           otca.advantages, np.zeros((4, 3, 3), np.float32), z, group_size=2)
    assert otca.advantages(np.zeros((4, 2, 3), np.float32), z, group_size=2).shape == (4, 2)
    out = otca.objective_credit(np.ones((4, 5, 3), np.float32), np.zeros(4, np.float32), group_size=2)
    assert out["fused"].shape == (4, 5) and out["coefficients"].shape == (4, 5, 3) and out["exploration"].shape == (4,)
    bad = np.zeros((4, 2, 3), np.float32)
    bad[3, 1, 2] = np.nan
    raises(ValueError, r"for rewards but received NaN at sample 3, step 1, objective 2$", otca.advantages, bad, z, group_size=2)
    t = otca.trajectory_credit(z)
    raises(ValueError, r"^Expected shape \[4, 2\] \(as trajectory\['step_weights'\]\) for objective\['fused'\]",
           otca.combine_credit, t, {"fused": np.zeros((4, 3), np.float32)})
    raises(ValueError, r"^Expected N \(4\) rows as in latents for rewards but received shape \[3, 2, 3\]$",
           otca.advantages, np.zeros((3, 2, 3), np.float32), z, group_size=2)

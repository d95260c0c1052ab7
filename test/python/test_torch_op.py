"""otca.torch: the custom op gives the eager call's bits, and torch.compile(fullgraph=True) of a
trainer function that calls it compiles to one graph (inductor on the CPU) with the same result."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import otca
import otca.torch as otorch
from conftest import batch, same_bits


def test_the_op_gives_the_eager_bits() -> None:
    rewards, z = batch(np.random.default_rng(21), N=6, T=4, D=12, K=2)
    r, tz = torch.from_numpy(rewards), torch.from_numpy(z).to(torch.bfloat16)
    want = otca.advantages(r, tz, group_size=3, min_weight=0.3)
    assert same_bits(otorch.advantages(r, tz, group_size=3, min_weight=0.3), want)
    assert same_bits(otorch.advantages(r, list(tz.unbind(1)), group_size=3, min_weight=0.3), want)
    ids = [0, 1, 0, 1, 2, 2]
    assert same_bits(otorch.advantages(r, tz, group_ids=ids), otca.advantages(r, tz, group_ids=ids))
    with pytest.raises(ValueError, match=r"for min_weight but received 3$"):
        otorch.advantages(r, tz, group_size=3, min_weight=3)


def test_torch_compile_fullgraph() -> None:
    rewards, z = batch(np.random.default_rng(22), N=8, T=5, D=16, K=3)
    r, tz = torch.from_numpy(rewards), torch.from_numpy(z)
    log_ratio = torch.randn(8, 5, generator=torch.Generator().manual_seed(0))

    def loss_fn(rewards: torch.Tensor, latents: torch.Tensor, log_ratio: torch.Tensor) -> torch.Tensor:
        adv = otorch.advantages(rewards, latents, group_size=4, preset="flow-grpo", temporal="tcd")
        ratio = log_ratio.exp()
        return -torch.minimum(adv * ratio, adv * ratio.clamp(0.8, 1.2)).mean()

    torch._dynamo.reset()
    compiled = torch.compile(loss_fn, fullgraph=True)
    got = compiled(r, tz, log_ratio)
    want = loss_fn(r, tz, log_ratio)
    assert torch.equal(got, want) or torch.allclose(got, want, rtol=1e-6, atol=0)
    # the op's own output, compiled, is the eager bits
    adv_fn = torch.compile(lambda a, b: otorch.advantages(a, b, group_size=4) * 1.0, fullgraph=True)
    assert same_bits(adv_fn(r, tz), otca.advantages(r, tz, group_size=4))

"""otca as a PyTorch custom op (``otca::advantages``), for trainers compiled with ``torch.compile``.

``otca.torch.advantages`` has the signature of :func:`otca.advantages` and runs through
``torch.library.custom_op`` with a fake (meta) implementation, so ``torch.compile(fullgraph=True)``
of a function that calls it keeps one graph: the op is opaque to the compiler, its output shape
[N, T] float32 on the device of ``rewards`` is known without running it. Imported only when used
(``import otca.torch``); needs torch >= 2.4.

The advantages are constants of the loss (they come from rewards, never differentiated through):
the op has no autograd formula, and its inputs are read without their autograd history."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Sequence, Union

import torch

from ._options import resolve_options
from ._step import AdvantageStep, step_for

__all__ = ["advantages"]

_BY_TEXT: Dict[str, AdvantageStep] = {}


def _step(options_json: str) -> AdvantageStep:
    step = _BY_TEXT.get(options_json)
    if step is None:
        step = _BY_TEXT[options_json] = step_for(json.loads(options_json))
    return step


@torch.library.custom_op("otca::advantages", mutates_args=())
def _advantages_op(
    rewards: torch.Tensor,
    latents: List[torch.Tensor],
    stacked: bool,
    group_size: int,
    group_ids: Optional[torch.Tensor],
    options: str,
    check: bool,
) -> torch.Tensor:
    step = _step(options)
    lat: Any = latents[0].detach() if stacked else [t.detach() for t in latents]
    return step.run(
        rewards.detach(),
        lat,
        group_size=group_size if group_ids is None else None,
        group_ids=group_ids,
        check=check,
    )


@_advantages_op.register_fake
def _advantages_fake(
    rewards: torch.Tensor,
    latents: List[torch.Tensor],
    stacked: bool,
    group_size: int,
    group_ids: Optional[torch.Tensor],
    options: str,
    check: bool,
) -> torch.Tensor:
    T = latents[0].shape[1] - 1 if stacked else len(latents) - 1
    return rewards.new_empty((rewards.shape[0], T), dtype=torch.float32)


@torch.compiler.assume_constant_result
def _options_text(options: Any) -> str:
    """The options checked and as the op's string argument; a constant of the traced graph (run once,
    at trace time, so the checks' errors come from there and nothing of them is traced)."""
    given = dict(options)
    resolve_options(given)
    return json.dumps(given, sort_keys=True)


def advantages(
    rewards: torch.Tensor,
    latents: Union[torch.Tensor, Sequence[torch.Tensor]],
    *,
    group_size: Optional[int] = None,
    group_ids: Any = None,
    check: bool = False,
    **options: Any,
) -> torch.Tensor:
    """:func:`otca.advantages` on torch tensors, as the custom op ``otca::advantages``.

    Options are checked here (when tracing, at trace time), with the messages of
    :class:`otca.AdvantageStep`. ``group_ids`` may be a tensor, or a list (made a CPU int64 tensor).

    Example::

        @torch.compile(fullgraph=True)
        def loss_fn(rewards, latents, log_ratio):
            adv = otca.torch.advantages(rewards, latents, group_size=12)
            return -(adv * log_ratio.exp()).mean()
    """
    text = _options_text(tuple(sorted(options.items())))
    stacked = isinstance(latents, torch.Tensor)
    states = [latents] if stacked else list(latents)
    ids = None
    if group_ids is not None:
        ids = group_ids if isinstance(group_ids, torch.Tensor) else torch.as_tensor(group_ids, dtype=torch.int64)
    elif group_size is None:
        raise TypeError("Expected exactly one of group_size and group_ids but received neither")
    return _advantages_op(rewards, states, stacked, int(group_size or 0), ids, text, bool(check))

"""The README's Python example runs as written (its first python block under "From Python and
PyTorch"), and gives [N, T] advantages."""

from __future__ import annotations

import re

import numpy as np

from conftest import ROOT


def test_the_readme_python_example_runs_as_written() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## From Python and PyTorch"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - the documented example itself
    assert scope["adv"].shape == (12, 16) and scope["adv"].dtype == np.float32
    assert set(scope["out"]) == {"advantages", "similarity", "delta_s", "step_weights", "raw_weights", "objective_advantages",
                                 "coefficients", "trajectory_score", "exploration", "lambda", "fused"}

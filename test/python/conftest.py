"""Shared fixtures of the Python suite: the checkout's package (python/) and library, the Node
package's results for parity (node_parity.mjs over the built dist/), random inputs."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if os.environ.get("OTCA_TEST_INSTALLED") != "1":  # the device check tests the installed wheel instead
    sys.path.insert(0, str(ROOT / "python"))

import otca  # noqa: E402

NODE = shutil.which("node")


def has_cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available() and otca.backend_info()["cuda_usable"]
    except Exception:  # noqa: BLE001
        return False


needs_node = pytest.mark.skipif(NODE is None or not (ROOT / "dist" / "lib" / "index.js").is_file(),
                                reason="needs node and the built dist/ (npm test builds it)")
needs_cuda = pytest.mark.skipif(not has_cuda(), reason="no usable CUDA device on this machine (GPU tests run on the device machine: scripts/gpu-python-check.sh)")


def encode(a: np.ndarray) -> Dict[str, Any]:
    """An array for node_parity.mjs: dtype name, shape, base64 of its bytes (16-bit floats as bits)."""
    dtype = {"float32": "float32", "float64": "float64", "float16": "float16", "bfloat16": "bfloat16"}[str(a.dtype)]
    return {"dtype": dtype, "shape": list(a.shape), "data": base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()}


def decode(spec: Dict[str, Any]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(spec["data"]), dtype=np.float32).reshape(spec["shape"])


def node_results(cases: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The Node package's results for the cases (node_parity.mjs, CPU backend)."""
    with tempfile.TemporaryDirectory() as d:
        src, dst = Path(d) / "in.json", Path(d) / "out.json"
        src.write_text(json.dumps(cases))
        subprocess.run([NODE, str(ROOT / "test" / "python" / "node_parity.mjs"), str(src), str(dst)], check=True, cwd=ROOT)
        return json.loads(dst.read_text())


def same_bits(x: Any, y: Any) -> bool:
    a = np.asarray(x.cpu() if hasattr(x, "cpu") else x, dtype=np.float32)
    b = np.asarray(y.cpu() if hasattr(y, "cpu") else y, dtype=np.float32)
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


def batch(rng: np.random.Generator, N: int = 6, T: int = 4, D: int = 16, K: int = 3):
    """Random rewards [N, K] float32 and latents [N, T+1, D] float32 along a noisy path."""
    rewards = rng.normal(size=(N, K)).astype(np.float32)
    z = np.cumsum(rng.normal(size=(N, T + 1, D)), axis=1).astype(np.float32)
    return rewards, z

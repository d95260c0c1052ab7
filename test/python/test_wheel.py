"""The wheel: `npm run pack:wheel -- --reuse --out DIR` writes one py3-none-manylinux wheel bundling
the library; a fresh virtual environment installs it offline (pip install --no-index) and, away from
the checkout, gets the Node package's bits on a case. Prints the wheel's size and the install time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

from conftest import NODE, ROOT, encode, needs_node, node_results

SCRIPT = """
import json, sys, numpy as np, otca
case = json.load(open(sys.argv[1]))
r = np.frombuffer(bytes.fromhex(case["rewards"]), np.float32).reshape(case["rshape"])
z = np.frombuffer(bytes.fromhex(case["latents"]), np.float32).reshape(case["zshape"])
adv = otca.advantages(r, z, group_size=case["G"], min_weight=0.3)
print(json.dumps({"library": otca.backend_info()["library"], "bits": adv.view(np.uint32).tolist()}))
"""


@needs_node
def test_the_wheel_installs_offline_in_a_fresh_venv_and_gives_the_node_bits(tmp_path) -> None:
    r = subprocess.run([NODE, str(ROOT / "scripts" / "pack-wheel.mjs"), "--reuse", "--out", str(tmp_path / "dist"), "--python", sys.executable],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    info = json.loads(r.stdout.strip().splitlines()[-1].removeprefix("OTCA_WHEEL "))
    wheels = os.listdir(tmp_path / "dist")
    assert wheels == [os.path.basename(info["wheel"])], wheels
    assert info["platform"].startswith("manylinux_2_") and info["wheel"].endswith(f"-py3-none-{info['platform']}.whl")
    names = zipfile.ZipFile(info["wheel"]).namelist()
    assert "otca/_lib/libotca.so" in names and "otca/py.typed" in names and "otca/_schema.py" in names

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    if subprocess.run([py, "-c", "import numpy"], capture_output=True).returncode != 0:
        subprocess.run([py, "-m", "pip", "install", "--quiet", "--retries", "1", "numpy"], check=True)
    t0 = time.perf_counter()
    subprocess.run([py, "-m", "pip", "install", "--quiet", "--no-index", info["wheel"]], check=True)
    install_s = time.perf_counter() - t0
    print(f"\nwheel {os.path.basename(info['wheel'])}: {info['bytes'] / 2**20:.2f} MiB; fresh-venv install {install_s:.1f} s")

    rng = np.random.default_rng(41)
    rewards = rng.normal(size=(6, 3)).astype(np.float32)
    z = np.cumsum(rng.normal(size=(6, 5, 20)), axis=1).astype(np.float32)
    case = {"rewards": rewards.tobytes().hex(), "rshape": [6, 3], "latents": z.tobytes().hex(), "zshape": [6, 5, 20], "G": 3}
    (tmp_path / "case.json").write_text(json.dumps(case))
    (tmp_path / "check.py").write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OTCA_LIBRARY")}
    out = subprocess.run([py, str(tmp_path / "check.py"), str(tmp_path / "case.json")], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True)
    got = json.loads(out.stdout)
    assert got["library"].startswith(str(venv)), got["library"]  # the bundled copy, not the checkout's
    want = node_results([{"kind": "advantages", "options": {"minWeight": 0.3}, "rewards": encode(rewards), "latents": encode(z), "groupSize": 3}])[0]
    want_bits = np.frombuffer(__import__("base64").b64decode(want["advantages"]["data"]), np.uint32).tolist()
    assert got["bits"] == [want_bits[i : i + 4] for i in range(0, 24, 4)]

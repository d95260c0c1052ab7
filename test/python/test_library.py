"""Loading the library: backend_info names the file, and a package with no library to load says
where it looked and what to run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import otca
from conftest import ROOT


def test_backend_info_names_the_loaded_library() -> None:
    info = otca.backend_info()
    assert info["library"] == str(ROOT / "build" / "Release" / "libotca.so") or os.environ.get("OTCA_LIBRARY")
    assert info["version"] and info["cpu_threads"] >= 1
    assert isinstance(info["cuda_compiled"], bool) and isinstance(info["cuda_usable"], bool)
    if not info["cuda_usable"]:
        assert info["cuda_reason"] and info["devices"] == []


def test_no_library_lists_where_it_looked_and_what_to_run(tmp_path) -> None:
    shutil.copytree(ROOT / "python" / "otca", tmp_path / "otca", ignore=shutil.ignore_patterns("_lib", "__pycache__"))
    env = {**os.environ, "OTCA_LIBRARY": str(tmp_path / "nowhere.so"), "PYTHONPATH": str(tmp_path)}
    code = "import otca\ntry:\n    otca.AdvantageStep()\nexcept OSError as e:\n    print(e)\n"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert "otca could not load its library libotca.so" in out
    assert f"{tmp_path / 'nowhere.so'} (the environment variable OTCA_LIBRARY): not found" in out
    assert f"{tmp_path / 'otca' / '_lib' / 'libotca.so'} (the copy bundled in the package): not found" in out
    assert "npm run build" in out and "pip install" in out

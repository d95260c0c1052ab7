"""The package is typed (py.typed, hints on every public name): mypy finds no error in it, and every
public function of the package's modules has annotations."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import otca
from conftest import ROOT


def test_mypy_finds_no_error() -> None:
    pytest.importorskip("mypy")
    r = subprocess.run([sys.executable, "-m", "mypy", "--ignore-missing-imports", "--no-incremental", "otca"],
                       cwd=ROOT / "python", capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_public_name_has_hints() -> None:
    import otca.distributed
    import otca.torch

    assert (ROOT / "python" / "otca" / "py.typed").is_file()
    for module in (otca, otca.torch, otca.distributed):
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            targets = [obj] if inspect.isfunction(obj) else [m for k, m in vars(obj).items() if inspect.isfunction(m) and not k.startswith("_")] if inspect.isclass(obj) else []
            for fn in targets:
                hints = fn.__annotations__
                assert "return" in hints, f"{module.__name__}.{name}: {fn.__name__} has no return hint"
                for p in inspect.signature(fn).parameters.values():
                    if p.name != "self":
                        assert p.name in hints, f"{module.__name__}.{name}: {fn.__name__}({p.name}) has no hint"

"""Build hook of the otca wheel: bundles the core's shared library (libotca.so) into otca/_lib/.

Which library, in order: the environment variable OTCA_LIBRARY (scripts/pack-wheel.mjs sets it), the
checkout's build/Release/libotca.so (what `npm run build` made), else one built here with CMake
(build/python). It says which. The wheel is tagged py3-none-<platform>: ctypes binds the library at
run time, so one wheel serves every CPython >= 3.9; OTCA_WHEEL_PLATFORM (e.g.
manylinux_2_34_x86_64, from the symbol scan of scripts/pack-wheel.mjs) overrides the platform."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any, Dict

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

LIBRARY = "libotca.so"


def _say(text: str) -> None:
    print(f"[otca build] {text}", file=sys.stderr, flush=True)


class OtcaBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: Dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        platform = os.environ.get("OTCA_WHEEL_PLATFORM") or sysconfig.get_platform().replace("-", "_").replace(".", "_")
        build_data["pure_python"] = False
        build_data["tag"] = f"py3-none-{platform}"
        if version == "editable":
            _say("editable install: the package loads the checkout's build/Release/libotca.so (npm run build)")
            return
        library = self._library()
        build_data["force_include"][str(library)] = f"otca/_lib/{LIBRARY}"

    def _library(self) -> Path:
        root = Path(self.root).resolve().parent  # python/ -> the checkout
        env = os.environ.get("OTCA_LIBRARY")
        if env:
            path = Path(env)
            if not path.is_file():
                raise RuntimeError(f"OTCA_LIBRARY={env} is not a file")
            _say(f"bundling {path} (OTCA_LIBRARY)")
            return path
        built = root / "build" / "Release" / LIBRARY
        if built.is_file():
            _say(f"bundling {built}, the library `npm run build` made")
            return built
        if not (root / "CMakeLists.txt").is_file():
            raise RuntimeError(
                f"no {LIBRARY} to bundle: build from an otca checkout (python/ inside it), or set OTCA_LIBRARY"
            )
        cmake = shutil.which("cmake")
        if cmake is None:
            raise RuntimeError(f"no {built} (run `npm run build` in the checkout) and no cmake to build it here")
        out = root / "build" / "python"
        _say(f"no {built}: building it with CMake in {out}")
        subprocess.run([cmake, "-S", str(root), "-B", str(out), "-DCMAKE_BUILD_TYPE=Release"], check=True)
        subprocess.run([cmake, "--build", str(out), "--parallel", "--target", "otca_capi"], check=True)
        found = sorted(out.rglob(LIBRARY))
        if not found:
            raise RuntimeError(f"the CMake build in {out} wrote no {LIBRARY}")
        _say(f"bundling {found[0]}, built with CMake")
        return found[0]

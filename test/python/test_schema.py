"""The generated option schema is current with lib/options.ts, and agrees with the library's own
tables (its native options by name and kind, its output order)."""

from __future__ import annotations

import ctypes
import subprocess

from conftest import NODE, ROOT, needs_node

from otca import _native as n
from otca._schema import OPTIONS, OUTPUT_ABI_NAMES


@needs_node
def test_generated_schema_and_table_are_current() -> None:
    r = subprocess.run([NODE, str(ROOT / "scripts" / "python-options.mjs"), "--check"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_native_options_match_the_library() -> None:
    lib = n.library()
    native = {}
    i = 0
    while True:
        name, kind = ctypes.c_char_p(), ctypes.c_int32()
        if lib.otca_option_info(i, ctypes.byref(name), ctypes.byref(kind)) != n.OK:
            break
        native[name.value.decode()] = kind.value
        i += 1
    ours = {spec["abi"]: spec["kind"] for spec in OPTIONS.values() if spec["native"]}
    expected_kind = {"enum": n.OPTION_ENUM, "number": n.OPTION_NUMBER, "choice": n.OPTION_NUMBER, "factors": n.OPTION_FACTORS}
    assert set(native) == set(ours)
    for abi, kind in ours.items():
        assert native[abi] == expected_kind[kind], abi


def test_output_indices_match_the_library() -> None:
    lib = n.library()
    for name, index in n.OUTPUT_INDEX.items():
        assert lib.otca_output_name(index).decode() == OUTPUT_ABI_NAMES[name]
    assert lib.otca_output_name(n.OUTPUT_COUNT) is None

"""The ctypes declarations of raftoral/_native.py match include/raftoral.h (no generator here,
so a test keeps them in step)."""

from __future__ import annotations

import re
from pathlib import Path

import raftoral
from raftoral import _errors, _native

HEADER = Path(__file__).resolve().parents[2] / "ffi-c-api" / "include" / "raftoral.h"


def _header() -> str:
    text = HEADER.read_text()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def test_every_function_is_declared_with_its_arity() -> None:
    declared = {
        name: 0 if params.strip() == "void" else params.count(",") + 1
        for name, params in re.findall(r"RAFTORAL_API[^;(]*?\b(raftoral_\w+)\s*\(([^)]*)\)\s*;", _header(), flags=re.S)
    }
    assert len(declared) > 20
    ours = {name: len(argtypes) for name, (_restype, argtypes) in _native._SIGNATURES.items()}
    assert ours == declared


def test_constants_match() -> None:
    values = dict(re.findall(r"\b(RAFTORAL_(?:OK|ERR_\w+|MODE_\w+))\s*=\s*(\d+)", _header()))
    assert len(values) == 27
    for name, value in values.items():
        assert getattr(_native, name.removeprefix("RAFTORAL_")) == int(value), name
    abi = re.search(r"#define RAFTORAL_ABI_VERSION (\d+)", HEADER.read_text())
    assert abi is not None and int(abi.group(1)) == _native.ABI_VERSION


def test_every_status_code_has_its_exception_class() -> None:
    codes = {name: value for name, value in vars(_native).items() if name.startswith("ERR_")}
    assert len(codes) == 24
    for name, code in codes.items():
        error = _errors.error_from(code, "message", "detail")
        assert type(error) is not raftoral.RaftoralError, name
        assert error.code == code, name
        assert getattr(raftoral, type(error).__name__) is type(error), name

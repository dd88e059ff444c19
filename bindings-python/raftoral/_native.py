"""The raw C ABI of ``libraftoral.so`` (``ffi-c-api/include/raftoral.h``), declared with ctypes.

This module only finds and loads the library and declares every function, struct, constant
and callback type of the header; the Pythonic classes live in the other modules. Nothing here
checks status codes or frees anything: that is the callers' job.

``ctypes.CDLL`` releases the GIL for the duration of every call, so a thread blocked in the
engine does not stop Python threads, and the engine's threads can call back into Python.
"""

from __future__ import annotations

import ctypes
import functools
import os
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char_p,
    c_int32,
    c_int64,
    c_size_t,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path

#: The ABI version this module was written for (``RAFTORAL_ABI_VERSION`` of raftoral.h).
ABI_VERSION = 1

# ---- raftoral_status_enum (io.raftoral.common.ErrorCode; ErrorCodeTablesTest checks them) ----
OK = 0
ERR_INVALID_ARGUMENT = 1
ERR_INVALID_HANDLE = 2
ERR_NOT_INITIALIZED = 3
ERR_SHUT_DOWN = 4
ERR_BUFFER_TOO_SMALL = 5
ERR_NOT_FOUND = 6
ERR_ALREADY_EXISTS = 7
ERR_NOT_REGISTERED = 8
ERR_ALREADY_REGISTERED = 9
ERR_TIMEOUT = 10
ERR_WORKFLOW_FAILED = 11
ERR_WORKFLOW_TERMINATED = 12
ERR_PAYLOAD_TOO_LARGE = 13
ERR_UNAVAILABLE = 14
ERR_NODE_CLOSED = 15
ERR_ABORTED = 16
ERR_CALLBACK_FAILED = 17
ERR_JVM = 18
ERR_INTERNAL = 19
ERR_FORKED = 20
ERR_NODE_REMOVED = 21
ERR_CODEC = 22
ERR_UNAUTHENTICATED = 23
ERR_PERMISSION_DENIED = 24

# ---- raftoral_execution_mode_enum ----
MODE_HOT_STANDBY = 0
MODE_OWNER_ONLY = 1


class Buf(Structure):
    """``raftoral_buf_t``: bytes owned by the caller, freed with ``raftoral_buf_free``."""

    _fields_ = [("data", POINTER(c_uint8)), ("len", c_size_t)]


class InitOptions(Structure):
    """``raftoral_init_options_t``."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("java_home", c_char_p),
        ("class_path", c_char_p),
        ("jvm_options", POINTER(c_char_p)),
        ("jvm_options_len", c_size_t),
    ]


class WorkflowOptions(Structure):
    """``raftoral_workflow_options_t``."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("mode", c_int32),
        ("keep_last_per_key", c_int64),
    ]


# Opaque handles (raftoral_error_t*, raftoral_node_t*, raftoral_ctx_t*, raftoral_output_t*)
# are plain c_void_p; an ``error_out`` parameter is a pointer to one.
ErrorOut = POINTER(c_void_p)

#: ``void (*)(void *env, raftoral_ctx_t *ctx, const uint8_t *input, size_t input_len, raftoral_output_t *output)``
WORKFLOW_FN = CFUNCTYPE(None, c_void_p, c_void_p, POINTER(c_uint8), c_size_t, c_void_p)
#: ``void (*)(void *env, raftoral_output_t *output)``
COMPUTE_FN = CFUNCTYPE(None, c_void_p, c_void_p)
#: ``void (*)(void *env)``
FINALIZER_FN = CFUNCTYPE(None, c_void_p)

# Payload pointers (``const uint8_t *``) are declared c_char_p so that ``bytes`` pass as is;
# the length always travels beside them, so embedded NULs are fine.
_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "raftoral_abi_version": (c_uint32, []),
    # errors and buffers
    "raftoral_error_code": (c_int32, [c_void_p]),
    "raftoral_error_message": (c_char_p, [c_void_p]),
    "raftoral_error_detail": (c_char_p, [c_void_p]),
    "raftoral_error_free": (None, [c_void_p]),
    "raftoral_buf_free": (None, [POINTER(Buf)]),
    # library lifetime
    "raftoral_init": (c_int32, [POINTER(InitOptions), ErrorOut]),
    "raftoral_shutdown": (c_int32, [ErrorOut]),
    # nodes
    "raftoral_node_create": (c_int32, [c_char_p, POINTER(c_void_p), ErrorOut]),
    "raftoral_node_register_workflow": (
        c_int32,
        [c_void_p, c_char_p, c_uint32, c_int32, WORKFLOW_FN, c_void_p, FINALIZER_FN, ErrorOut],
    ),
    "raftoral_node_register_workflow_ex": (
        c_int32,
        [c_void_p, c_char_p, c_uint32, POINTER(WorkflowOptions), WORKFLOW_FN, c_void_p, FINALIZER_FN, ErrorOut],
    ),
    "raftoral_node_start": (c_int32, [c_void_p, ErrorOut]),
    "raftoral_node_id": (c_int32, [c_void_p, POINTER(c_uint64), ErrorOut]),
    "raftoral_node_api_address": (c_int32, [c_void_p, c_void_p, c_size_t, POINTER(c_size_t), ErrorOut]),
    "raftoral_node_http_address": (c_int32, [c_void_p, c_void_p, c_size_t, POINTER(c_size_t), ErrorOut]),
    "raftoral_node_close": (c_int32, [c_void_p, ErrorOut]),
    # workflows
    "raftoral_workflow_start": (
        c_int32,
        [c_void_p, c_char_p, c_uint32, c_char_p, c_size_t, c_char_p, POINTER(Buf), ErrorOut],
    ),
    "raftoral_workflow_await": (c_int32, [c_void_p, c_char_p, c_int64, POINTER(Buf), ErrorOut]),
    "raftoral_workflow_describe": (c_int32, [c_void_p, c_char_p, POINTER(Buf), ErrorOut]),
    "raftoral_workflow_list": (c_int32, [c_void_p, c_char_p, POINTER(Buf), ErrorOut]),
    "raftoral_workflow_history": (
        c_int32,
        [c_void_p, c_char_p, c_char_p, c_char_p, c_uint32, POINTER(Buf), ErrorOut],
    ),
    "raftoral_workflow_terminate": (c_int32, [c_void_p, c_char_p, c_char_p, POINTER(Buf), ErrorOut]),
    # inside a workflow
    "raftoral_ctx_checkpoint": (c_int32, [c_void_p, c_char_p, c_char_p, c_size_t, POINTER(Buf), ErrorOut]),
    "raftoral_ctx_checkpoint_compute": (c_int32, [c_void_p, c_char_p, COMPUTE_FN, c_void_p, POINTER(Buf), ErrorOut]),
    "raftoral_ctx_is_terminated": (c_int32, [c_void_p, POINTER(c_int32), ErrorOut]),
    "raftoral_ctx_is_owner": (c_int32, [c_void_p, POINTER(c_int32), ErrorOut]),
    "raftoral_ctx_workflow_id": (c_int32, [c_void_p, c_void_p, c_size_t, POINTER(c_size_t), ErrorOut]),
    "raftoral_output_set": (c_int32, [c_void_p, c_char_p, c_size_t, ErrorOut]),
    "raftoral_output_fail": (c_int32, [c_void_p, c_char_p, c_char_p, ErrorOut]),
}

LIBRARY_NAME = "libraftoral.so"


class LibraryError(RuntimeError):
    """The library could not be found or loaded, or is of another ABI version."""


def candidates() -> list[Path]:
    """Where the library is looked for, in order."""
    found: list[Path] = []
    env = os.environ.get("RAFTORAL_LIBRARY")
    if env:
        found.append(Path(env))
    here = Path(__file__).resolve().parent
    found.append(here / "lib" / LIBRARY_NAME)  # a copy bundled into the package
    if (here.parent / "pyproject.toml").is_file():  # a source checkout: <repo>/bindings-python/raftoral/
        found.append(here.parent.parent / "ffi-c-api" / "target" / "native" / LIBRARY_NAME)
    return found


@functools.cache
def lib() -> ctypes.CDLL:
    """Loads the library once, declares every signature, and checks the ABI version."""
    tried = candidates()
    for path in tried:
        if path.is_file():
            try:
                dll = ctypes.CDLL(str(path))
            except OSError as e:
                raise LibraryError(f"cannot load {path}: {e}") from e
            break
    else:
        raise LibraryError(
            f"{LIBRARY_NAME} not found; tried "
            + ", ".join(str(p) for p in tried)
            + ". Build the ffi-c-api module, or set RAFTORAL_LIBRARY to the library's path."
        )
    for name, (restype, argtypes) in _SIGNATURES.items():
        fn = getattr(dll, name)
        fn.restype = restype
        fn.argtypes = argtypes
    version = dll.raftoral_abi_version()
    if version != ABI_VERSION:
        raise LibraryError(f"{path} has C ABI version {version}; this binding needs version {ABI_VERSION}")
    return dll

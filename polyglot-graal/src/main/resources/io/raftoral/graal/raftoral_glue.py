# The built-in module "raftoral" of Python workflows run inside a Raftoral node by polyglot-graal
# (README.md). The node evaluates this file first in every Python context and calls
# _raftoral_install(host, module_dir) once: it puts the module `raftoral` into sys.modules, guards
# the clock and randomness, and returns what the node calls. The host object stays in closures
# here; workflow code reaches the node only through `ctx`.
#
# The API is the one of the `raftoral` package's WorkflowContext (bindings-python), so a workflow
# function runs unchanged embedded, as a worker, or here.


def _raftoral_install(host, module_dir):
    import builtins
    import datetime
    import json
    import os
    import random
    import sys
    import time
    import types
    import uuid

    # The functions this module uses at run time, taken now: a run that monkeypatches json must not
    # change how later runs talk to the node (such a run's context is discarded anyway).
    json_dumps, json_loads = json.dumps, json.loads

    raftoral = types.ModuleType("raftoral", "Durable workflows run inside a Raftoral node (polyglot-graal).")

    class RaftoralError(Exception):
        """An error of the node's API; `code` is a name of the error-code table."""

        def __init__(self, code, message):
            super().__init__(message)
            self.code = code

    class InvalidArgument(RaftoralError, ValueError):
        pass

    class PayloadTooLarge(InvalidArgument):
        pass

    class CodecError(RaftoralError, ValueError):
        pass

    class WorkflowTerminated(RaftoralError):
        """The workflow was terminated: let it propagate."""

    class WorkflowFailed(RaftoralError):
        pass

    class DeterminismError(Exception):
        """The clock or randomness outside checkpoint_compute."""

    errors = {
        "INVALID_ARGUMENT": InvalidArgument,
        "PAYLOAD_TOO_LARGE": PayloadTooLarge,
        "CODEC": CodecError,
        "WORKFLOW_TERMINATED": WorkflowTerminated,
        "WORKFLOW_FAILED": WorkflowFailed,
    }

    registry = []
    modes = ("hot_standby", "owner_only")

    def workflow(name, version, *, mode="hot_standby", keep_last_per_key=0):
        """Declares a workflow type implemented by the decorated function fn(ctx, input)."""
        if not isinstance(name, str) or not name:
            raise TypeError(f"workflow name must be a non-empty string, got {name!r}")
        if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= 2147483647:
            raise TypeError(f"workflow {name}: version must be an integer >= 1, got {version!r}")
        if mode not in modes:
            raise TypeError(f"workflow {name} v{version}: mode must be 'hot_standby' or 'owner_only', got {mode!r}")
        if not isinstance(keep_last_per_key, int) or isinstance(keep_last_per_key, bool) or keep_last_per_key < 0:
            raise TypeError(f"workflow {name} v{version}: keep_last_per_key must be an integer >= 0")

        def register(fn):
            if not callable(fn):
                raise TypeError(f"workflow {name} v{version}: the workflow function is not callable")
            registry.append({"name": name, "version": version, "mode": mode, "keepLastPerKey": keep_last_per_key,
                             "fn": fn})
            return fn

        return register

    def encode(value, what):
        try:
            return json_dumps(value, allow_nan=False, separators=(",", ":"), ensure_ascii=False)
        except (TypeError, ValueError) as e:
            raise CodecError("CODEC", f"{what} is not JSON: {e}") from None

    def raise_error(run):
        err = run.takeError()
        if isinstance(err, str):
            code, _, message = err.partition("\t")
            raise errors.get(code, RaftoralError)(code, message)
        raise err  # a compute function's own exception, as it raised it

    class ReplicatedVar:
        """A value replicated through checkpoints of one key: `get` is local, `set` and `update` commit."""

        __slots__ = ("_ctx", "_key", "_value")

        def __init__(self, ctx, key, initial):
            self._ctx = ctx
            self._key = key
            self._value = ctx.checkpoint(key, initial)

        @property
        def key(self):
            return self._key

        def get(self):
            return self._value

        def set(self, value):
            self._value = self._ctx.checkpoint(self._key, value)
            return self._value

        def update(self, fn):
            return self.set(fn(self._value))

        def __repr__(self):
            return f"ReplicatedVar({self._key!r}, {self._value!r})"

    class WorkflowContext:
        """What a workflow function sees of its run (the contract of SPEC §3)."""

        __slots__ = ("_run", "_type", "_version")

        def __init__(self, run, type_, version):
            self._run = run
            self._type = type_
            self._version = version

        @property
        def workflow_id(self):
            return self._run.workflowId()

        @property
        def type(self):
            return self._type

        @property
        def version(self):
            return self._version

        def is_owner(self):
            return self._run.isOwner()

        def is_terminated(self):
            return self._run.isTerminated()

        def checkpoint(self, key, value):
            if not isinstance(key, str):
                raise InvalidArgument("INVALID_ARGUMENT", f"a checkpoint key must be a str, got {type(key).__name__}")
            out = self._run.checkpoint(key, encode(value, f"the value of {key}"))
            if out is None:
                raise_error(self._run)
            return json_loads(out)

        def checkpoint_compute(self, key, fn):
            if not isinstance(key, str):
                raise InvalidArgument("INVALID_ARGUMENT", f"a checkpoint key must be a str, got {type(key).__name__}")
            if not callable(fn):
                raise InvalidArgument("INVALID_ARGUMENT", f"checkpoint_compute({key!r}, fn): fn is not callable")
            out = self._run.compute(key, lambda: encode(fn(), f"the result of {key}"))
            if out is None:
                raise_error(self._run)
            return json_loads(out)

        def var(self, key, initial):
            return ReplicatedVar(self, key, initial)

        def __repr__(self):
            return f"WorkflowContext({self.workflow_id!r})"

    def host_module(name):
        """The functions a host module of the node offers (HostModule in Java): JSON values in, one out.
        Most may only be called inside a checkpoint_compute function (the module says which)."""
        found = host.hostModule(str(name))
        if found is None:
            raise InvalidArgument("INVALID_ARGUMENT", f"no host module named {name!r} is installed on this node")
        spec = json_loads(found)

        def function(fn_name):
            def call(*args):
                if spec["computeOnly"] and not host.mayReadClock():
                    raise DeterminismError(f"{name}.{fn_name}() acts on the world: call it inside a "
                                           "ctx.checkpoint_compute function, which runs on the owner only and commits its result")
                out = host.callHostFunction(str(name), fn_name, encode(list(args), f"the arguments of {name}.{fn_name}()"))
                if out is None:
                    code, _, message = host.takeError().partition("\t")
                    raise errors.get(code, RaftoralError)(code, message)
                return json_loads(out)

            call.__name__ = fn_name
            return call

        return types.SimpleNamespace(**{fn_name: function(fn_name) for fn_name in spec["functions"]})

    for name, value in {
        "workflow": workflow, "host_module": host_module, "WorkflowContext": WorkflowContext, "ReplicatedVar": ReplicatedVar,
        "RaftoralError": RaftoralError, "InvalidArgument": InvalidArgument, "PayloadTooLarge": PayloadTooLarge,
        "CodecError": CodecError, "WorkflowTerminated": WorkflowTerminated, "WorkflowFailed": WorkflowFailed,
        "DeterminismError": DeterminismError,
    }.items():
        setattr(raftoral, name, value)
    sys.modules["raftoral"] = raftoral
    if module_dir not in sys.path:
        sys.path.insert(0, module_dir)  # a workflow module may import its neighbours

    # Determinism: every member runs the function and a new owner replays it, so the clock and
    # randomness are refused outside a checkpoint_compute function (whose result is committed).
    def guard(what):
        if not host.mayReadClock():
            raise DeterminismError(f"{what} differs between the nodes that run a workflow: call it inside a "
                                   "ctx.checkpoint_compute function, whose result is committed")

    def guarded(what, fn):
        def call(*args, **kwargs):
            guard(what)
            return fn(*args, **kwargs)

        call.__name__ = getattr(fn, "__name__", "guarded")
        call.__doc__ = getattr(fn, "__doc__", None)
        return call

    real_time = types.SimpleNamespace(**{n: getattr(time, n) for n in dir(time) if not n.startswith("__")})
    for name in ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns"):
        setattr(time, name, guarded(f"time.{name}()", getattr(time, name)))
    for name in ("random", "randint", "randrange", "choice", "choices", "shuffle", "sample", "uniform", "getrandbits",
                 "gauss", "normalvariate", "randbytes", "triangular", "betavariate", "expovariate"):
        if hasattr(random, name):
            setattr(random, name, guarded(f"random.{name}()", getattr(random, name)))
    for name in ("uuid1", "uuid4"):
        setattr(uuid, name, guarded(f"uuid.{name}()", getattr(uuid, name)))
    os.urandom = guarded("os.urandom()", os.urandom)

    class GuardedDatetime(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            guard("datetime.now()")
            return super().now(tz)

        @classmethod
        def utcnow(cls):
            guard("datetime.utcnow()")
            return super().utcnow()

        @classmethod
        def today(cls):
            guard("datetime.today()")
            return super().today()

    class GuardedDate(datetime.date):
        @classmethod
        def today(cls):
            guard("date.today()")
            return super().today()

    GuardedDatetime.__name__ = GuardedDatetime.__qualname__ = "datetime"
    GuardedDate.__name__ = GuardedDate.__qualname__ = "date"
    datetime.datetime = GuardedDatetime
    datetime.date = GuardedDate
    # Logging stamps its records with the real clock (it decides nothing a workflow computes).
    import logging
    logging.time = real_time

    def describe():
        return json.dumps([{k: w[k] for k in ("name", "version", "mode", "keepLastPerKey")} | {"exportName": w["name"] + "@" + str(w["version"])}
                           for w in registry])

    def start(export_name, input_json, run):
        w = next(w for w in registry if w["name"] + "@" + str(w["version"]) == export_name)
        result = w["fn"](WorkflowContext(run, w["name"], w["version"]), json_loads(input_json))
        return encode(result, "the workflow's result")

    def error_name(e):
        try:
            message = str(e)
        except Exception:  # noqa: BLE001 - whatever was raised, the run must end with a name
            message = "(an exception that cannot be printed)"
        return [type(e).__name__, message]

    def snapshot_globals():
        """What a run may not change without changing later runs of this context: the workflow
        module's globals, the built-ins, and the modules the workflow module (or `raftoral`)
        refers to. Returns a function that says what changed since, or None. Modules a run
        imports for the first time are fine (importing is the same on every node)."""
        main = sys.modules["__main__"].__dict__
        watched = {"the workflow module": main, "builtins": builtins.__dict__}
        for source in (main, raftoral.__dict__, {"json": json, "time": time, "random": random, "datetime": datetime}):
            for value in list(source.values()):
                if isinstance(value, types.ModuleType):
                    watched.setdefault(value.__name__, value.__dict__)
                else:
                    module = sys.modules.get(getattr(value, "__module__", None) or "")
                    if module is not None and module.__name__ != "__main__":
                        watched.setdefault(module.__name__, module.__dict__)
        taken = {name: dict(d) for name, d in watched.items()}
        strict = ("the workflow module", "builtins")
        plain = (str, int, float, bool, bytes, type(None))

        def changed():
            for name, d in watched.items():
                before = taken[name]
                if name in strict and len(d) != len(before):
                    return f"the globals of {name}"
                for key, value in before.items():
                    now = d.get(key, before)
                    if now is not value and not (type(now) in plain and type(value) is type(now) and now == value):
                        return f"{key} of {name}"
            return None

        return changed

    return describe, start, error_name, snapshot_globals

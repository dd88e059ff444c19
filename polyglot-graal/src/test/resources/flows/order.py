from raftoral import workflow, InvalidArgument
from pricing import price_of


@workflow("order-py", 1)
def order(ctx, order):
    items = order.get("items") or []
    if not items:
        raise ValueError(f"order {order.get('orderId')} has no items")
    stage = ctx.var("stage", "received")
    total = ctx.checkpoint_compute("total", lambda: sum(price_of(i) for i in items))
    reservation = ctx.checkpoint_compute("reservation", lambda: f"rsv-{order['orderId']}")
    stage.set("reserved")
    return {"orderId": order["orderId"], "total": total, "reservation": reservation, "stage": stage.get(),
            "owner": type(ctx.is_owner()).__name__}


@workflow("steps-py", 1)
def steps(ctx, n):
    return [ctx.checkpoint("step", i) for i in range(n)]


@workflow("clock-py", 1)
def clock(ctx, where):
    import time, random, datetime, uuid
    if where == "time":
        return time.time()
    if where == "random":
        return random.random()
    if where == "now":
        return str(datetime.datetime.now())
    if where == "uuid":
        return str(uuid.uuid4())
    t = ctx.checkpoint_compute("now", lambda: time.time() + random.random() * 0 + datetime.datetime.now().year * 0)
    return type(t).__name__


@workflow("spin-py", 1)
def spin(ctx, _):
    ctx.checkpoint("before", 1)
    while True:
        pass


@workflow("spin-in-compute-py", 1)
def spin_in_compute(ctx, _):
    def forever():
        while True:
            pass

    try:
        return ctx.checkpoint_compute("forever", forever)
    except BaseException as e:  # the stop is not Python's to catch
        return "caught " + type(e).__name__


@workflow("sleepy-py", 1)
def sleepy(ctx, _):
    import time
    ctx.checkpoint("before", 1)
    time.sleep(1)
    # Sleeping is not computing: 4 s without a ctx call, over the test's 3 s turn limit.
    return ctx.checkpoint_compute("nap", lambda: (time.sleep(4), "rested")[1])


@workflow("compute-fails-py", 1)
def compute_fails(ctx, _):
    class Boom(Exception):
        pass

    attempts = [0]

    def flaky():
        attempts[0] += 1
        if attempts[0] < 3:
            raise Boom(f"attempt {attempts[0]}")
        return attempts[0]

    while True:
        try:
            return ctx.checkpoint_compute("flaky", flaky)
        except Boom:
            continue


@workflow("bad-key-py", 1)
def bad_key(ctx, _):
    try:
        ctx.checkpoint("", 1)
        return "accepted"
    except InvalidArgument as e:
        return e.code


@workflow("sandbox-py", 1)
def sandbox(ctx, _):
    def attempt(fn):
        try:
            fn()
            return "allowed"
        except Exception:
            return "refused"

    def read_file():
        with open("/etc/hostname") as f:
            return f.read()

    def java():
        import java
        return java.type("java.lang.System")

    def polyglot_eval():
        import polyglot
        return polyglot.eval(language="js", string="1")

    def subprocess_run():
        import subprocess
        return subprocess.run(["true"])

    return {"open": attempt(read_file), "java": attempt(java), "polyglot": attempt(polyglot_eval),
            "subprocess": attempt(subprocess_run)}


@workflow("thread-py", 1)
def thread(ctx, _):
    import threading
    threading.Thread(target=lambda: None).start()
    return "started"


@workflow("poison-py", 1)
def poison(ctx, what):
    import json
    if what == "poison":
        json.loads = lambda *args, **kwargs: 666
        return "poisoned"
    return json.loads(json.dumps(ctx.checkpoint("p", 1)))  # 666 on a context whose json a run patched

#!/usr/bin/env python3
"""The order workflow as a Python worker: the same steps as the Java example's `order` v1
(total, reserve, charge, ship, a replicated stage), run in this process beside a node that
serves workers (`raftoral node ... --worker-address 127.0.0.1:9001`). The node keeps the
workflow's state and its checkpoints; this process only runs the code, and may die at any time:
its runs go to another worker of the type (or to this one, restarted) with the values already
committed, and no committed step runs again.

    python3 examples/python/order_worker.py --target 127.0.0.1:9001
    raftoral start order-python --version 1 --input '{"orderId":"A-1","customer":"ada","items":[{"sku":"book","quantity":2,"unitPriceCents":1500}]}' --wait

Needs the worker extra: pip install 'raftoral[worker]' (grpcio, protobuf); no JVM, no libraftoral.
"""

from __future__ import annotations

import argparse
import logging
import sys
import zlib
from pathlib import Path
from typing import Any

# Use the package from this source tree when it is not installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings-python"))

from raftoral.worker import Worker, WorkflowContext  # noqa: E402

worker = Worker(worker_id="order-python")


@worker.workflow("order-python", 1)
def order(ctx: WorkflowContext, order: dict[str, Any]) -> dict[str, Any]:
    items = order.get("items") or []
    if not items:
        raise ValueError(f"order {order.get('orderId')} has no items")
    stage = ctx.var("stage", "received")
    total = ctx.checkpoint_compute("total", lambda: sum(i["unitPriceCents"] * i["quantity"] for i in items))
    ctx.checkpoint_compute("reservation", lambda: f"rsv-{order['orderId']}")
    stage.set("reserved")
    payment = ctx.checkpoint_compute("payment", lambda: f"pay-{order['customer']}-{total}")
    stage.set("paid")
    tracking = ctx.checkpoint_compute("shipment", lambda: f"TRK{zlib.crc32(order['orderId'].encode())}")
    stage.set("shipped")
    return {"orderId": order["orderId"], "totalCents": total, "paymentId": payment, "trackingNumber": tracking,
            "stage": stage.get()}


def main() -> None:
    parser = argparse.ArgumentParser(description="the order workflow as a Python worker")
    parser.add_argument("--target", default="127.0.0.1:9001", help="the node's worker address")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    worker.run(args.target)  # until SIGINT or SIGTERM


if __name__ == "__main__":
    main()

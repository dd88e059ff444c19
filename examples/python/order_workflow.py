#!/usr/bin/env python3
"""An order workflow in Python: reserve stock, charge the payment, ship.

Each step is a `checkpoint_compute`: it runs once, on the owning node, and its result is
replicated before the workflow goes on, so a crash never charges a card twice. A replicated
variable records the order's stage.

Runs a one-node cluster in this process (set RAFTORAL_LIBRARY to libraftoral.so, or run it
from a source checkout after building ffi-c-api):

    python3 examples/python/order_workflow.py

For a real cluster, run the same code in three processes, each with its own node_id and the
same `members` (see bindings-python/README.md).
"""

from __future__ import annotations

import socket
import sys
import uuid
from pathlib import Path
from typing import Any

# Use the package from this source tree when it is not installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings-python"))

import raftoral  # noqa: E402


def reserve_stock(order: dict[str, Any]) -> str:
    print(f"  reserving {order['quantity']} x {order['item']}")
    return f"reservation-{uuid.uuid4().hex[:8]}"


def charge_payment(order: dict[str, Any]) -> str:
    amount = order["quantity"] * order["unit_price"]
    print(f"  charging {amount:.2f} to {order['customer']}")
    return f"payment-{uuid.uuid4().hex[:8]}"


def ship(order: dict[str, Any], reservation: str) -> str:
    print(f"  shipping {reservation} to {order['address']}")
    return f"TRACK-{uuid.uuid4().hex[:10].upper()}"


def order_workflow(ctx: raftoral.WorkflowContext, order: dict[str, Any]) -> dict[str, Any]:
    stage = ctx.var("stage", "received")
    reservation = ctx.checkpoint_compute("reserve", lambda: reserve_stock(order))
    stage.set("reserved")
    payment = ctx.checkpoint_compute("charge", lambda: charge_payment(order))
    stage.set("paid")
    tracking = ctx.checkpoint_compute("ship", lambda: ship(order, reservation))
    stage.set("shipped")
    return {"order": order["id"], "reservation": reservation, "payment": payment, "tracking": tracking, "stage": stage.get()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    with raftoral.Node(node_id=1, members={1: f"127.0.0.1:{free_port()}"}) as node:
        node.register_workflow("order", 1, order_workflow)
        order = {
            "id": "order-1001",
            "customer": "ada@example.com",
            "item": "analytical engine",
            "quantity": 2,
            "unit_price": 1843.50,
            "address": "12 St James's Square, London",
        }
        print(f"starting {order['id']}")
        handle = node.start_workflow("order", 1, order, workflow_id=order["id"])
        result = handle.result(timeout=60)
        info = handle.describe()
        print(f"result: {result}")
        print(f"status: {info.status}, checkpoints: {info.checkpoint_count}, owner: node {info.owner_node}")
        return 0 if info.status is raftoral.WorkflowStatus.COMPLETED else 1


if __name__ == "__main__":
    sys.exit(main())

package io.raftoral.examples;

import io.raftoral.workflow.WorkflowContext;
import io.raftoral.workflow.WorkflowDefinition;
import java.util.List;

/**
 * An order: reserve stock, charge the card, ship. Each side effect is a compute checkpoint, so
 * it runs once even if the node running it dies; a replicated variable tracks the stage.
 */
public final class OrderWorkflow {
  private OrderWorkflow() {}

  public record Item(String sku, int quantity, long unitPriceCents) {}

  public record Order(String orderId, String customer, List<Item> items) {}

  public record Receipt(String orderId, long totalCents, String paymentId, String trackingNumber, String stage) {}

  public static final WorkflowDefinition<Order, Receipt> DEFINITION =
      WorkflowDefinition.of("order", 1, Order.class, Receipt.class, OrderWorkflow::run);

  static Receipt run(WorkflowContext ctx, Order order) {
    if (order.items() == null || order.items().isEmpty()) {
      throw new IllegalArgumentException("order " + order.orderId() + " has no items");
    }
    var stage = ctx.var("stage", String.class, "received");
    long total = ctx.checkpointCompute("total", Long.class, () -> order.items().stream()
        .mapToLong(i -> i.unitPriceCents() * i.quantity()).sum());
    ctx.checkpointCompute("reservation", String.class, () -> "rsv-" + order.orderId());
    stage.set("reserved");
    String paymentId = ctx.checkpointCompute("payment", String.class, () -> "pay-" + order.customer() + "-" + total);
    stage.set("paid");
    String tracking = ctx.checkpointCompute("shipment", String.class, () -> "TRK" + Math.abs(order.orderId().hashCode()));
    stage.set("shipped");
    return new Receipt(order.orderId(), total, paymentId, tracking, stage.get());
  }
}

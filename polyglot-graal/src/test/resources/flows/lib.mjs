export function priceOf(item) {
  return item.quantity * item.unitPriceCents;
}

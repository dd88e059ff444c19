def price_of(item):
    return item["quantity"] * item["unitPriceCents"]

import os


def main(block_input, backpack):
    order = block_input.get("body") or {}
    items = order.get("items") if isinstance(order, dict) else None
    errors = []
    if not items:
        errors.append("an order needs at least one item")
    elif len(items) > int(os.environ.get("MAX_ITEMS", "20")):
        errors.append("too many items")
    for index, item in enumerate(items or []):
        if not isinstance(item, dict) or not item.get("sku") or int(item.get("quantity", 0)) < 1:
            errors.append(f"item {index} needs a sku and a quantity of at least 1")
    backpack["customer"] = order.get("customer") if isinstance(order, dict) else None
    return {"ok": not errors, "errors": errors, "order": order}

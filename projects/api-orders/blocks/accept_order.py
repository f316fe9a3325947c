import hashlib
import json


def main(block_input, backpack):
    order = block_input["order"]
    order_id = "ord-" + hashlib.sha256(json.dumps(order, sort_keys=True).encode()).hexdigest()[:10]
    return {"statusCode": 201, "body": {"order_id": order_id, "items": len(order["items"])},
            "order_id": order_id, "order": order}

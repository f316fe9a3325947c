def main(block_input, backpack):
    return [f"order {parcel['order_id']}: {parcel['units']} units packed" for parcel in block_input["parcels"]]

def main(block_input, backpack):
    return {"message": block_input, "signed_for": backpack.get("greeted")}

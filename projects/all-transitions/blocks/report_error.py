def main(block_input, backpack):
    error = block_input["error"]
    return {"failed": True, "reason": f"{error['type']}: {error['message']}"}

def main(block_input, backpack):
    backpack.setdefault("skipped", []).append(block_input["input"])
    return 0

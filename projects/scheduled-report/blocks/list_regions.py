def main(block_input, backpack):
    backpack["report"] = "nightly-sales"
    return list(block_input.get("regions", []))

def main(block_input, backpack):
    totals, description = block_input  # merge order: total, then describe
    return {**totals, **description, "skipped": backpack.get("skipped", [])}

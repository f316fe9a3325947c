def main(block_input, backpack):
    return {"verdict": "small", "sum": block_input["sum"]}

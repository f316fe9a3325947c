def main(block_input, backpack):
    return {"sum": sum(block_input), "squares": block_input}

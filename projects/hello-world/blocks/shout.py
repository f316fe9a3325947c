def main(block_input, backpack):
    return block_input.upper() + "!"

def main(block_input, backpack):
    return list(block_input["numbers"])

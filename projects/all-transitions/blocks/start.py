def main(block_input, backpack):
    numbers = block_input["numbers"]  # a missing key fails here and goes to the global handler
    if not isinstance(numbers, list):
        raise TypeError("'numbers' must be a list")
    backpack["source"] = "all-transitions"
    return {"numbers": numbers}

def main(block_input, backpack):
    name = (block_input or {}).get("name", "world")
    backpack["greeted"] = name
    return f"Hello, {name}"

def main(block_input, backpack):
    return {"statusCode": 400, "body": {"errors": block_input["errors"]}}

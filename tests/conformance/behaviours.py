"""Block behaviours written once as data and generated in Python or Node, so every case runs in both."""

from __future__ import annotations

import json
from typing import Any

PYTHON = {
    "echo": "return block_input",
    "add": "return block_input + {arg}",
    "double": "return block_input * 2",
    "sum": "return sum(block_input)",
    "const": "return {literal}",
    "tag": "backpack[{arg_s}] = block_input\n    return block_input",
    "set": "backpack[{key_s}] = {value_literal}\n    return block_input",
    "tag_by_value": "backpack['k' + str(block_input)] = block_input\n    backpack['last'] = block_input\n"
    "    return block_input",
    "fail": "backpack['dirty'] = True\n    raise ValueError({arg_s})",
    "fail_if_negative": "if block_input < 0:\n        raise ValueError('negative: ' + str(block_input))\n"
    "    return block_input",
    "error_info": "return [block_input['error']['message'], block_input['input']]",
    "backpack": "return backpack",
    "range": "return list(range(block_input))",
    "flaky": "import os\n    path = {arg_s}\n    count = int(open(path).read()) + 1 if os.path.exists(path) else 1\n"
    "    open(path, 'w').write(str(count))\n    if count < 3:\n        raise RuntimeError('attempt ' + str(count))\n"
    "    return 'ok after ' + str(count)",
}

NODE = {
    "echo": "return blockInput;",
    "add": "return blockInput + {arg};",
    "double": "return blockInput * 2;",
    "sum": "return blockInput.reduce((a, b) => a + b, 0);",
    "const": "return {literal};",
    "tag": "backpack[{arg_s}] = blockInput;\n  return blockInput;",
    "set": "backpack[{key_s}] = {value_literal};\n  return blockInput;",
    "tag_by_value": "backpack['k' + String(blockInput)] = blockInput;\n  backpack['last'] = blockInput;\n"
    "  return blockInput;",
    "fail": "backpack['dirty'] = true;\n  throw new Error({arg_s});",
    "fail_if_negative": "if (blockInput < 0) throw new Error('negative: ' + String(blockInput));\n  return blockInput;",
    "error_info": "return [blockInput.error.message, blockInput.input];",
    "backpack": "return backpack;",
    "range": "return Array.from({{length: blockInput}}, (_, i) => i);",
    "flaky": "const fs = require('fs');\n  const path = {arg_s};\n"
    "  const count = fs.existsSync(path) ? Number(fs.readFileSync(path, 'utf8')) + 1 : 1;\n"
    "  fs.writeFileSync(path, String(count));\n  if (count < 3) throw new Error('attempt ' + count);\n"
    "  return 'ok after ' + count;",
}


def render(language: str, spec: dict[str, Any]) -> str:
    """The code of a block that does `spec['do']` (with `spec['arg']`), in the given language."""
    table = PYTHON if language == "python" else NODE
    arg = spec.get("arg")
    literal = repr if language == "python" else json.dumps
    pair = arg if isinstance(arg, list) and len(arg) == 2 else [None, None]
    fields = {
        "arg": json.dumps(arg),
        "arg_s": json.dumps(str(arg)),
        "literal": literal(arg),
        "key_s": json.dumps(str(pair[0])),
        "value_literal": literal(pair[1]),
    }
    body = table[spec["do"]].format(**fields)
    if language == "python":
        return f"def main(block_input, backpack):\n    {body}\n"
    return f"exports.main = async (blockInput, backpack) => {{\n  {body}\n}};\n"

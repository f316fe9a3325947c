"""The Lambda runtime makes its AWS clients once per container, not once per invocation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

from refinery_tui.cloud.naming import Names
from refinery_tui.cloud.packaging import package_all
from refinery_tui.model import load_project
from refinery_tui.model.manifest import build_manifest

# Run in the unpacked package, as Lambda runs it: the handler builds a Runtime for each invocation.
WARM_CONTAINER = """
import json, types
import refinery_tui
from refinery_tui.lambda_runtime.handler import Runtime
context = types.SimpleNamespace(invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:hello_dev_greet")
first, second = Runtime(context), Runtime(context)
print(json.dumps({
    "module": refinery_tui.__file__,
    "same_ddb": first.store.ddb is second.store.ddb,
    "same_s3": first.store.s3 is second.store.s3,
}))
"""


def test_two_invocations_in_one_warm_container_share_their_clients(copy_project, tmp_path):
    root = copy_project("hello-world")
    project = load_project(root).project
    packages = package_all(
        project, build_manifest(project), Names(project.name, "dev", "us-east-1"), root, tmp_path / "cache"
    )
    unpacked = tmp_path / "task"
    with zipfile.ZipFile(packages["greet"].path) as archive:
        archive.extractall(unpacked)
    environment = {
        **os.environ,
        "PYTHONPATH": str(unpacked),
        "LAMBDA_TASK_ROOT": str(unpacked),
        "REFINERY_TABLE": "hello-world_dev_state",
        "REFINERY_BUCKET": "hello-world-dev-payloads",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }
    done = subprocess.run(
        [sys.executable, "-c", WARM_CONTAINER], cwd=unpacked, env=environment, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["module"].startswith(str(unpacked))
    assert found["same_ddb"] and found["same_s3"]

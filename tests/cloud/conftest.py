"""Fixtures shared by the tests that deploy to the sandbox."""

from __future__ import annotations

import pytest

from tests.cloud.cloud_helpers import running_sandbox


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A sandbox for each test module (module scope: its deployed stages are shared by the module's tests)."""
    with running_sandbox(tmp_path_factory.mktemp("sandbox")) as sandbox:
        yield sandbox

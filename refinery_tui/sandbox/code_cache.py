"""Deployed zips extracted once per content digest, as the read-only code of every worker that runs them."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import threading
import zipfile
from pathlib import Path

from .functions import Code


class CodeCache:
    """Extracts each zip into `root/<sha256>` the first time it is asked for, and reuses it after that."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()

    def path(self, code: Code) -> Path:
        target = self.root / code.digest
        if target.is_dir():
            return target
        with self._lock:
            if not target.is_dir():
                self.root.mkdir(parents=True, exist_ok=True)
                staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=self.root))
                try:
                    _extract(code.data, staging)
                    os.replace(staging, target)
                except BaseException:
                    shutil.rmtree(staging, ignore_errors=True)
                    raise
        return target


def _extract(data: bytes, target: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for member in archive.infolist():
            path = Path(archive.extract(member, target))
            mode = (member.external_attr >> 16) & 0o777
            if mode and not member.is_dir():
                path.chmod(mode | 0o400)

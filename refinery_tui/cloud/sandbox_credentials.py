"""Where a running sandbox leaves its credentials for the workbench: one user-private file per port, removed at stop."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

APP = "refinery-tui"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class SandboxCredentials:
    """The access key pair a running sandbox answers to."""

    access_key_id: str
    secret_access_key: str


def credentials_dir() -> Path:
    """The user's runtime folder when the session has one (`$XDG_RUNTIME_DIR`), else the user's state folder: never
    a folder another user could have made first."""
    if os.environ.get("XDG_RUNTIME_DIR"):
        return Path(platformdirs.user_runtime_dir(APP))
    return Path(platformdirs.user_state_dir(APP))


def credentials_path(port: int) -> Path:
    return credentials_dir() / f"sandbox-{port}.json"


def write_credentials(port: int, endpoint_url: str, credentials: SandboxCredentials) -> Path:
    """Write the file (mode 0600, in a 0700 folder, replaced atomically); its path."""
    folder = credentials_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_uid != os.getuid():
        raise PermissionError(f"{folder} belongs to another user")
    os.chmod(folder, 0o700)
    path = credentials_path(port)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    record = {
        "endpoint": endpoint_url,
        "pid": os.getpid(),
        "access_key_id": credentials.access_key_id,
        "secret_access_key": credentials.secret_access_key,
    }
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(record, handle)
    os.replace(temporary, path)
    return path


def remove_credentials(port: int, credentials: SandboxCredentials) -> None:
    """Remove the file if it still holds these credentials (a newer sandbox on the port may have replaced it)."""
    found = _read(credentials_path(port))
    if found is not None and found[1] == credentials:
        credentials_path(port).unlink(missing_ok=True)


def read_credentials(endpoint_url: str) -> SandboxCredentials | None:
    """The credentials of the sandbox running at `endpoint_url` on this machine, or None (not a loopback URL, no
    sandbox there, or its file is not this user's alone)."""
    try:
        parts = urlsplit(endpoint_url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "http" or port is None or (parts.hostname or "") not in LOOPBACK_NAMES:
        return None
    found = _read(credentials_path(port))
    if found is None:
        return None
    pid, credentials = found
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # left by a sandbox that did not stop cleanly
    except PermissionError:
        pass
    return credentials


def _read(path: Path) -> tuple[int, SandboxCredentials] | None:
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(descriptor) as handle:
        info = os.fstat(handle.fileno())
        if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
            return None
        try:
            record = json.load(handle)
            return int(record["pid"]), SandboxCredentials(
                str(record["access_key_id"]), str(record["secret_access_key"])
            )
        except (ValueError, KeyError, TypeError):
            return None

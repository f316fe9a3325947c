"""The credentials a sandbox answers to: a key pair made at each start, and one issued per function role."""

from __future__ import annotations

import secrets
import string
import threading
from dataclasses import dataclass

_KEY_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class IssuedKey:
    """An access key the sandbox made: its secret, the session token it must come with (role keys), its role."""

    access_key_id: str
    secret_access_key: str
    session_token: str = ""
    role_arn: str = ""

    def environment(self) -> dict[str, str]:
        """The variables that make boto3 (and the Node runtime's client) sign with this key."""
        env = {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}
        if self.session_token:
            env["AWS_SESSION_TOKEN"] = self.session_token
        return env


def _key_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(20 - len(prefix)))


class Keys:
    """The printed key pair (`root`), and a key for each role a function runs as, made on first use."""

    def __init__(self) -> None:
        self.root = IssuedKey(_key_id("AKIA"), secrets.token_urlsafe(30))
        self._by_id = {self.root.access_key_id: self.root}
        self._by_role: dict[str, IssuedKey] = {}
        self._lock = threading.Lock()

    def for_role(self, role_arn: str) -> IssuedKey:
        """The credentials a function with this role runs with (the same ones for the sandbox's lifetime)."""
        with self._lock:
            key = self._by_role.get(role_arn)
            if key is None:
                key = IssuedKey(_key_id("ASIA"), secrets.token_urlsafe(30), secrets.token_urlsafe(48), role_arn)
                self._by_role[role_arn] = self._by_id[key.access_key_id] = key
            return key

    def find(self, access_key_id: str) -> IssuedKey | None:
        with self._lock:
            return self._by_id.get(access_key_id)

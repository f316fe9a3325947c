"""Names and tags of the AWS resources of a project's stage: `<project>-<stage>-<block>`, within AWS's limits."""

from __future__ import annotations

import hashlib
import re

MANAGED_BY = "refinery-tui"
TAG_PROJECT = "refinery:project"
TAG_STAGE = "refinery:stage"
TAG_BLOCK = "refinery:block"
TAG_KIND = "refinery:kind"
TAG_SPEC = "refinery:spec"
TAG_MANAGED = "refinery:managed-by"

# The tightest limit each kind of resource has on its name.
LIMITS = {
    "function": 64,
    "role": 64,
    "queue": 80,
    "topic": 256,
    "rule": 64,
    "api": 128,
    "table": 255,
    "bucket": 63,
    "log_group": 512,
}

_STAGE = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")


class NamingError(ValueError):
    """A stage (or project) name AWS would not accept."""


def check_stage(stage: str) -> str:
    if not _STAGE.match(stage or ""):
        raise NamingError(
            f"stage {stage!r} is not a valid name: use 1 to 20 of a-z, 0-9 and '-', "
            "starting with a letter or digit (for example: dev, prod, pr-42)"
        )
    return stage


def shorten(name: str, limit: int) -> str:
    """`name` if it fits, else a prefix of it and 8 hex digits of its hash, exactly `limit` long."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-')}-{digest}"


class Names:
    """Every name of one project's stage. Block names are already `[a-z0-9-]` (the model's rule)."""

    def __init__(self, project: str, stage: str) -> None:
        self.project = project
        self.stage = check_stage(stage)
        self.prefix = f"{project}-{stage}"

    def _name(self, kind: str, suffix: str) -> str:
        return shorten(f"{self.prefix}-{suffix}", LIMITS[kind])

    def function(self, block: str) -> str:
        return self._name("function", block)

    def role(self, block: str) -> str:
        return self._name("role", block)

    def queue(self, block: str) -> str:
        return self._name("queue", block)

    def topic(self, block: str) -> str:
        return self._name("topic", block)

    def rule(self, block: str) -> str:
        return self._name("rule", block)

    def api(self) -> str:
        return self._name("api", "http")

    def table(self) -> str:
        return self._name("table", "state")

    def bucket(self, account: str) -> str:
        """Bucket names are global: the account id keeps two accounts' stages apart."""
        return shorten(f"{self.prefix}-payloads-{account}", LIMITS["bucket"])

    def log_group(self, block: str) -> str:
        return f"/aws/lambda/{self.function(block)}"

    @property
    def role_path(self) -> str:
        """Roles are found by this path as well as by their tags."""
        return f"/refinery/{self.project}/{self.stage}/"

    def tags(self, kind: str, block: str | None = None, spec: str | None = None) -> dict[str, str]:
        tags = {TAG_PROJECT: self.project, TAG_STAGE: self.stage, TAG_KIND: kind, TAG_MANAGED: MANAGED_BY}
        if block is not None:
            tags[TAG_BLOCK] = block
        if spec is not None:
            tags[TAG_SPEC] = spec
        return tags

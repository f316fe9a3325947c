"""Names and tags of the AWS resources of a project's stage in one region: `<project>_<stage>_<block>`, one AWS
name per (project, stage, block), within AWS's limits.

Project, stage and block names are `[a-z0-9-]`, so `_` cannot occur inside them and `shop_dev-a_b` cannot be read
two ways. IAM role and S3 bucket names are global (one per account, not per region), so they carry the region too:
`<project>_<stage>_<region>_<block>` for a role, and the same stage deployed to two regions shares nothing. S3
bucket names cannot hold `_`: the bucket's name ends with a hash of (project, stage, region, account) instead.
A name over its kind's limit is cut and ends with 8 hex digits of a hash of the whole name.
"""

from __future__ import annotations

import hashlib
import re

MANAGED_BY = "refinery-tui"
TAG_PROJECT = "refinery:project"
TAG_STAGE = "refinery:stage"
TAG_REGION = "refinery:region"
TAG_BLOCK = "refinery:block"
TAG_KIND = "refinery:kind"
TAG_SPEC = "refinery:spec"
TAG_MANAGED = "refinery:managed-by"

# Kinds whose names are global to the account, not to a region: their names and tags carry the region.
GLOBAL_KINDS = ("role", "bucket")
SEPARATOR = "_"  # never in a project, stage or block name
HASH_LENGTH = 8

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
LOG_GROUP_PREFIX = "/aws/lambda/"

_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-[0-9]+$")
_STAGE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?$")
_PART = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class NamingError(ValueError):
    """A stage (or project) name AWS would not accept, or that could be read two ways."""


def check_stage(stage: str) -> str:
    if not _STAGE.match(stage or ""):
        raise NamingError(
            f"stage {stage!r} is not a valid name: use 1 to 20 of a-z, 0-9 and '-', starting and ending with a "
            "letter or digit (for example: dev, prod, pr-42)"
        )
    return stage


def _check_part(what: str, name: str) -> str:
    if not _PART.match(name or ""):
        raise NamingError(f"{what} {name!r} cannot be part of an AWS name: use a-z, 0-9 and '-' (for example: orders)")
    return name


def check_region(region: str) -> str:
    if not _REGION.match(region or ""):
        raise NamingError(f"region {region!r} is not an AWS region name (for example: us-east-1, eu-west-1)")
    return region


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def shorten(name: str, limit: int) -> str:
    """`name` if it fits, else a prefix of it and 8 hex digits of its hash, at most `limit` long."""
    if len(name) <= limit:
        return name
    return f"{name[: limit - HASH_LENGTH - 1].rstrip('-_')}-{_digest(name)}"


def _bucket_name(owner: tuple[str, ...], account: str) -> str:
    """`<owner parts>-payloads-<account>` (cut to fit), then a hash of the owner's parts and the account."""
    digest = _digest(SEPARATOR.join((*owner, account)))
    readable = "-".join((*owner, "payloads", account))[: LIMITS["bucket"] - HASH_LENGTH - 1]
    return f"{readable.rstrip('-')}-{digest}"


class Names:
    """Every name of one project's stage in one region. Block names are already `[a-z0-9-]` (the model's rule)."""

    def __init__(self, project: str, stage: str, region: str) -> None:
        self.project = _check_part("project", project)
        self.stage = check_stage(stage)
        self.region = check_region(region)
        self.prefix = f"{project}{SEPARATOR}{stage}"

    def _name(self, kind: str, suffix: str) -> str:
        return shorten(f"{self.prefix}{SEPARATOR}{suffix}", LIMITS[kind])

    def list_prefix(self, kind: str) -> str:
        """What every name of this kind of this stage starts with (cut ones too), to list them by prefix; other
        stages' names can start with it only when it was cut, so what is listed is still checked by its tags."""
        if kind == "log_group":
            return LOG_GROUP_PREFIX + self.list_prefix("function")
        whole = f"{self.prefix}{SEPARATOR}"
        cut = LIMITS[kind] - HASH_LENGTH - 1
        return whole if len(whole) < cut else whole[:cut].rstrip("-_")

    def function(self, block: str) -> str:
        return self._name("function", _check_part("block", block))

    def role(self, block: str) -> str:
        """Role names are global: `<project>_<stage>_<region>_<block>` (cut to fit, like every name)."""
        return self._name("role", f"{self.region}{SEPARATOR}{_check_part('block', block)}")

    def queue(self, block: str) -> str:
        return self._name("queue", _check_part("block", block))

    def topic(self, block: str) -> str:
        return self._name("topic", _check_part("block", block))

    def rule(self, block: str) -> str:
        return self._name("rule", _check_part("block", block))

    def api(self) -> str:
        return self._name("api", "http")

    def table(self) -> str:
        return self._name("table", "state")

    def bucket(self, account: str) -> str:
        """Bucket names are global and cannot hold `_`: `<project>-<stage>-<region>-payloads-<account>` (cut to
        fit), then a hash of (project, stage, region, account), which keeps `shop`/`dev-a` and `shop-dev`/`a` apart
        and each region's apart."""
        return _bucket_name((self.project, self.stage, self.region), account)

    def regionless_bucket(self, account: str) -> str:
        """The bucket name of a stage deployed before names carried the region: discovery still finds that bucket
        (in this region only) so that the next deploy replaces it and a teardown removes it."""
        return _bucket_name((self.project, self.stage), account)

    def log_group(self, block: str) -> str:
        return f"{LOG_GROUP_PREFIX}{self.function(block)}"

    @property
    def role_path(self) -> str:
        """Roles are found by this path as well as by their tags (the region's tag tells the regions apart)."""
        return f"/refinery/{self.project}/{self.stage}/"

    def tags(self, kind: str, block: str | None = None, spec: str | None = None) -> dict[str, str]:
        tags = {TAG_PROJECT: self.project, TAG_STAGE: self.stage, TAG_KIND: kind, TAG_MANAGED: MANAGED_BY}
        if kind in GLOBAL_KINDS:
            tags[TAG_REGION] = self.region
        if block is not None:
            tags[TAG_BLOCK] = block
        if spec is not None:
            tags[TAG_SPEC] = spec
        return tags

    def owns(self, tags: dict[str, str]) -> bool:
        """Whether a resource's tags name this project and stage, and this region or none: a role or bucket (names
        global to the account) tagged with another region is that region's stage; one without a region tag was made
        before names carried the region and is this stage's (regional resources carry no region tag)."""
        return (
            tags.get(TAG_PROJECT) == self.project
            and tags.get(TAG_STAGE) == self.stage
            and tags.get(TAG_REGION, self.region) == self.region
        )


def owner_of(tags: dict[str, str]) -> str:
    """Whose a resource is, from its tags, in words: `project shop, stage dev`, or that no tags say."""
    if TAG_PROJECT in tags or TAG_STAGE in tags:
        return f"project {tags.get(TAG_PROJECT, '?')}, stage {tags.get(TAG_STAGE, '?')}"
    return ""


def refusal(kind: str, name: str, tags: dict[str, str]) -> str:
    """Why a resource with a name this stage uses is not touched: it belongs to someone else."""
    owner = owner_of(tags)
    if owner:
        return f"{kind.replace('_', ' ')} {name} belongs to {owner}; not touched"
    return (
        f"{kind.replace('_', ' ')} {name} exists but has no refinery-tui tags naming its project and stage; "
        "not touched (delete or rename it if it is not needed, or use another stage name)"
    )

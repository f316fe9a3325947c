"""A Lambda function's configuration and code, read from moto's in-process Lambda backend."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda.utils import get_backend


@dataclass(frozen=True)
class Code:
    """A zip (function code or layer content) and the hex SHA-256 that names its extracted copy."""

    digest: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class FunctionSpec:
    """What it takes to run one version of a function."""

    account_id: str
    region: str
    name: str
    version: str
    runtime: str
    handler: str
    timeout: int
    memory_mb: int
    environment: dict[str, str]
    code: Code
    layers: tuple[Code, ...] = ()
    role: str = ""

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.name}"

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"

    @property
    def config_key(self) -> str:
        """Changes whenever a setting that a running worker was started with changes."""
        settings = [
            self.runtime,
            self.handler,
            self.timeout,
            self.memory_mb,
            sorted(self.environment.items()),
            [layer.digest for layer in self.layers],
            self.role,
        ]
        return hashlib.sha256(json.dumps(settings).encode()).hexdigest()[:16]


class FunctionNotFound(LookupError):
    """No such function (or version, or alias)."""


def split_arn(name_or_arn: str, region: str, account_id: str) -> tuple[str, str, str]:
    """(region, account, the name with any qualifier) of a function name, partial ARN or ARN."""
    if name_or_arn.startswith("arn:"):
        parts = name_or_arn.split(":")
        return parts[3], parts[4], ":".join(parts[6:])
    if ":function:" in name_or_arn:
        account_id, _, name = name_or_arn.partition(":function:")
        return region, account_id, name
    return region, account_id, name_or_arn


def resolve(name_or_arn: str, qualifier: str | None, region: str, account_id: str) -> tuple[FunctionSpec, str]:
    """The function an Invoke names, and the ARN it was invoked as (qualified when a qualifier was given)."""
    region, account_id, name = split_arn(name_or_arn, region, account_id)
    name, _, name_qualifier = name.partition(":")
    qualifier = name_qualifier or qualifier or None
    backend = get_backend(account_id, region)
    try:
        fn = backend.get_function(name, qualifier)
    except Exception as error:
        raise FunctionNotFound(name) from error
    spec = spec_of(fn)
    invoked = spec.arn + (f":{qualifier}" if qualifier else "")
    return spec, invoked


def spec_of(fn: Any) -> FunctionSpec:
    """The spec of one of moto's `LambdaFunction` objects (a version or $LATEST)."""
    if getattr(fn, "package_type", "Zip") != "Zip" or not getattr(fn, "code_bytes", b""):
        raise FunctionNotFound(fn.function_name)
    backend = get_backend(fn.account_id, fn.region)
    layers = []
    for layer in getattr(fn, "layers", []) or []:
        version = backend.layers_versions_by_arn(layer["Arn"])
        if version is not None and getattr(version, "code_bytes", b""):
            layers.append(Code(version.code_digest, version.code_bytes))
    try:
        latest = backend.get_function(fn.function_name, None)
    except Exception:
        latest = None
    return FunctionSpec(
        account_id=fn.account_id,
        region=fn.region,
        name=fn.function_name,
        version="$LATEST" if fn is latest else str(fn.version),
        runtime=fn.run_time or "",
        handler=fn.handler or "",
        timeout=int(fn.timeout or 3),
        memory_mb=int(fn.memory_size or 128),
        environment={k: str(v) for k, v in (fn.environment_vars or {}).items()},
        code=Code(fn.code_digest, fn.code_bytes),
        layers=tuple(layers),
        role=str(getattr(fn, "role", "") or ""),
    )

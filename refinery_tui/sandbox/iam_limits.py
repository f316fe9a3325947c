"""AWS's size limit on a role's inline policies, which moto does not enforce: an oversized PutRolePolicy is refused
as IAM refuses it (LimitExceeded, "Maximum policy size of 10240 bytes exceeded for role ...")."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import parse_qs

from .signatures import Refusal

INLINE_POLICY_LIMIT = 10240  # characters of all of a role's inline policies, whitespace not counted


def _form(environ: dict[str, Any]) -> dict[str, list[str]]:
    """The request's form fields; the body is put back for moto to read."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return parse_qs(body.decode("utf-8", "replace"))


def _counted(document: str) -> int:
    return len("".join(document.split()))


def _other_inline_policies(role: str, replaced: str) -> int:
    """The counted size of the role's other inline policies already stored in moto (0 if there is no such role)."""
    from moto.backends import get_backend

    total = 0
    for account in get_backend("iam").values():
        for backend in account.values():
            stored = backend.roles.values() if hasattr(backend, "roles") else ()
            for found in stored:
                if found.name == role:
                    total += sum(_counted(str(doc)) for name, doc in found.policies.items() if name != replaced)
    return total


def oversized_role_policy(environ: dict[str, Any]) -> Refusal | None:
    """The refusal of a PutRolePolicy whose role's inline policies would pass AWS's limit, else None."""
    form = _form(environ)
    role = form.get("RoleName", [""])[0]
    document = form.get("PolicyDocument", [""])[0]
    size = _counted(document) + _other_inline_policies(role, form.get("PolicyName", [""])[0])
    if size <= INLINE_POLICY_LIMIT:
        return None
    return Refusal(409, "LimitExceeded", f"Maximum policy size of {INLINE_POLICY_LIMIT} bytes exceeded for role {role}")

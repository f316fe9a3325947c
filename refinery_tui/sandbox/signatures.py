"""SigV4 signatures checked against the sandbox's keys: the expected signature is recomputed with botocore's own
signer from the request as received (header or presigned-URL form)."""

from __future__ import annotations

import calendar
import datetime
import email.utils
import hashlib
import hmac
import io
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from botocore.auth import SIGV4_TIMESTAMP, HmacV1Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from .credentials import IssuedKey, Keys

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_S = 15 * 60  # as AWS: a request signed more than 15 minutes away from the sandbox's clock is refused
MAX_PRESIGNED_S = 7 * 24 * 3600
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*SignedHeaders=(?P<signed>[^,\s]+)\s*,"
    r"\s*Signature=(?P<signature>[0-9a-fA-F]+)\s*$"
)
_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access "
    "Key and signing method."
)
_UNKNOWN_KEY = (
    "The security token included in the request is invalid: the sandbox makes new credentials at each start "
    "(use the ones it printed, or the ones it gives a function's role)"
)


@dataclass(frozen=True)
class Refusal:
    """Why a request is not served: the HTTP status and the AWS error code and message to answer with."""

    status: int
    code: str
    message: str


@dataclass(frozen=True)
class _Signed:
    key_id: str
    day: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    timestamp: str
    token: str
    presigned: bool
    expires: int = 0


class _Expected(SigV4Auth):
    """botocore's signer, told exactly which headers the client signed, with which values."""

    def __init__(self, credentials: Credentials, service: str, region: str, headers: HTTPHeaders) -> None:
        super().__init__(credentials, service, region)
        self._headers = headers

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        return self._headers

    def _normalize_url_path(self, path: str) -> str:
        return path if self._service_name == "s3" else super()._normalize_url_path(path)


def check_signature(environ: dict[str, Any], keys: Keys) -> Refusal | None:
    """None when the request is signed by one of `keys`; otherwise why it is refused. May read the body (then puts
    it back)."""
    query = _query_pairs(environ.get("QUERY_STRING", ""))
    names = {name for name, _ in query}
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    if authorization.startswith("AWS ") or (not authorization and "Signature" in names):
        return _check_s3_v2(environ, keys, query, authorization)
    if not authorization and "X-Amz-Signature" not in names:
        return Refusal(
            403,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token (the sandbox answers requests signed with the credentials it "
            "printed at start)",
        )
    signed = _from_header(authorization, environ) if authorization else _from_query(query)
    if isinstance(signed, Refusal):
        return signed
    key = keys.find(signed.key_id)
    if key is None:
        return Refusal(403, "InvalidAccessKeyId" if signed.service == "s3" else "InvalidClientTokenId", _UNKNOWN_KEY)
    if key.session_token and not hmac.compare_digest(signed.token.encode(), key.session_token.encode()):
        return Refusal(403, "InvalidClientTokenId", "The security token included in the request is invalid")
    refusal = _check_time(signed)
    if refusal is not None:
        return refusal
    payload_hash = _payload_hash(environ, signed)
    if isinstance(payload_hash, Refusal):
        return payload_hash
    expected = _signature(environ, signed, key, query, payload_hash)
    if isinstance(expected, Refusal):
        return expected
    if not hmac.compare_digest(expected, signed.signature.lower()):
        return Refusal(403, "SignatureDoesNotMatch", _BAD_SIGNATURE)
    return None


def _query_pairs(query_string: str) -> list[tuple[str, str]]:
    """The query's name/value pairs, decoded the way SigV4 encodes them (`+` is not a space)."""
    pairs = []
    for piece in query_string.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            pairs.append((unquote(name), unquote(value)))
    return pairs


def _scope(credential: str) -> tuple[str, str, str, str] | None:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts):
        return None
    return parts[0], parts[1], parts[2], parts[3]


def _from_header(authorization: str, environ: dict[str, Any]) -> _Signed | Refusal:
    match = _AUTHORIZATION.match(authorization)
    scope = _scope(match.group("credential")) if match else None
    if match is None or scope is None:
        return Refusal(
            403,
            "IncompleteSignature",
            "The Authorization header must be AWS Signature Version 4: "
            "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...",
        )
    timestamp = environ.get("HTTP_X_AMZ_DATE", "")
    if not timestamp and environ.get("HTTP_DATE"):
        parsed = email.utils.parsedate_tz(environ["HTTP_DATE"])
        if parsed is not None:
            timestamp = time.strftime(SIGV4_TIMESTAMP, time.gmtime(email.utils.mktime_tz(parsed)))
    return _Signed(
        *scope,
        signed_headers=tuple(match.group("signed").lower().split(";")),
        signature=match.group("signature"),
        timestamp=timestamp,
        token=environ.get("HTTP_X_AMZ_SECURITY_TOKEN", ""),
        presigned=False,
    )


def _from_query(query: list[tuple[str, str]]) -> _Signed | Refusal:
    values = dict(query)
    scope = _scope(values.get("X-Amz-Credential", ""))
    if values.get("X-Amz-Algorithm") != ALGORITHM or scope is None or not values.get("X-Amz-SignedHeaders"):
        return Refusal(
            403,
            "AuthorizationQueryParametersError",
            "A presigned URL must carry X-Amz-Algorithm=AWS4-HMAC-SHA256, X-Amz-Credential, X-Amz-Date, "
            "X-Amz-Expires, X-Amz-SignedHeaders and X-Amz-Signature",
        )
    try:
        expires = int(values.get("X-Amz-Expires", "0"))
    except ValueError:
        expires = -1
    if not 0 < expires <= MAX_PRESIGNED_S:
        return Refusal(
            403, "AuthorizationQueryParametersError", f"X-Amz-Expires must be between 1 and {MAX_PRESIGNED_S}"
        )
    return _Signed(
        *scope,
        signed_headers=tuple(values["X-Amz-SignedHeaders"].lower().split(";")),
        signature=values.get("X-Amz-Signature", ""),
        timestamp=values.get("X-Amz-Date", ""),
        token=values.get("X-Amz-Security-Token", ""),
        presigned=True,
        expires=expires,
    )


def _check_time(signed: _Signed) -> Refusal | None:
    try:
        when = calendar.timegm(datetime.datetime.strptime(signed.timestamp, SIGV4_TIMESTAMP).timetuple())
    except ValueError:
        return Refusal(403, "IncompleteSignature", "The request must carry its signing time in X-Amz-Date")
    if signed.timestamp[:8] != signed.day:
        return Refusal(403, "SignatureDoesNotMatch", "The credential's date is not the day of X-Amz-Date")
    now = time.time()
    if signed.presigned:
        if now > when + signed.expires:
            return Refusal(403, "AccessDenied", "Request has expired")
        if when - now > MAX_SKEW_S:
            return Refusal(403, "AccessDenied", "Request is not valid yet")
        return None
    if abs(now - when) > MAX_SKEW_S:
        return Refusal(
            403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."
        )
    return None


def _payload_hash(environ: dict[str, Any], signed: _Signed) -> str | Refusal:
    """The payload hash the signature covers; a declared hex hash must match the body."""
    declared = environ.get("HTTP_X_AMZ_CONTENT_SHA256", "")
    if signed.presigned:
        return declared or "UNSIGNED-PAYLOAD"
    if declared and not _HEX_SHA256.match(declared):
        return declared  # UNSIGNED-PAYLOAD, STREAMING-...: the headers are signed, the body is not hashed
    body = _body(environ)
    actual = hashlib.sha256(body).hexdigest()
    if declared and declared != actual:
        return Refusal(
            400,
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )
    return actual


def _body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ["wsgi.input"]
    if length > 0:
        body = stream.read(length)
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _header(environ: dict[str, Any], name: str) -> str | None:
    if name == "content-type":
        return environ.get("CONTENT_TYPE")
    if name == "content-length":
        return environ.get("CONTENT_LENGTH")
    return environ.get("HTTP_" + name.upper().replace("-", "_"))


def _raw_path(environ: dict[str, Any]) -> str:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    if raw.startswith(("http://", "https://")):
        raw = urlsplit(raw).path
    path = raw.partition("?")[0]
    return path or quote(environ.get("PATH_INFO", "/") or "/")


def _signature(
    environ: dict[str, Any], signed: _Signed, key: IssuedKey, query: list[tuple[str, str]], payload_hash: str
) -> str | Refusal:
    headers = HTTPHeaders()
    for name in signed.signed_headers:
        value = _header(environ, name)
        if value is None:
            return Refusal(403, "SignatureDoesNotMatch", f"The signed header {name!r} is not in the request")
        headers[name] = value
    if "host" not in headers:
        return Refusal(403, "SignatureDoesNotMatch", "The Host header must be signed")
    params = [(name, value) for name, value in query if not (signed.presigned and name == "X-Amz-Signature")]
    request = AWSRequest(
        method=environ.get("REQUEST_METHOD", "GET"),
        url=f"http://{environ.get('HTTP_HOST', '')}{_raw_path(environ)}",
        headers={"X-Amz-Content-SHA256": payload_hash},
        params=params,
    )
    request.context["timestamp"] = signed.timestamp
    credentials = Credentials(key.access_key_id, key.secret_access_key, key.session_token or None)
    signer = _Expected(credentials, signed.service, signed.region, headers)
    canonical = signer.canonical_request(request)
    return signer.signature(signer.string_to_sign(request, canonical), request)


class _ExpectedV2(HmacV1Auth):
    """botocore's S3 signature version 2 signer, with the request's own date (or, presigned, its expiry)."""

    def __init__(self, credentials: Credentials, date: str) -> None:
        super().__init__(credentials)
        self._date = date

    def _get_date(self) -> str:
        return self._date


def _check_s3_v2(
    environ: dict[str, Any], keys: Keys, query: list[tuple[str, str]], authorization: str
) -> Refusal | None:
    """S3's legacy signature version 2: `Authorization: AWS key:signature`, or a URL presigned with
    AWSAccessKeyId, Expires and Signature (what boto3's generate_presigned_url makes by default for S3)."""
    values = dict(query)
    if authorization:
        key_id, _, signature = authorization[4:].strip().rpartition(":")
        date = environ.get("HTTP_DATE", "")
        if environ.get("HTTP_X_AMZ_DATE"):
            date = ""  # x-amz-date is signed among the x-amz- headers instead
        parsed = email.utils.parsedate_tz(environ.get("HTTP_X_AMZ_DATE") or date)
        when = email.utils.mktime_tz(parsed) if parsed else None
        if when is None or abs(time.time() - when) > MAX_SKEW_S:
            return Refusal(
                403,
                "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.",
            )
    else:
        key_id, signature, date = (
            values.get("AWSAccessKeyId", ""),
            values.get("Signature", ""),
            values.get("Expires", ""),
        )
        if not date.isdigit() or int(date) < time.time():
            return Refusal(403, "AccessDenied", "Request has expired")
    key = keys.find(key_id)
    if key is None:
        return Refusal(403, "InvalidAccessKeyId", _UNKNOWN_KEY)
    token = environ.get("HTTP_X_AMZ_SECURITY_TOKEN") or values.get("x-amz-security-token", "")
    if key.session_token and not hmac.compare_digest(token.encode(), key.session_token.encode()):
        return Refusal(403, "InvalidAccessKeyId", "The security token included in the request is invalid")
    headers = HTTPHeaders()
    for name in ("content-md5", "content-type"):
        value = _header(environ, name) if authorization else values.get(name)
        if value is not None:
            headers[name] = value
    amz = {k[5:].lower().replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_X_AMZ_")}
    if not authorization:
        amz.update({k.lower(): v for k, v in query if k.lower().startswith("x-amz-")})
    for name, value in amz.items():
        if name != "x-amz-security-token" or not key.session_token:
            headers[name] = value
    host = environ.get("HTTP_HOST", "").rpartition(":")[0]
    raw = _raw_path(environ)
    bucket = host[: -len(".localhost")] if host.endswith(".localhost") else ""
    # The resource a bucket's own requests sign is `/bucket/`, sent as `/bucket` by path-style clients.
    auth_path = f"/{bucket}{raw}" if bucket else (raw + "/" if raw.count("/") == 1 and raw != "/" else raw)
    split = urlsplit(f"http://{host}{raw}?{environ.get('QUERY_STRING', '')}")
    credentials = Credentials(key.access_key_id, key.secret_access_key, key.session_token or None)
    expected = _ExpectedV2(credentials, date).get_signature(
        environ.get("REQUEST_METHOD", "GET"), split, headers, auth_path=auth_path
    )
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return Refusal(403, "SignatureDoesNotMatch", _BAD_SIGNATURE)
    return None

"""The project format's vocabulary: block types, their fields, transition types, which joins are allowed, ranges."""

from __future__ import annotations

import re

PROJECT_FILE = "project.yaml"

BLOCK_TYPES = ("code", "schedule", "queue", "topic", "api_endpoint", "api_response")
BLOCK_TYPE_SYNONYMS = {  # names other tools (Refinery, SAM) use for our block types
    "lambda": "code",
    "function": "code",
    "schedule_trigger": "schedule",
    "timer": "schedule",
    "cron": "schedule",
    "sqs_queue": "queue",
    "sqs": "queue",
    "sns_topic": "topic",
    "sns": "topic",
    "api": "api_endpoint",
    "api_gateway_response": "api_response",
    "response": "api_response",
}
TRANSITION_TYPES = ("then", "if", "else", "exception", "fan-out", "fan-in", "merge")
LANGUAGES = ("python", "node")
LANGUAGE_EXTENSIONS = {"python": (".py",), "node": (".js", ".cjs", ".mjs")}
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")

TOP_LEVEL_FIELDS = ("name", "description", "on_exception", "max_hops", "blocks", "transitions")
COMMON_BLOCK_FIELDS = ("type", "description")
BLOCK_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("language", "file", "timeout", "memory", "env", "libraries", "retries", "max_return"),
    "schedule": ("schedule", "input"),
    "queue": ("batch_size",),
    "topic": (),
    "api_endpoint": ("path", "method"),
    "api_response": (),
}
TRANSITION_FIELDS = ("from", "to", "type", "expression")

DEFAULT_LANGUAGE = "python"
DEFAULT_TIMEOUT_S = 30
DEFAULT_MEMORY_MB = 256
DEFAULT_MAX_RETURN_MB = 32  # a guard, not AWS's limit: deployed, large payloads cross through the bucket
DEFAULT_BATCH_SIZE = 1
DEFAULT_MAX_HOPS = 10_000
DEFAULT_METHOD = "GET"

RANGES: dict[str, tuple[int, int, str]] = {
    "memory": (128, 10_240, "MB"),
    "timeout": (1, 900, "s"),
    "batch_size": (1, 10_000, "messages"),
    "retries": (0, 10, "retries"),
    "max_return": (1, 1024, "MB"),
    "max_hops": (1, 10_000_000, "hops"),
}

PROJECT_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
BLOCK_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RATE_RE = re.compile(r"^rate\(\s*(\d+)\s+([a-z]+)\s*\)$")
CRON_RE = re.compile(r"^cron\((.*)\)$")
RATE_UNITS = ("minute", "minutes", "hour", "hours", "day", "days")

RESOURCE_SOURCES = ("schedule", "queue", "topic", "api_endpoint")
SIMPLE_ROUTING = ("then", "if", "else", "exception")


def allowed_transitions(source_type: str, target_type: str) -> tuple[str, ...]:
    """Which transition types may join a block of source_type to one of target_type (empty: none)."""
    if target_type in ("schedule", "api_endpoint") or source_type == "api_response":
        return ()
    if source_type in RESOURCE_SOURCES:
        return ("then",) if target_type == "code" else ()
    if source_type == "code":
        if target_type in ("code", "queue"):
            return TRANSITION_TYPES
        if target_type in ("topic", "api_response"):
            return SIMPLE_ROUTING
    return ()


def slugify(text: str, pattern_max: int = 48, fallback: str = "block") -> str:
    """A name that fits the block-name rule, made from free text (`fallback` when nothing is left of it)."""
    slug = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")
    slug = slug[:pattern_max].strip("-")
    return slug or fallback


def default_code_file(block_name: str, language: str) -> str:
    extension = LANGUAGE_EXTENSIONS.get(language, (".py",))[0]
    return f"blocks/{block_name.replace('-', '_')}{extension}"

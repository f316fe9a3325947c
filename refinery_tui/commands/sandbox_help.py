"""The sandbox's help epilog: where it is as strict as AWS (moto is not), and its test knobs."""

from __future__ import annotations

import textwrap

STRICTNESS = (
    "creating a function on a runtime AWS no longer accepts (past its block-create date, e.g. nodejs20.x), or "
    "updating the code or configuration of one left on a runtime past its block-update date other than to a "
    "current runtime: InvalidParameterValueException",
    "a role's inline policies over 10,240 characters in all (whitespace not counted): IAM's LimitExceeded",
    "only requests signed with its own credentials (printed at start) or a deployed function's role credentials, "
    "addressed to its own host name",
    "after a delete, AWS's windows: a queue's name is refused (QueueDeletedRecently) for 60 s, a deleted queue is "
    "still listed for 5 s (its other calls answer QueueDoesNotExist), a deleted table stays DELETING for 5 s "
    "(CreateTable and DeleteTable get ResourceInUseException)",
    "a failed SQS batch comes back regrouped (reversed, in smaller batches) once its visibility timeout ends; with "
    "ReportBatchItemFailures on the mapping only the messages named in batchItemFailures come back",
    "an HTTP API without its stage answers 404; an integration slower than its TimeoutInMillis (at most 29 s, the "
    'cold start counted) answers 503 {"message":"Service Unavailable"}',
)
KNOBS = (
    "REFINERY_SANDBOX_FAULTS=service:Operation:ErrorCode[:every=N][:burst=K][:seconds=S][:times=M],... answers "
    "the last K of every N such calls with ErrorCode (with seconds=S every call for S seconds from then: a storm; "
    "times=M: at most M answers or storms), e.g. logs:FilterLogEvents:ThrottlingException:every=5 or "
    "dynamodb:UpdateItem:ProvisionedThroughputExceededException:every=1000:seconds=6",
    "REFINERY_SANDBOX_DELETION_WINDOWS=queue_name_reuse=S,queue_listed=S,table_deleting=S (or one number of "
    "seconds for all) sets the windows after a delete, e.g. short ones for tests",
)


def epilog() -> str:
    lines = ["Where AWS is stricter than moto, so is the sandbox:"]
    lines += [_item(item) for item in STRICTNESS]
    lines += ["Test knobs (environment variables read at start):"]
    lines += [_item(item) for item in KNOBS]
    return "\n".join(lines)


def _item(text: str) -> str:
    return textwrap.fill(text, 100, initial_indent="  - ", subsequent_indent="    ", break_on_hyphens=False)

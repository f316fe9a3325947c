"""SNS to Lambda: a message published to a topic, delivered to a subscribed function as Lambda's SNS event."""

from __future__ import annotations

import datetime
from typing import Any

from .functions import FunctionNotFound, resolve
from .lambda_host import LambdaHost


def sns_event(
    subscription_arn: str,
    topic_arn: str,
    message: str,
    message_id: str,
    subject: str | None,
    message_attributes: dict[str, Any] | None,
) -> dict[str, Any]:
    now = datetime.datetime.now(datetime.UTC)
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": topic_arn,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "EXAMPLE",
                    "UnsubscribeUrl": "EXAMPLE",
                    "MessageAttributes": {
                        name: {
                            "Type": value.get("Type") or value.get("DataType"),
                            "Value": value.get("Value", value.get("StringValue")),
                        }
                        for name, value in (message_attributes or {}).items()
                    },
                },
            }
        ]
    }


def deliver(
    host: LambdaHost,
    subscription: Any,
    message: str,
    message_id: str,
    subject: str | None,
    message_attributes: dict[str, Any] | None,
) -> str | None:
    """Invoke the subscription's function asynchronously (as SNS does); the request id, or None if it is gone."""
    endpoint = subscription.endpoint
    try:
        spec, invoked_arn = resolve(endpoint, None, endpoint.split(":")[3], subscription.account_id)
    except (FunctionNotFound, IndexError):
        return None
    event = sns_event(subscription.arn, subscription.topic.arn, message, message_id, subject, message_attributes)
    return host.submit(spec, event, invoked_arn=invoked_arn)

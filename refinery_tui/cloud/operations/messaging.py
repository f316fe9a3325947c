"""The steps of queues and topics, and of a function's subscription to a topic."""

from __future__ import annotations

from refinery_tui.cloud.operations.common import Step, StepsBase, ignore
from refinery_tui.cloud.operations.waiting import retried
from refinery_tui.cloud.planner import Change

# SQS refuses a queue's name for 60 s after the queue is deleted; boto3 names the refusal by either code.
NAME_REUSE_BLOCKED = ("AWS.SimpleQueueService.QueueDeletedRecently", "QueueDeletedRecently")
NAME_REUSE_RETRY_S = 5.0
NAME_REUSE_LIMIT_S = 70.0
# A queue of that name already there (made by an earlier deploy that stopped): its settings are set next.
QUEUE_THERE = ("AWS.SimpleQueueService.QueueNameExists", "QueueNameExists", "QueueAlreadyExists")


class MessagingSteps(StepsBase):
    """Queues, topics and subscriptions."""

    # -- queue and topic -----------------------------------------------------------------------------------

    def create_queue(self, change: Change) -> list[Step]:
        sqs = self.aws.client("sqs")

        def create() -> None:
            retried(
                NAME_REUSE_BLOCKED,
                lambda: ignore(
                    QUEUE_THERE,
                    lambda: sqs.create_queue(
                        QueueName=change.name,
                        Attributes={"VisibilityTimeout": str(change.desired.spec["visibility"])},
                        tags=self.tags(change, False),
                    ),
                ),
                f"queue {change.name}: name reuse blocked by AWS after a delete",
                NAME_REUSE_RETRY_S,
                NAME_REUSE_LIMIT_S,
            )

        return [("create", create), *self.update_queue(change)]

    def update_queue(self, change: Change) -> list[Step]:
        sqs = self.aws.client("sqs")

        def settings() -> None:
            url = sqs.get_queue_url(QueueName=change.name)["QueueUrl"]
            sqs.set_queue_attributes(
                QueueUrl=url, Attributes={"VisibilityTimeout": str(change.desired.spec["visibility"])}
            )
            sqs.tag_queue(QueueUrl=url, Tags=self.tags(change, True))

        return [("set and tag", settings)]

    def delete_queue(self, change: Change) -> list[Step]:
        sqs = self.aws.client("sqs")
        return [
            (
                "delete",
                lambda: ignore(
                    ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"),
                    lambda: sqs.delete_queue(QueueUrl=change.existing.data["url"]),
                ),
            )
        ]

    def create_topic(self, change: Change) -> list[Step]:
        sns = self.aws.client("sns")
        return [
            (
                "create",
                lambda: sns.create_topic(
                    Name=change.name, Tags=[{"Key": k, "Value": v} for k, v in self.tags(change, False).items()]
                ),
            ),
            *self.update_topic(change),
        ]

    def update_topic(self, change: Change) -> list[Step]:
        sns = self.aws.client("sns")
        arn = self.placement.arn("sns", change.name)
        return [
            (
                "tag",
                lambda: sns.tag_resource(
                    ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in self.tags(change, True).items()]
                ),
            )
        ]

    def delete_topic(self, change: Change) -> list[Step]:
        sns = self.aws.client("sns")
        return [
            ("delete", lambda: ignore(("NotFound",), lambda: sns.delete_topic(TopicArn=change.existing.data["arn"])))
        ]

    def create_subscription(self, change: Change) -> list[Step]:
        sns, spec = self.aws.client("sns"), change.desired.spec
        topic_arn = self.placement.arn("sns", spec["topic"])
        function_arn = self.placement.arn("lambda", f"function:{spec['function']}")
        return [
            self.permission(spec["function"], f"refinery-sns-{spec['topic']}"[:100], "sns.amazonaws.com", topic_arn),
            ("subscribe", lambda: sns.subscribe(TopicArn=topic_arn, Protocol="lambda", Endpoint=function_arn)),
        ]

    def update_subscription(self, change: Change) -> list[Step]:
        return []

    def delete_subscription(self, change: Change) -> list[Step]:
        sns = self.aws.client("sns")
        return [
            (
                "unsubscribe",
                lambda: ignore(("NotFound",), lambda: sns.unsubscribe(SubscriptionArn=change.existing.data["arn"])),
            )
        ]

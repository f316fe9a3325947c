"""The steps of what starts a stage from outside: schedule rules and HTTP APIs."""

from __future__ import annotations

import json
from collections.abc import Callable

from refinery_tui.cloud.operations.common import Step, StepsBase, ignore
from refinery_tui.cloud.planner import Change


class TriggerSteps(StepsBase):
    """Schedule rules and HTTP APIs."""

    def create_rule(self, change: Change) -> list[Step]:
        events = self.aws.client("events")
        return [
            (
                "create",
                lambda: events.put_rule(
                    Name=change.name,
                    ScheduleExpression=change.desired.spec["schedule"],
                    State="ENABLED",
                    Tags=[{"Key": k, "Value": v} for k, v in self.tags(change, False).items()],
                ),
            ),
            *self.update_rule(change),
        ]

    def update_rule(self, change: Change) -> list[Step]:
        events, spec = self.aws.client("events"), change.desired.spec
        rule_arn = self.placement.arn("events", f"rule/{change.name}")
        return [
            (
                "set schedule",
                lambda: events.put_rule(Name=change.name, ScheduleExpression=spec["schedule"], State="ENABLED"),
            ),
            self.permission(spec["function"], f"refinery-rule-{change.name}"[:100], "events.amazonaws.com", rule_arn),
            (
                "target its block",
                lambda: events.put_targets(
                    Rule=change.name,
                    Targets=[
                        {
                            "Id": "refinery",
                            "Arn": self.placement.arn("lambda", f"function:{spec['function']}"),
                            "Input": json.dumps(spec["input"]),
                        }
                    ],
                ),
            ),
            (
                "tag",
                lambda: events.tag_resource(
                    ResourceARN=rule_arn, Tags=[{"Key": k, "Value": v} for k, v in self.tags(change, True).items()]
                ),
            ),
        ]

    def delete_rule(self, change: Change) -> list[Step]:
        events = self.aws.client("events")
        return [
            (
                "remove targets",
                lambda: ignore(
                    ("ResourceNotFoundException",), lambda: events.remove_targets(Rule=change.name, Ids=["refinery"])
                ),
            ),
            ("delete", lambda: ignore(("ResourceNotFoundException",), lambda: events.delete_rule(Name=change.name))),
        ]

    def create_api(self, change: Change) -> list[Step]:
        gateway = self.aws.client("apigatewayv2")
        state: dict[str, str] = {}

        def create() -> None:
            api = gateway.create_api(Name=change.name, ProtocolType="HTTP", Tags=self.tags(change, False))
            state["id"] = api["ApiId"]
            gateway.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True)

        return [("create", create), *self._api_routes(change, lambda: state["id"])]

    def update_api(self, change: Change) -> list[Step]:
        return self._api_routes(change, lambda: change.existing.data["id"])

    def _api_routes(self, change: Change, api_id: Callable[[], str]) -> list[Step]:
        gateway, spec = self.aws.client("apigatewayv2"), change.desired.spec

        def clear() -> None:
            for route in gateway.get_routes(ApiId=api_id()).get("Items", []):
                gateway.delete_route(ApiId=api_id(), RouteId=route["RouteId"])
            for integration in gateway.get_integrations(ApiId=api_id()).get("Items", []):
                gateway.delete_integration(ApiId=api_id(), IntegrationId=integration["IntegrationId"])

        def routes() -> None:
            for route_key, function in spec["routes"].items():
                arn = self.placement.arn("lambda", f"function:{function}")
                integration = gateway.create_integration(
                    ApiId=api_id(),
                    IntegrationType="AWS_PROXY",
                    IntegrationUri=arn,
                    PayloadFormatVersion="2.0",
                    TimeoutInMillis=spec["timeout_ms"],
                )
                gateway.create_route(
                    ApiId=api_id(), RouteKey=route_key, Target=f"integrations/{integration['IntegrationId']}"
                )
                self.permission(
                    function,
                    f"refinery-api-{api_id()}",
                    "apigateway.amazonaws.com",
                    self.placement.arn("execute-api", f"{api_id()}/*/*"),
                )[1]()

        def tag() -> None:
            arn = f"arn:{self.placement.partition}:apigateway:{self.placement.region}::/apis/{api_id()}"
            gateway.tag_resource(ResourceArn=arn, Tags=self.tags(change, True))

        return [("clear routes", clear), ("add routes", routes), ("tag", tag)]

    def delete_api(self, change: Change) -> list[Step]:
        gateway = self.aws.client("apigatewayv2")
        return [
            (
                "delete",
                lambda: ignore(("NotFoundException",), lambda: gateway.delete_api(ApiId=change.existing.data["id"])),
            )
        ]

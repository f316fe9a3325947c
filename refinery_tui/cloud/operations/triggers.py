"""The steps of what starts a stage from outside: schedule rules and HTTP APIs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

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

        return [("create", create), *self._api_steps(change, lambda: state["id"])]

    def update_api(self, change: Change) -> list[Step]:
        return self._api_steps(change, lambda: change.existing.data["id"])

    def _api_steps(self, change: Change, api_id: Callable[[], str]) -> list[Step]:
        """The stage (made again if an earlier apply stopped before it), the routes diffed against what is there
        (new ones created, changed ones repointed, removed ones deleted: an unchanged route never stops
        answering), then the spec tag."""
        gateway, spec = self.aws.client("apigatewayv2"), change.desired.spec

        def stage() -> None:
            stages = _all(gateway, "get_stages", ApiId=api_id())
            if not any(s.get("StageName") == DEFAULT_STAGE for s in stages):
                gateway.create_stage(ApiId=api_id(), StageName=DEFAULT_STAGE, AutoDeploy=True)

        def routes() -> None:
            self._sync_routes(gateway, api_id(), spec)

        def tag() -> None:
            arn = f"arn:{self.placement.partition}:apigateway:{self.placement.region}::/apis/{api_id()}"
            gateway.tag_resource(ResourceArn=arn, Tags=self.tags(change, True))

        return [("make its stage", stage), ("sync routes", routes), ("tag", tag)]

    def _sync_routes(self, gateway: Any, api_id: str, spec: dict[str, Any]) -> None:
        integrations = {i["IntegrationId"]: i for i in _all(gateway, "get_integrations", ApiId=api_id)}
        existing = {r["RouteKey"]: r for r in _all(gateway, "get_routes", ApiId=api_id)}
        kept: set[str] = set()
        for route_key, function in spec["routes"].items():
            arn = self.placement.arn("lambda", f"function:{function}")
            self.permission(
                function,
                f"refinery-api-{api_id}",
                "apigateway.amazonaws.com",
                self.placement.arn("execute-api", f"{api_id}/*/*"),
            )[1]()
            route = existing.get(route_key)
            integration = integrations.get((route or {}).get("Target", "").removeprefix("integrations/"))
            if route is None or integration is None:
                integration = gateway.create_integration(
                    ApiId=api_id,
                    IntegrationType="AWS_PROXY",
                    IntegrationUri=arn,
                    PayloadFormatVersion="2.0",
                    TimeoutInMillis=spec["timeout_ms"],
                )
                target = f"integrations/{integration['IntegrationId']}"
                if route is None:
                    gateway.create_route(ApiId=api_id, RouteKey=route_key, Target=target)
                else:
                    gateway.update_route(ApiId=api_id, RouteId=route["RouteId"], Target=target)
            elif (
                integration.get("IntegrationUri") != arn
                or integration.get("TimeoutInMillis") != spec["timeout_ms"]
                or str(integration.get("PayloadFormatVersion")) != "2.0"
            ):
                gateway.update_integration(
                    ApiId=api_id,
                    IntegrationId=integration["IntegrationId"],
                    IntegrationUri=arn,
                    PayloadFormatVersion="2.0",
                    TimeoutInMillis=spec["timeout_ms"],
                )
            kept.add(integration["IntegrationId"])
        for route_key, route in existing.items():
            if route_key not in spec["routes"]:
                ignore(("NotFoundException",), lambda r=route: gateway.delete_route(ApiId=api_id, RouteId=r["RouteId"]))
        for integration_id in integrations.keys() - kept:
            ignore(
                ("NotFoundException", "ConflictException"),
                lambda i=integration_id: gateway.delete_integration(ApiId=api_id, IntegrationId=i),
            )

    def delete_api(self, change: Change) -> list[Step]:
        gateway = self.aws.client("apigatewayv2")
        return [
            (
                "delete",
                lambda: ignore(("NotFoundException",), lambda: gateway.delete_api(ApiId=change.existing.data["id"])),
            )
        ]


DEFAULT_STAGE = "$default"


def _all(client: Any, operation: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paginated API Gateway v2 listing."""
    return [item for page in client.get_paginator(operation).paginate(**params) for item in page.get("Items", [])]

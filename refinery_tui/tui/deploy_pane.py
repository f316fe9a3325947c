"""The Deploy pane: the target and stage, the plan, apply with a bar per resource, teardown, the AWS command log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Label, ProgressBar, Select, Static

from refinery_tui.cloud.planner import ACTION_SYMBOLS
from refinery_tui.cloud.stage import KINDS, StageTarget
from refinery_tui.tui.command_log import CommandLog
from refinery_tui.tui.deploy_job import DeployDriver, apply_plan, plan_stage
from refinery_tui.tui.deploy_table import DeployTable
from refinery_tui.tui.deploy_target import default_target
from refinery_tui.tui.messages import AwsCallsReady, DeployEventsReady, DeployFailed, DeployFinished, DeployPlanned
from refinery_tui.tui.modals import Confirm, TypeToConfirm
from refinery_tui.tui.project_state import ProjectState

FAILED_VERBS = {
    "plan": "cannot plan",
    "teardown-plan": "cannot list what to tear down",
    "apply": "the deploy stopped",
    "teardown": "the teardown stopped",
}


class DeployPane(Vertical):
    ALLOW_MAXIMIZE = True
    HELP = """\
## Deploy

Deploys the project on disk to AWS Lambda: to the local sandbox, to an AWS account through a profile, or to any
AWS-compatible endpoint (LocalStack, ...).

- **Target** (the top line; `t` goes there, `tab` moves along, Enter in a field plans): `sandbox` (its endpoint URL,
  prefilled from `AWS_ENDPOINT_URL`, else `http://127.0.0.1:4566`; a sandbox running on this machine is used with
  its own credentials; start it with `refinery-tui sandbox`), `profile` (an AWS profile and region; empty means
  boto3's usual defaults) or `endpoint` (any URL, with your own credentials); and the **stage** (default `dev`).
  The last target and stage are kept in the project's `.refinery/deploy-target.json`.
- `p` **plans**: compares the project with what is deployed on that stage (found by tags) and lists each resource:
  `+ create`, `~ update`, `- delete`, `= unchanged`, with the reason; the summary counts them.
- `a` **applies** the plan after a confirmation that lists the counts (Enter or `y` applies, Escape cancels); with
  no plan yet, it plans first. Each resource shows a bar as its steps are done; the bar at the top is the whole
  apply.
- A failed step shows in its row: the step and AWS's error (the line under the table shows the highlighted row
  whole). `r` **retries**: it plans again and applies; the deployer picks up where it stopped.
- `T` **tears down** the stage: it lists what would be deleted and asks you to type the stage name.
- `@` shows or hides the **AWS command log**: every AWS call (ok or ERR, service, operation, ms, target); the
  last 2,000 are kept.
- `j` / `k` move in the table; `z` zooms the pane.
"""

    BINDINGS = [
        Binding("p", "plan", "Plan", id="deploy.plan"),
        Binding("a", "apply", "Apply", id="deploy.apply"),
        Binding("r", "retry", "Retry", id="deploy.retry"),
        Binding("T", "teardown", "Tear down", id="deploy.teardown"),
        Binding("@", "toggle_log", "AWS log", id="deploy.log"),
        Binding("t", "focus_target", "Target", show=False, id="deploy.target"),
        Binding("j", "cursor_down", "Down", show=False, id="deploy.down"),
        Binding("k", "cursor_up", "Up", show=False, id="deploy.up"),
    ]

    def __init__(self, state: ProjectState, **kwargs) -> None:
        super().__init__(**kwargs)
        self.project_state, self.root = state, state.root
        self.driver = DeployDriver(self)
        self.busy: str | None = None
        self.plan = None
        self.deployer = None
        self.plan_target: StageTarget | None = None
        self.plan_teardown = False
        self.retry: tuple[str, StageTarget] | None = None

    def compose(self) -> ComposeResult:
        target = self.project_state.deploy_target()
        with Horizontal(id="deploy-target"):
            yield Select(
                [(kind, kind) for kind in KINDS], value=target.kind, allow_blank=False, compact=True, id="deploy-kind"
            )
            yield Input(target.endpoint, placeholder="endpoint URL", compact=True, id="deploy-endpoint")
            yield Input(target.profile, placeholder="profile (default)", compact=True, id="deploy-profile")
            yield Input(target.region, placeholder="region", compact=True, id="deploy-region")
            yield Label("stage", id="deploy-stage-label")
            yield Input(target.stage, placeholder="dev", compact=True, id="deploy-stage")
        with Horizontal(id="deploy-state"):
            yield Static("", id="deploy-status")
            yield ProgressBar(show_eta=False, id="deploy-progress")
        with Horizontal(id="deploy-body"):
            yield DeployTable(id="deploy-changes")
            yield CommandLog(id="deploy-log")
        yield Static("", id="deploy-detail")

    def on_mount(self) -> None:
        self.show_fields(self.query_one("#deploy-kind", Select).value)
        for name in ("progress", "log", "detail"):
            self.query_one(f"#deploy-{name}").display = False
        self.set_status("p plans · a applies · T tears down · @ AWS calls · f1 help")

    # widgets

    @property
    def table(self) -> DeployTable:
        return self.query_one(DeployTable)

    @property
    def progress(self) -> ProgressBar:
        return self.query_one("#deploy-progress", ProgressBar)

    @property
    def command_log(self) -> CommandLog:
        return self.query_one(CommandLog)

    def record_call(self, call: Any) -> None:
        """An AWS call another pane made, for the command log; safe to call from any thread."""
        self.driver.calls.add(call)

    def status_text(self) -> str:
        return str(self.query_one("#deploy-status", Static).render())

    def set_status(self, text: str, style: str = "") -> None:
        self.query_one("#deploy-status", Static).update(Text(text, style=style))

    def current_target(self) -> StageTarget:
        def value(name: str) -> str:
            return self.query_one(f"#deploy-{name}", Input).value.strip()

        kind = self.query_one("#deploy-kind", Select).value
        return StageTarget(
            kind if kind in KINDS else "sandbox", value("endpoint"), value("profile"), value("region"), value("stage")
        )

    def show_fields(self, kind: Any) -> None:
        self.query_one("#deploy-endpoint", Input).display = kind != "profile"
        self.query_one("#deploy-profile", Input).display = kind == "profile"

    @on(Select.Changed, "#deploy-kind")
    def kind_changed(self, event: Select.Changed) -> None:
        self.show_fields(event.value)
        endpoint = self.query_one("#deploy-endpoint", Input)
        if event.value == "sandbox" and not endpoint.value:
            endpoint.value = default_target().endpoint

    @on(Input.Submitted, "#deploy-target Input")
    def field_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()
        self.action_plan()

    def action_focus_target(self) -> None:
        self.query_one("#deploy-kind", Select).focus()

    def action_cursor_down(self) -> None:
        self.table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.table.action_cursor_up()

    def action_toggle_log(self) -> None:
        self.command_log.display = not self.command_log.display

    def is_busy(self) -> bool:
        if self.busy:
            self.notify(f"the Deploy pane is busy: {self.busy}", severity="warning")
        return bool(self.busy)

    # plan

    def action_plan(self) -> None:
        self.start_plan()

    def action_teardown(self) -> None:
        self.start_plan(teardown=True)

    def start_plan(self, teardown: bool = False, then: str | None = None, target: StageTarget | None = None) -> None:
        """Plan on a worker; `then` is "confirm" (ask to apply it) or "apply" (a retry: apply it at once)."""
        if self.is_busy():
            return
        target = target or self.current_target()
        if then == "apply":
            operation = "teardown" if teardown else "apply"
        else:
            operation = "teardown-plan" if teardown else "plan"
        problem = target.problem()
        if problem:
            self.post_message(DeployFailed(operation, problem, target))
            return
        self.project_state.choose_target(target)
        self.busy = "listing what to tear down" if teardown else "planning"
        self.set_status(
            f"{self.busy} stage {target.stage} on {target.describe()} (packaging the blocks, reading "
            "what is deployed)…",
            "yellow",
        )
        self.plan_worker(self.root, target, teardown, then, operation)

    @work(thread=True, group="deploy", exit_on_error=False)
    def plan_worker(self, root: Path, target: StageTarget, teardown: bool, then: str | None, operation: str) -> None:
        plan_stage(root, target, teardown, then, operation, self.driver)

    def on_deploy_planned(self, message: DeployPlanned) -> None:
        self.busy = None
        plan, target = message.plan, message.target
        self.plan, self.deployer, self.plan_target, self.plan_teardown = (
            plan,
            message.deployer,
            target,
            message.teardown,
        )
        self.table.show_plan(plan, message.teardown)
        self.progress.display = False
        self.show_detail(self.table.highlighted_key())
        if not plan.pending:
            self.plan = self.retry = None
            if message.teardown:
                self.set_status(
                    f"nothing of {message.deployer.project.name} stage {target.stage} is deployed on "
                    f"{target.describe()}."
                )
            else:
                self.set_status(f"plan: {plan.summary()} · nothing to change.")
        elif message.then == "apply":
            self.start_apply()
        elif message.teardown:
            self.set_status(
                f"a teardown deletes these {len(plan.pending)} resources: type the stage name to confirm", "bold red"
            )
            self.confirm_teardown()
        else:
            self.set_status(f"plan: {plan.summary()} · a applies")
            if message.then == "confirm":
                self.confirm_apply()

    # apply and teardown

    def action_apply(self) -> None:
        if self.is_busy():
            return
        if self.plan is None or self.plan_teardown or self.plan_target != self.current_target():
            self.start_plan(then="confirm")  # no plan yet, or one made for another target or stage
        else:
            self.confirm_apply()

    def confirm_apply(self) -> None:
        plan, target = self.plan, self.plan_target
        counts = plan.counts()
        lines = [
            f"Apply {len(plan.pending)} change(s) to stage {target.stage} of {self.deployer.project.name}?",
            f"Target: {target.describe()}",
            "",
        ]
        lines += [
            f"  {ACTION_SYMBOLS[action]} {counts[action]} to {action}" for action in ("create", "update", "delete")
        ]
        lines += [
            f"  {ACTION_SYMBOLS['unchanged']} {counts['unchanged']} unchanged",
            "",
            "Enter or y applies; Escape or n cancels.",
        ]

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.start_apply()
            else:
                self.set_status(f"nothing changed. plan: {plan.summary()} · a applies")

        self.app.push_screen(Confirm("\n".join(lines)), confirmed)

    def confirm_teardown(self) -> None:
        plan, target = self.plan, self.plan_target
        kinds: dict[str, int] = {}
        for change in plan.pending:
            kinds[change.kind] = kinds.get(change.kind, 0) + 1
        listed = ", ".join(f"{kind} ×{count}" for kind, count in sorted(kinds.items()))
        question = (
            f"Tear down stage {target.stage} of {self.deployer.project.name}?\n"
            f"Target: {target.describe()}\n\n"
            f"This deletes {len(plan.pending)} resources ({listed}) and cannot be undone.\n\n"
            f"Type the stage name ({target.stage}) and press Enter; Escape cancels."
        )

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.start_apply()
            else:
                self.plan = None
                self.set_status("nothing deleted.")

        self.app.push_screen(TypeToConfirm(question, target.stage), confirmed)

    def start_apply(self) -> None:
        plan, deployer, target, teardown = self.plan, self.deployer, self.plan_target, self.plan_teardown
        if plan is None or deployer is None or self.is_busy():
            return
        self.plan = None  # a plan is carried out once; the next `a` plans again
        self.busy = "tearing down" if teardown else "applying"
        for change in plan.pending:
            self.table.set_state(change.id, "waiting")
        self.progress.display = True
        self.progress.update(total=None, progress=0)
        self.set_status(f"{self.busy} {len(plan.pending)} change(s) on stage {target.stage}…", "yellow")
        self.apply_worker(deployer, plan, target, teardown)

    @work(thread=True, group="deploy", exit_on_error=False)
    def apply_worker(self, deployer, plan, target: StageTarget, teardown: bool) -> None:
        apply_plan(deployer, plan, target, teardown, self.driver)

    def on_deploy_events_ready(self, message: DeployEventsReady) -> None:
        self.apply_events(self.driver.take_events())

    def apply_events(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        table = self.table
        with self.app.batch_update():
            for event in events:
                kind, key = event["event"], event.get("id")
                if kind == "apply_started":
                    self.progress.update(total=max(event["steps"], 1), progress=0)
                elif kind == "resource_started":
                    table.set_state(key, "running", 0, event["steps"])
                elif kind == "resource_step":
                    table.set_state(key, "running", event["done"], event["steps"])
                    self.progress.advance(1)
                elif kind == "resource_done":
                    table.set_state(key, "done")
                elif kind == "resource_waiting":
                    table.note(key, event["message"])
                elif kind == "resource_failed":
                    table.fail(key, event["step"], event["error"])
                elif kind == "resource_skipped":
                    table.skip(key, event.get("reason", ""))
        self.show_detail(table.highlighted_key())
        if self.busy:
            self.set_status(
                f"{self.busy}: {table.finished_count()} of {len(table.states)} change(s) finished…", "yellow"
            )

    def on_deploy_finished(self, message: DeployFinished) -> None:
        self.apply_events(self.driver.take_events())
        self.busy = None
        result, target = message.result, message.target
        if result.ok:
            total = self.progress.total or 1
            self.progress.update(total=total, progress=total)
        if message.teardown:
            left = message.left or []
            if result.ok and not left:
                self.retry = None
                self.set_status(f"✓ torn down: {len(result.done)} resources deleted.", "green")
            else:
                self.retry = ("teardown", target)
                self.set_status(
                    f"✗ teardown incomplete: {len(left)} resource(s) left: {', '.join(left)} · r retries", "bold red"
                )
        elif result.ok:
            self.retry = None
            self.set_status(
                f"✓ deployed: {len(result.done)} change(s) in {result.seconds:.1f} s "
                f"({message.write_calls} AWS write calls)",
                "green",
            )
        else:
            self.retry = ("apply", target)
            self.set_status(
                f"✗ deploy failed: {len(result.failures)} step(s) failed; {len(result.done)} change(s) "
                f"made, {len(result.skipped)} not tried · r retries: it picks up where this one stopped",
                "bold red",
            )
        if self.table.failures:
            self.table.move_cursor(row=self.table.get_row_index(next(iter(self.table.failures))))

    def on_deploy_failed(self, message: DeployFailed) -> None:
        self.apply_events(self.driver.take_events())
        self.busy = None
        target = message.target or self.current_target()
        # a teardown is retried only after its typed confirmation was given
        self.retry = None if message.operation == "teardown-plan" else (message.operation, target)
        self.set_status(
            f"✗ {FAILED_VERBS.get(message.operation, message.operation)}: {message.error}"
            + (" · r retries" if self.retry else ""),
            "bold red",
        )

    def action_retry(self) -> None:
        if self.is_busy():
            return
        if self.retry is None:
            self.notify("nothing to retry: `r` re-runs a plan, deploy or teardown that failed")
            return
        operation, target = self.retry
        if operation == "plan":
            self.start_plan()  # with the fields as they are now: the cause may have been a typo there
        else:
            self.start_plan(teardown=operation == "teardown", then="apply", target=target)

    # the line under the table, and the AWS log

    @on(DataTable.RowHighlighted, "#deploy-changes")
    def row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail(event.row_key.value if event.row_key is not None else None)

    def show_detail(self, key: str | None) -> None:
        detail = self.query_one("#deploy-detail", Static)
        detail.display = key is not None
        if key is not None:
            detail.update(self.table.describe(key))

    def on_aws_calls_ready(self, message: AwsCallsReady) -> None:
        self.command_log.add_calls(self.driver.calls.take())

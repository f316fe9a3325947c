"""Structure editing: add, rename and delete blocks; add, change and remove transitions (asked in dialogs,
validated by the model, written by the writer with comments kept)."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App

from refinery_tui.model import schema
from refinery_tui.model.project import CodeBlock, ModelError, Project, Transition, make_block
from refinery_tui.model.writer import save_project
from refinery_tui.tui.block_tree import BlockTree
from refinery_tui.tui.modals import Ask, Confirm
from refinery_tui.tui.project_state import ProjectState


def parse_transition(answer: str) -> tuple[str, str, str | None]:
    """`TARGET [TYPE [EXPRESSION]]` → (target, type, expression); the type defaults to then."""
    parts = answer.split(maxsplit=2)
    return parts[0], parts[1] if len(parts) > 1 else "then", parts[2] if len(parts) > 2 else None


def code_template(language: str) -> str:
    """The code file a new code block starts with."""
    if language == "node":
        return "exports.main = async (blockInput, backpack) => {\n  return blockInput;\n};\n"
    return "def main(block_input, backpack):\n    return block_input\n"


class StructureEditor:
    """The flows behind the tree's structure keys: each asks in a dialog, changes the model, writes project.yaml,
    then asks for a validation (`revalidate`) and puts the tree's cursor on the block the change concerns."""

    def __init__(self, app: App, tree: BlockTree, state: ProjectState, revalidate: Callable[[], None]) -> None:
        self.app = app
        self.tree = tree
        self.state = state
        self.revalidate = revalidate
        self.select_after_reload: str | None = None

    def reloaded(self) -> None:
        """The tree shows the validated project: select the block the last change named."""
        if self.select_after_reload:
            self.tree.call_after_refresh(self.tree.select_block, self.select_after_reload)
            self.select_after_reload = None

    def edit(self, change: Callable[[Project], None], description: str, select: str | None = None) -> None:
        """Apply a change to the model and write it; on failure nothing is written and the reason is shown."""
        project = self.state.project
        if project is None:
            return
        try:
            change(project)
            save_project(project)
        except (ModelError, OSError) as exc:
            self.app.notify(f"not done: {exc}", title=description, severity="error")
            self.revalidate()
            return
        self.app.notify(description)
        self.select_after_reload = select
        self.revalidate()

    # blocks

    EDITS = ("add_block", "rename_block", "delete_block", "add_transition", "edit_transition", "delete_transition")

    def start(self, edit: str) -> None:
        """Start one of the EDITS by name (the app's bindings)."""
        if edit in self.EDITS:
            getattr(self, edit)()

    def add_block(self) -> None:
        def named(answer: str | None) -> None:
            if not answer:
                return
            parts = answer.split()
            name, kind = parts[0], parts[1] if len(parts) > 1 else "code"
            language = parts[2] if len(parts) > 2 else "python"
            if kind not in schema.BLOCK_TYPES:
                self.app.notify(f"unknown block type '{kind}' ({', '.join(schema.BLOCK_TYPES)})", severity="error")
                return

            def change(project: Project) -> None:
                block = make_block(name, kind, language=language) if kind == "code" else make_block(name, kind)
                project.add_block(block)
                if isinstance(block, CodeBlock):
                    path = self.state.root / block.code_file
                    if not path.exists():
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_text(code_template(language))
                selected = self.tree.selected_block
                if (
                    selected
                    and selected in project.blocks
                    and selected != name
                    and "then" in schema.allowed_transitions(project.blocks[selected].type, kind)
                ):
                    project.add_transition(Transition(selected, name, type_written=False))

            self.edit(change, f"add block '{name}'", select=name)

        self.app.push_screen(
            Ask(
                "New block: NAME [TYPE [LANGUAGE]]\n(joined to the selected block by `then` where that is allowed)",
                placeholder="my-block code python",
            ),
            named,
        )

    def rename_block(self) -> None:
        old = self.tree.selected_block
        if old is None:
            return

        def renamed(new: str | None) -> None:
            if new and new != old:
                self.edit(lambda project: project.rename_block(old, new), f"rename '{old}' to '{new}'", select=new)

        self.app.push_screen(Ask(f"Rename block '{old}' to:", old), renamed)

    def delete_block(self) -> None:
        block = self.tree.selected_block
        if block is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.edit(
                    lambda project: project.remove_block(block), f"delete block '{block}' (its code file is kept)"
                )

        self.app.push_screen(Confirm(f"Delete block '{block}' and its transitions? Its code file stays."), confirmed)

    # transitions

    def add_transition(self) -> None:
        source = self.tree.selected_block
        if source is None:
            return

        def answered(answer: str | None) -> None:
            if not answer:
                return
            target, kind, expression = parse_transition(answer)
            problem = self.transition_problem(source, target, kind, expression)
            if problem:
                self.app.notify(problem, severity="error")
                return
            self.edit(
                lambda project: project.add_transition(
                    Transition(source, target, kind, expression, type_written=kind != "then")
                ),
                f"add {kind} transition {source} → {target}",
                select=source,
            )

        self.app.push_screen(
            Ask(
                f"New transition from '{source}': TARGET [TYPE [EXPRESSION]]",
                placeholder="next-block if return_data['ok']",
            ),
            answered,
        )

    def edit_transition(self) -> None:
        """Change the transition that leads to the selected node: its target, type or expression."""
        selected = self.selected_transition("change")
        if selected is None:
            return
        index, via = selected
        current = f"{via.target} {via.type}" + (f" {via.expression}" if via.expression else "")

        def answered(answer: str | None) -> None:
            if not answer:
                return
            target, kind, expression = parse_transition(answer)
            problem = self.transition_problem(via.source, target, kind, expression)
            if problem:
                self.app.notify(problem, severity="error")
                return

            def change(project: Project) -> None:
                transition = project.transitions[index]
                project.block(target)
                transition.target, transition.type, transition.expression = target, kind, expression
                transition.type_written = transition.type_written or kind != "then"

            self.edit(change, f"change the transition {via.source} → {target} ({kind})", select=target)

        self.app.push_screen(
            Ask(f"Change the transition from '{via.source}': TARGET TYPE [EXPRESSION]", current), answered
        )

    def delete_transition(self) -> None:
        selected = self.selected_transition("remove")
        if selected is None:
            return
        index, via = selected

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.edit(
                    lambda project: project.remove_transition(index),
                    f"remove the {via.type} transition {via.source} → {via.target}",
                    select=via.source,
                )

        self.app.push_screen(Confirm(f"Remove the {via.type} transition {via.source} → {via.target}?"), confirmed)

    def selected_transition(self, verb: str) -> tuple[int, Transition] | None:
        """(index, transition) of the transition leading to the tree's cursor node, or None (and a hint)."""
        selected = self.tree.selected_transition()
        if selected is None:
            self.app.notify(f"select a block reached by a transition to {verb} that transition")
        return selected

    def allowed(self, source: str, target: str) -> tuple[str, ...] | None:
        project = self.state.project
        if project is None or source not in project.blocks or target not in project.blocks:
            return None
        return schema.allowed_transitions(project.blocks[source].type, project.blocks[target].type)

    def transition_problem(self, source: str, target: str, kind: str, expression: str | None) -> str | None:
        """Why a transition cannot be written, or None."""
        if kind not in schema.TRANSITION_TYPES:
            return f"unknown transition type '{kind}' ({', '.join(schema.TRANSITION_TYPES)})"
        if kind == "if" and not expression:
            return "an `if` transition needs an expression: TARGET if EXPRESSION"
        if kind != "if" and expression:
            return "only an `if` transition takes an expression"
        if expression is not None:
            from refinery_tui.runtime.expressions import ExpressionSyntaxError, compile_expression

            try:
                compile_expression(expression)
            except ExpressionSyntaxError as exc:
                return f"the expression does not work: {exc.message}"
        allowed = self.allowed(source, target)
        if allowed is not None and kind not in allowed:
            return f"'{kind}' cannot join '{source}' to '{target}'; allowed: {', '.join(allowed) or 'none'}"
        project = self.state.project
        if project is not None and target not in project.blocks:
            return f"no block named '{target}'"
        return None

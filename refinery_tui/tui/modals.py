"""Modal screens: confirm, confirm by typing a word, choose, ask for text, show text (help, keys, diffs)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Markdown, Static


class Confirm(ModalScreen[bool]):
    BINDINGS = [
        Binding("escape", "dismiss(False)", "Cancel", id="modal.cancel"),
        Binding("y", "dismiss(True)", "Yes", id="modal.yes"),
        Binding("n", "dismiss(False)", "No", id="modal.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, markup=False)  # a Static wraps a long question; a Label cuts it
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class Choose(ModalScreen[str]):
    """A question with a few answers, each with a key."""

    BINDINGS = [Binding("escape", "dismiss('')", "Cancel", id="modal.cancel")]

    def __init__(self, question: str, choices: list[tuple[str, str, str]]) -> None:
        """choices: (value, key, label)"""
        super().__init__()
        self.question = question
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question)
            with Horizontal(classes="buttons"):
                for value, key, label in self.choices:
                    yield Button(f"{label} ({key})", id=f"choice-{value}")

    def on_key(self, event) -> None:
        for value, key, _ in self.choices:
            if event.key == key:
                event.stop()
                self.dismiss(value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id.removeprefix("choice-"))


class Ask(ModalScreen[str]):
    """Ask for a line of text; Enter accepts, Escape cancels (None)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="modal.cancel")]

    def __init__(self, question: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.question = question
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question)
            yield Input(self.value, placeholder=self.placeholder, id="ask-input")
            yield Static("", id="ask-error", classes="error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ShowText(ModalScreen[None]):
    """Markdown to read (help, settings, a diff); Escape or q closes it."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="modal.close"),
        Binding("q", "dismiss", "Close", show=False, id="modal.quit"),
    ]

    def __init__(self, markdown: str) -> None:
        super().__init__()
        self.markdown = markdown

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog wide"):
            yield Markdown(self.markdown)


class TypeToConfirm(ModalScreen[bool]):
    """A destructive action: it goes ahead only when the expected word is typed; Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="modal.cancel")]

    def __init__(self, question: str, expected: str) -> None:
        super().__init__()
        self.question = question
        self.expected = expected

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, markup=False)
            yield Input(placeholder=self.expected, id="confirm-input")
            yield Static("", id="confirm-error", classes="error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == self.expected:
            self.dismiss(True)
        else:
            self.query_one("#confirm-error", Static).update(f"type {self.expected!r} exactly, or Escape to cancel")

    def action_cancel(self) -> None:
        self.dismiss(False)


class HelpScreen(ShowText):
    """The help of the focused pane (the nearest widget with a HELP text), then the app's."""

    def __init__(self, focused: Widget | None, app_help: str) -> None:
        widget = focused
        while widget is not None and not getattr(widget, "HELP", None):
            widget = widget.parent
        super().__init__((getattr(widget, "HELP", None) or app_help) + "\n\n" + app_help)


class KeysScreen(ShowText):
    """The keys that work here (the active bindings, each once, with its id for remapping)."""

    def __init__(self, bindings: Mapping[str, ActiveBinding], keymap_file: Path) -> None:
        rows = ["## Keys", "", "| key | does | id |", "| --- | --- | --- |"]
        seen = set()
        for key, active in bindings.items():
            binding = active.binding
            if binding.description and (binding.id or key) not in seen:
                seen.add(binding.id or key)
                rows.append(f"| `{binding.key_display or key}` | {binding.description} | `{binding.id or ''}` |")
        rows += ["", f'Remap keys in `{keymap_file}` (a `[keymap]` table of binding id = "keys").']
        super().__init__("\n".join(rows))

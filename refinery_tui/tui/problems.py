"""The Problems pane: validation errors and warnings with their place; Enter opens the place in the editor; the
highlighted one shown whole below the table."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Static

from refinery_tui.model.diagnostics import Diagnostic
from refinery_tui.tui.messages import OpenFile


class ProblemsPane(DataTable):
    ALLOW_MAXIMIZE = True
    HELP = """\
## Problems

Every validation error and warning of the project, with its place (`file:line:col`) and a hint. The list is
refreshed whenever a file is saved. `enter` opens the file at that place; `j` / `k` move.
"""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="problems.down"),
        Binding("k", "cursor_up", "Up", show=False, id="problems.up"),
    ]

    @dataclass
    class Highlighted(Message):
        """A problem was highlighted (its detail shows it whole)."""

        diagnostic: Diagnostic

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.diagnostics: list[Diagnostic] = []
        self.project_root = None

    def on_mount(self) -> None:
        self.add_columns("", "place", "problem")

    def show(self, diagnostics: list[Diagnostic], root) -> None:
        self.project_root = root
        self.diagnostics = list(diagnostics)
        self.clear()
        for index, diagnostic in enumerate(self.diagnostics):
            mark = Text("✗", style="bold red") if diagnostic.is_error else Text("!", style="yellow")
            message = diagnostic.message + (f"  ({diagnostic.hint})" if diagnostic.hint else "")
            self.add_row(mark, f"{diagnostic.file}:{diagnostic.line}:{diagnostic.col}", message, key=str(index))

    def tab_label(self) -> str:
        """The tab's label: `Problems`, with the counts when there are some."""
        errors = sum(1 for diagnostic in self.diagnostics if diagnostic.is_error)
        warnings = len(self.diagnostics) - errors
        return "Problems" + (f" ({errors}✗ {warnings}!)" if errors or warnings else "")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is not None and self.diagnostics:
            self.post_message(self.Highlighted(self.diagnostics[int(event.row_key.value)]))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        diagnostic = self.diagnostics[int(event.row_key.value)]
        self.post_message(OpenFile(self.project_root / diagnostic.file, diagnostic.line, diagnostic.col))


class ProblemDetail(Static):
    """The whole message and hint of the highlighted problem (the table cuts long ones)."""

    def show(self, diagnostic: Diagnostic) -> None:
        text = f"{diagnostic.file}:{diagnostic.line}:{diagnostic.col}: {diagnostic.message}"
        if diagnostic.hint:
            text += f"\nhint: {diagnostic.hint}"
        self.update(Text(text))

"""The Problems pane: validation errors and warnings with their place; Enter opens the place in the editor."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

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

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        diagnostic = self.diagnostics[int(event.row_key.value)]
        self.post_message(OpenFile(self.project_root / diagnostic.file, diagnostic.line, diagnostic.col))

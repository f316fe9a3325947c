"""The editor: one tab per open file, syntax highlighted, atomic save, a dirty marker, on-disk changes (reload,
or ask when there are unsaved edits), `$EDITOR`."""

from __future__ import annotations

import difflib
import os
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path

from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static, TabbedContent, TabPane, TextArea

from refinery_tui.model.files import atomic_write_text
from refinery_tui.tui.messages import FileSaved

LANGUAGES = {
    ".py": "python",
    ".js": "javascript",
    ".cjs": "javascript",
    ".mjs": "javascript",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".md": "markdown",
}


def _tab_id(path: Path) -> str:
    return "file-" + "".join(c if c.isalnum() else "-" for c in str(path))


class CodeEditor(TextArea):
    """A TextArea that knows its file, what was last saved, and whether it has unsaved edits."""

    BINDINGS = [
        Binding("ctrl+end", "document_end", "End of file", show=False, id="editor.end"),
        Binding("ctrl+home", "document_start", "Start of file", show=False, id="editor.start"),
    ]

    def __init__(self, path: Path, text: str) -> None:
        super().__init__(
            text,
            language=LANGUAGES.get(path.suffix),
            theme="css",
            soft_wrap=False,
            tab_behavior="indent",
            show_line_numbers=True,
            id=f"editor-{_tab_id(path)}",
        )
        self.path = path
        self.saved_text = text
        self.disk_stamp = _stamp(path)

    @property
    def dirty(self) -> bool:
        return self.text != self.saved_text

    def action_document_end(self) -> None:
        self.move_cursor(self.document.end)

    def action_document_start(self) -> None:
        self.move_cursor((0, 0))


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


class EditorPane(Vertical):
    ALLOW_MAXIMIZE = True
    HELP = """\
## Editor

Edits the block's code (or `project.yaml`) with syntax highlighting. Each open file has a tab; `●` marks unsaved
edits.

- `ctrl+s`: save (atomically: a crash never leaves half a file). Saving a block re-runs the last execution from
  that block when auto re-run is on (`a` in the Run pane toggles it).
- `ctrl+o`: edit the file in `$EDITOR`; the workbench suspends and picks the change up afterwards.
- `ctrl+t`: close the tab (asks first when there are unsaved edits); `escape` goes back to the tree.
- `ctrl+home` / `ctrl+end`: the start / end of the file.
- When the file changes on disk while you have unsaved edits (or right before you save), you choose: reload,
  keep yours, or see the diff.
"""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="editor.save"),  # not priority: keys typed before it land first
        Binding("ctrl+t", "close_tab", "Close tab", id="editor.close"),  # ctrl+w deletes a word in the editor
        Binding("ctrl+o", "external_editor", "$EDITOR", id="editor.external"),
    ]

    def compose(self):
        yield Static("No file open: choose a block in the tree (Enter).", id="editor-empty")
        yield TabbedContent(id="editor-tabs")

    @property
    def tabs(self) -> TabbedContent:
        return self.query_one("#editor-tabs", TabbedContent)

    def editors(self) -> list[CodeEditor]:
        return list(self.query(CodeEditor))

    def editor_for(self, path: Path) -> CodeEditor | None:
        path = path.resolve()
        return next((editor for editor in self.editors() if editor.path == path), None)

    @property
    def current(self) -> CodeEditor | None:
        pane = self.tabs.active_pane
        if pane is None:
            return None
        found = pane.query(CodeEditor)
        return found.first() if found else None

    async def open(self, path: Path, line: int | None = None, column: int | None = None) -> CodeEditor:
        path = path.resolve()
        editor = self.editor_for(path)
        if editor is None:
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                text = ""
            editor = CodeEditor(path, text)
            pane = TabPane(path.name, editor, id=_tab_id(path))
            await self.tabs.add_pane(pane)
            self.query_one("#editor-empty").display = False
        self.tabs.active = _tab_id(path)
        if line is not None:
            editor.move_cursor((max(line - 1, 0), max((column or 1) - 1, 0)), center=True)
        editor.focus()
        return editor

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if isinstance(event.text_area, CodeEditor):
            self._mark(event.text_area)

    def _mark(self, editor: CodeEditor) -> None:
        try:
            tab = self.tabs.get_tab(_tab_id(editor.path))
        except Exception:  # noqa: BLE001 - the tab is being removed
            return
        tab.label = ("● " if editor.dirty else "") + editor.path.name

    def save(self, editor: CodeEditor) -> bool:
        """Write the tab to its file; when the file changed on disk since it was read, ask first (False)."""
        if self.changed_on_disk(editor):
            self.resolve_conflict(editor, saving=True)
            return False
        atomic_write_text(editor.path, editor.text)
        editor.saved_text = editor.text
        editor.disk_stamp = _stamp(editor.path)
        self._mark(editor)
        self.saved(editor.path)
        return True

    def saved(self, path: Path) -> None:
        """Say a file was saved (a Python syntax error at once, as a notification)."""
        if path.suffix == ".py":
            from refinery_tui.model.code_check import check_python

            problems = check_python(path.read_text(encoding="utf-8"))
            if problems and problems[0].message.startswith("Python syntax error"):
                self.notify(f"{path.name}:{problems[0].line}: {problems[0].message}", severity="error")
        self.post_message(FileSaved(path))

    def action_save(self) -> None:
        editor = self.current
        if editor is not None and self.save(editor):
            self.notify(f"saved {editor.path.name}", timeout=2)

    def reload(self, editor: CodeEditor) -> None:
        try:
            text = editor.path.read_text(encoding="utf-8")
        except OSError:
            return
        editor.load_text(text)
        editor.saved_text = text
        editor.disk_stamp = _stamp(editor.path)
        self._mark(editor)

    def changed_on_disk(self, editor: CodeEditor) -> bool:
        return _stamp(editor.path) != editor.disk_stamp

    def take_disk_change(self, path: Path) -> bool:
        """A file changed on disk: reload its tab if it has no unsaved edits, ask if it has. False when the change
        is not news (our own save, or a conflict the user now decides)."""
        editor = self.editor_for(path)
        if editor is None:
            return True
        if not self.changed_on_disk(editor):
            return False
        if editor.dirty:
            self.resolve_conflict(editor)
            return False
        self.reload(editor)
        return True

    def resolve_conflict(self, editor: CodeEditor, saving: bool = False) -> None:
        """Ask what to do with a tab whose file changed on disk; `saving`: asked by a save, which "keep" finishes."""
        from refinery_tui.tui.modals import Choose, ShowText

        def chosen(choice: str | None) -> None:
            if choice == "reload":
                self.reload(editor)
            elif choice == "keep":
                editor.disk_stamp = _stamp(editor.path)  # the disk's version is seen: the next save overwrites it
                if saving and self.save(editor):
                    self.notify(f"saved {editor.path.name} over the version on disk", timeout=3)
                elif not saving:
                    self.notify("keeping your edits; ctrl+s overwrites the file on disk")
            elif choice == "diff":
                disk = editor.path.read_text(encoding="utf-8") if editor.path.exists() else ""
                diff = "".join(
                    difflib.unified_diff(disk.splitlines(True), editor.text.splitlines(True), "on disk", "your edits")
                )
                self.app.push_screen(
                    ShowText(f"## {editor.path.name}: on disk → your edits\n\n```diff\n{diff}\n```"),
                    lambda _: self.resolve_conflict(editor, saving),
                )

        self.app.push_screen(
            Choose(
                f"{editor.path.name} changed on disk, and you have unsaved edits.",
                [("reload", "r", "Reload from disk"), ("keep", "k", "Keep mine"), ("diff", "d", "Show diff")],
            ),
            chosen,
        )

    async def action_external_editor(self) -> None:
        """Save, suspend the workbench and edit the file in `$VISUAL` / `$EDITOR`; pick the change up after."""
        editor = self.current
        if editor is None:
            return
        if editor.dirty and not self.save(editor):
            return
        command = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi") + [str(editor.path)]
        try:
            with self.app.suspend():
                subprocess.run(command, check=False)
        except (OSError, Exception) as exc:  # noqa: BLE001 - a missing editor is a notification
            self.notify(f"cannot start the editor: {exc}", severity="error")
            return
        self.reload(editor)
        self.saved(editor.path)

    async def close(self, editor: CodeEditor) -> None:
        await self.tabs.remove_pane(_tab_id(editor.path))
        if not self.editors():
            self.query_one("#editor-empty").display = True

    def focus_current(self) -> None:
        if self.current is not None:
            self.current.focus()

    def confirm_losing_edits(self, doing: str, then: Callable[[], object]) -> None:
        """`then()` at once when no file has unsaved edits; else after asking ("Quit and lose the unsaved edits
        in a.py?")."""
        dirty = [editor.path.name for editor in self.editors() if editor.dirty]
        if not dirty:
            then()
            return
        from refinery_tui.tui.modals import Confirm

        def confirmed(yes: bool | None) -> None:
            if yes:
                then()

        self.app.push_screen(Confirm(f"{doing} and lose the unsaved edits in {', '.join(dirty)}?"), confirmed)

    async def action_close_tab(self) -> None:
        editor = self.current
        if editor is None:
            return
        if editor.dirty:
            from refinery_tui.tui.modals import Confirm

            async def closing(confirmed: bool | None) -> None:
                if confirmed:
                    await self.close(editor)

            self.app.push_screen(Confirm(f"Close {editor.path.name} and lose its unsaved edits?"), closing)
            return
        await self.close(editor)

"""The Run pane's input box: the JSON a run starts with, the paused invocation's input while stepping (edits go to
the run), and the inputs kept with the project (`input.json`, `inputs/NAME.json`, the last input of each block)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.widgets import TextArea

from refinery_tui import saved_inputs
from refinery_tui.model import schema
from refinery_tui.model.files import atomic_write_text
from refinery_tui.model.run_data import run_data_folder
from refinery_tui.tui.modals import Ask, Choose
from refinery_tui.tui.run_view import compact_json


class RunInput(TextArea):
    def __init__(self, root: Path, **kwargs: Any) -> None:
        super().__init__("{}", language="json", show_line_numbers=False, compact=True, tab_behavior="focus", **kwargs)
        self.root = root
        self.user_text: str | None = None  # what the user had typed, while a paused invocation's input shows
        self.pending_text: str | None = None  # the paused invocation's input as shown

    def value(self) -> Any:
        """The box's JSON; raises ValueError with the place of a mistake."""
        return saved_inputs.loads_input(self.text.strip() or "null", "input")  # an InputError is a ValueError

    def set_value(self, value: Any) -> None:
        self.load_text(compact_json(value))

    # stepping: the box holds the paused invocation's input

    def start_run(self) -> None:
        self.user_text = self.text

    def show_pending(self, value: Any) -> None:
        self.set_value(value)
        self.pending_text = compact_json(value)

    def edited_pending(self) -> Any:
        """The paused invocation's input as edited, or None when it was not changed; raises ValueError."""
        if self.pending_text is None:
            return None
        value = self.value()
        return value if compact_json(value) != self.pending_text else None

    def end_run(self) -> None:
        """Put back what the user had typed, if stepping showed pending inputs here."""
        if self.pending_text is not None and self.user_text is not None:
            self.load_text(self.user_text)
        self.pending_text = None

    # inputs kept with the project

    def load_saved(self, entry: str | None) -> None:
        """Start with the last input given to the entry block (here or by an invoke), the last input run, or the
        project's own `input.json` example."""
        value = saved_inputs.recall(self.root, entry)
        if value is not None:
            self.set_value(value)

    def remember(self, value: Any, entry: str | None) -> None:
        """Keep the input for the entry block (and as `.refinery/last-input.json`), shared with the Invoke pane."""
        try:
            if entry is not None:
                saved_inputs.remember(self.root, entry, value)
            else:
                atomic_write_text(run_data_folder(self.root) / "last-input.json", json.dumps(value, indent=2))
        except (OSError, TypeError, ValueError):
            pass

    def named_inputs(self) -> dict[str, Path]:
        """Named inputs kept with the project: `input.json` and `inputs/NAME.json`."""
        found = {}
        if (self.root / "input.json").is_file():
            found["input"] = self.root / "input.json"
        for path in sorted((self.root / "inputs").glob("*.json")):
            found[path.stem] = path
        return found

    def save_as(self) -> None:
        try:
            value = self.value()
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return

        def named(name: str | None) -> None:
            slug = schema.slugify(name or "", 40, fallback="")
            if not slug:
                return
            atomic_write_text(self.root / "inputs" / f"{slug}.json", json.dumps(value, indent=2) + "\n")
            self.notify(f"saved the input as inputs/{slug}.json")

        self.app.push_screen(Ask("Save the input as (a name; it goes to inputs/NAME.json):"), named)

    def load(self) -> None:
        inputs = list(self.named_inputs().items())[:9]
        if not inputs:
            self.notify("no saved inputs yet: `Input: Save as` keeps the current one")
            return

        def chosen(name: str | None) -> None:
            path = dict(inputs).get(name or "")
            if path is None:
                return
            try:
                self.set_value(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError) as exc:
                self.notify(f"{path.name}: {exc}", severity="error")

        self.app.push_screen(
            Choose("Load which input?", [(name, str(index + 1), name) for index, (name, _) in enumerate(inputs)]),
            chosen,
        )

"""Moving around the workbench: zoom the focused pane, and back out of whatever is in front (escape)."""

from __future__ import annotations

from textual.screen import ModalScreen, Screen
from textual.widget import Widget

PANES = ("tree", "editor", "run", "deploy", "invoke", "logs", "problems", "bottom")


def zoom(screen: Screen, focused: Widget | None) -> None:
    """Maximize the pane the focus is in; or, when one is maximized, show them all again."""
    if screen.maximized is not None:
        screen.minimize()
        return
    widget = focused
    while widget is not None and widget.parent is not None and widget.id not in PANES:
        widget = widget.parent
    if widget is not None:
        screen.maximize(widget, container=False)


def back(screen: Screen, focused: Widget | None, home: Widget) -> None:
    """Escape backs out of anything: a dialog, something of a pane's own (the Logs pane's filter: its
    `back_out()` says so), a zoomed pane, the editor or the input (to `home`, the tree)."""
    if isinstance(screen, ModalScreen):
        screen.dismiss(None)
    elif focused is not None and any(
        getattr(widget, "back_out", lambda: False)() for widget in focused.ancestors_with_self
    ):
        pass
    elif screen.maximized is not None:
        screen.minimize()
    elif focused is not None and focused is not home:
        home.focus()

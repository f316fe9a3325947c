"""The bottom tabs (Run, Deploy, Invoke, Logs, Problems): show one by its pane's id, relabel one."""

from __future__ import annotations

from textual.widgets import TabbedContent


class BottomTabs(TabbedContent):
    """Tabs whose panes are `tab-NAME` for the pane `NAME` (run, deploy, invoke, logs, problems)."""

    def show(self, pane: str) -> None:
        self.active = f"tab-{pane}"

    def set_label(self, pane: str, label: str) -> None:
        self.get_tab(f"tab-{pane}").label = label

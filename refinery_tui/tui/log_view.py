"""A virtual list of log lines (Toolong's way): only the visible rows are drawn, from a LogBuffer; cursor, follow."""

from __future__ import annotations

import textwrap
import zlib
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from refinery_tui.tui.logbuffer import BLOCK, CLOCK, EXECUTION, KIND, LEVEL, PARTS, SEQ, TEXT, Entry, LogBuffer

BLOCK_COLOURS = (
    "dark_cyan",
    "magenta",
    "green3",
    "dodger_blue1",
    "orange3",
    "medium_purple1",
    "deep_pink3",
    "spring_green3",
    "steel_blue1",
    "gold3",
    "turquoise2",
    "orchid",
)
"""One per block (in the order of the stage's sorted block names, so a project's colours are stable)."""
LEVEL_LABELS = {"DEBUG": "DEBUG", "INFO": "INFO ", "WARN": "WARN ", "ERROR": "ERROR", "PLATFORM": "PLAT "}
LEVEL_STYLES = {
    "DEBUG": Style(dim=True),
    "INFO": Style(color="green"),
    "WARN": Style(color="yellow", bold=True),
    "ERROR": Style(color="red", bold=True),
    "PLATFORM": Style(dim=True, italic=True),
}
MESSAGE_STYLES = {
    "DEBUG": Style(dim=True),
    "WARN": Style(color="yellow"),
    "ERROR": Style(color="red"),
    "PLATFORM": Style(dim=True),
}
RECORD_STYLE = Style(bold=True)
BLOCK_WIDTH = (5, 16)
"""The block column is as wide as the longest block name, within these bounds (longer names end in …)."""
TIME_WIDTH, EXECUTION_WIDTH, LEVEL_WIDTH = 12, 6, 5
STRIPS_KEPT = 256
"""Lines whose drawn rows are kept (a screen shows a few dozen; each kept strip is a dozen objects for the GC)."""
CONTINUATION_INDENT = 4
"""Wrapped rows start under the message when there is room (30 cells), else this far in."""


def prefix_width(block_width: int) -> int:
    return TIME_WIDTH + 1 + block_width + 1 + EXECUTION_WIDTH + 1 + LEVEL_WIDTH + 1


class LogView(ScrollView, can_focus=True, inherit_bindings=False):
    """Draws the buffer's shown entries; the pane adds lines, this keeps the cursor, following and wrapping."""

    COMPONENT_CLASSES = {"log-view--cursor", "log-view--dim"}
    DEFAULT_CSS = """
    LogView {
        overflow-y: scroll;
        overflow-x: auto;
        background: $surface;
        scrollbar-size-vertical: 1;
        &.-wrap { overflow-x: hidden; }
        & > .log-view--cursor { background: $accent 25%; }
        &:focus > .log-view--cursor { background: $accent 50%; }
        & > .log-view--dim { color: $text-muted; }
    }
    """
    BINDINGS = [
        Binding("j,down", "cursor_down", "Down", show=False, id="logs.down"),
        Binding("k,up", "cursor_up", "Up", show=False, id="logs.up"),
        Binding("pagedown,space", "page_down", "Page down", show=False, id="logs.page_down"),
        Binding("pageup,b", "page_up", "Page up", show=False, id="logs.page_up"),
        Binding("g,home", "first", "First line", show=False, id="logs.first"),
        Binding("G,end", "last", "Last line (follows)", show=False, id="logs.last"),
        Binding("h,left", "scroll_left", "Left", show=False, id="logs.left"),
        Binding("l,right", "scroll_right", "Right", show=False, id="logs.right"),
    ]

    @dataclass
    class FollowChanged(Message):
        """Following switched on or off (by `f`, by moving up, or by jumping to the end)."""

        view: LogView
        following: bool

    def __init__(self, buffer: LogBuffer, **kwargs) -> None:
        super().__init__(**kwargs)
        self.buffer = buffer
        self.cursor = -1
        self.following = True
        self.wrap = False
        self.new_lines = 0
        self.block_width = BLOCK_WIDTH[0]
        self.colours: dict[str | None, Style] = {}
        self.placeholder = ""
        self._strips: LRUCache[int, list[Strip]] = LRUCache(STRIPS_KEPT)
        self._styles: dict[str, Style] = {}
        self._placeholder_rows: tuple[str, int, list[str]] = ("", 0, [])

    # what the pane calls

    def set_blocks(self, blocks: list[str]) -> None:
        """The stage's blocks: each gets its colour, and the block column their width."""
        self.colours = {
            name: Style(color=BLOCK_COLOURS[index % len(BLOCK_COLOURS)]) for index, name in enumerate(sorted(blocks))
        }
        self.block_width = min(max([BLOCK_WIDTH[0], *map(len, blocks)]), BLOCK_WIDTH[1])
        self.relayout(force=True)

    def note_blocks(self, entries: list[Entry]) -> None:
        """Give blocks seen for the first time (not in the stage's list) a colour and room in the block column."""
        colours = self.colours
        wider = False
        for entry in entries:
            block = entry[BLOCK]
            if block not in colours:
                colours[block] = Style(color=BLOCK_COLOURS[zlib.crc32((block or "").encode()) % len(BLOCK_COLOURS)])
                if block and len(block) > self.block_width and self.block_width < BLOCK_WIDTH[1]:
                    self.block_width = min(len(block), BLOCK_WIDTH[1])
                    wider = True
        if wider:
            self.relayout(force=True)

    def lines_added(self, added: int, dropped: int, rows_dropped: int) -> None:
        """The buffer took lines in (and maybe let old ones go): follow the end, or stay put and count them."""
        count = self.buffer.shown_count
        if dropped and self.cursor >= 0:
            self.cursor = max(0, self.cursor - dropped)
        self._update_size()
        if self.following:
            self.cursor = count - 1
            self.scroll_to(y=self.max_scroll_y, animate=False, force=True)
        else:
            self.new_lines += added
            if self.cursor < 0 and count:
                self.cursor = 0
            if rows_dropped:
                self.scroll_to(y=max(0, self.scroll_y - rows_dropped), animate=False, force=True)
        self.refresh()

    def reset(self) -> None:
        """After the filter changed: the cursor stays on the same line if it is still shown."""
        self._update_size()
        self.new_lines = 0
        if self.following or self.cursor < 0:
            self.cursor = self.buffer.shown_count - 1
        self.cursor = min(self.cursor, self.buffer.shown_count - 1)
        self._reveal()
        self.refresh()

    def set_placeholder(self, text: str) -> None:
        """What the view says while it shows no line (how to deploy, what the filter hides, ...)."""
        if text != self.placeholder:
            self.placeholder = text
            self.refresh()

    def set_following(self, following: bool) -> None:
        changed = following != self.following
        self.following = following
        if following:
            self.new_lines = 0
            self.cursor = self.buffer.shown_count - 1
            self._update_size()
            self.scroll_to(y=self.max_scroll_y, animate=False, force=True)
            self.refresh()
        if changed:
            self.post_message(self.FollowChanged(self, following))

    def set_wrap(self, wrap: bool) -> None:
        self.wrap = wrap
        self.set_class(wrap, "-wrap")
        if wrap:
            self.scroll_to(x=0, animate=False, force=True)
        self.relayout(force=True)

    def select(self, index: int) -> None:
        """Put the cursor on the shown line `index` (moving off the last line pauses following)."""
        self._move(index)

    def selected(self) -> Entry | None:
        if 0 <= self.cursor < self.buffer.shown_count:
            return self.buffer.shown(self.cursor)
        return None

    def relayout(self, force: bool = False) -> None:
        width = self.scrollable_content_region.width or self.size.width or 80
        prefix = prefix_width(self.block_width)
        indent = prefix if width - prefix >= 30 else CONTINUATION_INDENT
        changed = self.buffer.set_layout(self.wrap, width, prefix, indent)
        if changed or force:
            self._strips.clear()
            self._update_size()
            if self.following:
                self.scroll_to(y=self.max_scroll_y, animate=False, force=True)
            else:
                self._reveal()
            self.refresh()

    # Textual

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()
        self._styles = {}

    def on_resize(self, event: events.Resize) -> None:
        self.relayout()

    def on_mount(self) -> None:
        self.relayout(force=True)

    def _update_size(self) -> None:
        buffer = self.buffer
        width = 0 if self.wrap else buffer.widest + prefix_width(self.block_width)
        self.virtual_size = Size(width, buffer.total_rows)

    def _style(self, name: str) -> Style:
        if not self._styles:
            base = self.rich_style
            self._styles = {
                "base": base,
                "cursor": Style(bgcolor=self.get_component_rich_style("log-view--cursor").bgcolor),
                "dim": base + Style(color=self.get_component_rich_style("log-view--dim").color),
            }
        return self._styles[name]

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self._style("base")
        buffer = self.buffer
        row = scroll_y + y
        if not buffer.shown_count:
            return self._placeholder_line(y, width, base)
        if row >= buffer.total_rows:
            return Strip.blank(width, base)
        index = buffer.index_at_row(row)
        entry = buffer.shown(index)
        strips = self._strips.get(entry[SEQ])
        if strips is None:
            strips = self._render_entry(entry)
            self._strips[entry[SEQ]] = strips
        strip = strips[min(row - buffer.row_of(index), len(strips) - 1)]
        if index == self.cursor:
            strip = Strip(Segment.apply_style(strip, post_style=self._style("cursor")), strip.cell_length)
        if self.wrap:
            return strip.crop_extend(0, width, base)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _placeholder_line(self, y: int, width: int, base: Style) -> Strip:
        text, cached_width, rows = self._placeholder_rows
        if (text, cached_width) != (self.placeholder, width):
            rows = []
            for paragraph in self.placeholder.splitlines():
                rows += textwrap.wrap(paragraph, max(10, width - 2)) or [""]
            self._placeholder_rows = (self.placeholder, width, rows)
        if y >= len(rows):
            return Strip.blank(width, base)
        return Strip([Segment(" " + rows[y], self._style("dim"))]).crop_extend(0, width, base)

    def _render_entry(self, entry: Entry) -> list[Strip]:
        """The entry's rows: one strip (cropped later for horizontal scrolling), or its wrapped rows."""
        base = self._style("base")
        block = entry[BLOCK] or "?"
        width = self.block_width
        block = block.ljust(width) if len(block) <= width else block[: width - 1] + "…"
        level = entry[LEVEL]
        execution = (entry[EXECUTION] or "")[-EXECUTION_WIDTH:]
        message_style = base + (
            RECORD_STYLE if entry[KIND] is not None and level == "INFO" else MESSAGE_STYLES.get(level, Style())
        )
        prefix = [
            Segment(entry[CLOCK], self._style("dim")),
            Segment(" ", base),
            Segment(block, base + self.colours.get(entry[BLOCK], Style())),
            Segment(" ", base),
            Segment(execution.ljust(EXECUTION_WIDTH) if execution else "   ·  ", self._style("dim")),
            Segment(" ", base),
            Segment(LEVEL_LABELS.get(level, level[:5].ljust(5)), base + LEVEL_STYLES.get(level, Style())),
            Segment(" ", base),
        ]
        if not self.wrap:
            return [Strip([*prefix, Segment(entry[TEXT], message_style)])]
        buffer = self.buffer
        parts = entry[PARTS] or (entry[TEXT],)
        rows = []
        for number, part in enumerate(parts):
            segments = [*prefix, Segment(part, message_style)] if number == 0 else [Segment(part, message_style)]
            rows += _wrapped(Strip(segments), buffer.width if number == 0 else 0, buffer.width, buffer.indent, base)
        return rows

    # keys and the mouse

    def _move(self, index: int) -> None:
        count = self.buffer.shown_count
        if not count:
            return
        index = min(max(index, 0), count - 1)
        if self.following and index != count - 1:
            self.following = False
            self.post_message(self.FollowChanged(self, False))
        self.cursor = index
        self._reveal()
        self.refresh()

    def _reveal(self) -> None:
        """Scroll so the cursor's rows are on screen."""
        if self.cursor < 0 or self.cursor >= self.buffer.shown_count:
            return
        row = self.buffer.row_of(self.cursor)
        rows = self.buffer.rows_at(self.cursor)
        height = self.scrollable_content_region.height
        top = self.scroll_y
        if row < top:
            self.scroll_to(y=row, animate=False, force=True)
        elif row + rows > top + height:
            self.scroll_to(y=row + min(rows, height) - height, animate=False, force=True)

    def action_cursor_down(self) -> None:
        self._move(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self._move(self.cursor - 1)

    def _page(self, direction: int) -> None:
        if self.cursor < 0:
            return
        height = max(1, self.scrollable_content_region.height - 1)
        self._move(self.buffer.index_at_row(self.buffer.row_of(self.cursor) + direction * height))

    def action_page_down(self) -> None:
        self._page(1)

    def action_page_up(self) -> None:
        self._page(-1)

    def action_first(self) -> None:
        self._move(0)

    def action_last(self) -> None:
        self.set_following(True)

    def action_scroll_left(self) -> None:
        if not self.wrap:
            self.scroll_to(x=max(0, self.scroll_x - 8), animate=False, force=True)

    def action_scroll_right(self) -> None:
        if not self.wrap:
            self.scroll_to(x=min(self.max_scroll_x, self.scroll_x + 8), animate=False, force=True)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and self.buffer.shown_count:
            self._move(self.buffer.index_at_row(int(self.scroll_y) + offset.y))

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        if self.following:
            self.following = False
            self.post_message(self.FollowChanged(self, False))


def _wrapped(strip: Strip, first: int, width: int, indent: int, base: Style) -> list[Strip]:
    """Cut a strip into rows: the first `first` cells (0: none, every row is a continuation), then rows of
    `width - indent` cells, each after `indent` blank cells."""
    rest = max(1, width - indent)
    length = strip.cell_length
    rows = []
    start = 0
    if first:
        rows.append(strip.crop(0, first))
        start = first
    pad = Segment(" " * indent, base)
    while start < length or not rows:
        rows.append(Strip([pad, *strip.crop(start, start + rest)], indent + min(rest, max(0, length - start))))
        start += rest
    return rows

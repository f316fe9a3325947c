#!/usr/bin/env bash
# A person's walk through the workbench in a real terminal (tmux, 80x24), with ../shared/tools/tui-drive:
# open projects/all-transitions, run it, walk the tree, open a block, change it, save, see the re-run's result
# in the Run pane, then step through an execution to its end.
# Usage: tests/e2e/walk.sh [REFINERY_TUI_COMMAND]   (default: refinery-tui on the PATH)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
drive=${TUI_DRIVE:-$repo/../shared/tools/tui-drive}
command=${1:-refinery-tui}
# A terminal reads ESC followed quickly by a key as alt+key, so a lone Escape needs the terminal's escape delay
# to pass before the next key: this is the terminal's protocol, not waiting for the app.
source "$here/ready.sh"
escape() { "$drive" keys walk Escape; sleep 0.3; }
work=$(mktemp -d)
trap 'rm -rf "$work"; "$drive" stop walk >/dev/null 2>&1 || true' EXIT
cp -r "$repo/projects/all-transitions" "$work/all-transitions"
rm -rf "$work/all-transitions/.refinery"

# $EDITOR is a stand-in that edits the file without a screen, to check that the workbench suspends and picks it up
"$drive" start walk --size 80x24 -- env "EDITOR=sed -i s/edited/EDITED/" $command "$work/all-transitions"
"$drive" wait walk "start" 20
wait_ready walk
# a first run, with an input typed in the input box
"$drive" keys walk C-j
"$drive" type walk '{"numbers": [1, 2]}'
escape
"$drive" keys walk r
"$drive" wait walk "✓ succeeded" 30
# walk the tree down to 'small' and open it
"$drive" keys walk 1 j j j j j j j Enter
"$drive" wait walk "small.py" 10
# change it: a new main at the end of the file, then save; the re-run starts from 'small'
"$drive" keys walk C-End Enter
"$drive" type walk 'def main(block_input, backpack): return {"verdict": "edited", "sum": block_input["sum"]}'
"$drive" keys walk C-s
"$drive" wait walk "Δ small" 30
escape
"$drive" keys walk 3
"$drive" wait walk "edited" 10
# open the file in $EDITOR (ctrl+o): the workbench suspends, and re-runs with the change when it comes back
"$drive" keys walk 2 C-o
wait_ready walk
escape
"$drive" keys walk 3 z
"$drive" wait walk '"verdict": "EDITED"' 30
escape
# step through a whole execution
escape
"$drive" keys walk s
"$drive" wait walk "paused (step) before 'start'" 20
# a step is taken only while paused: press s, then wait until the screen shows the step was taken (it changes)
for _ in $(seq 1 60); do
  before=$("$drive" snap walk)
  if grep -qF "✓ succeeded ·" <<<"$before"; then break; fi  # this run's end (a re-run's says "(re-run)")
  if grep -q "⏸ paused" <<<"$before"; then "$drive" keys walk s; fi
  for _ in $(seq 1 30); do
    [[ "$("$drive" snap walk)" != "$before" ]] && break
    sleep 0.1  # polling the screen, as tui-drive's own wait does
  done
done
"$drive" wait walk "✓ succeeded ·" 20
"$drive" snap walk
"$drive" keys walk q
echo "walk: ok"

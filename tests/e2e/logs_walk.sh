#!/usr/bin/env bash
# A person's walk through the Invoke and Logs panes in a real terminal (tmux, 80x24), against a sandbox started here:
# invoke hello-world, watch its lines come in the merged stream, pause, invoke again and see the new-lines badge,
# filter by block, and open an execution from one of its lines.
# Usage: tests/e2e/logs_walk.sh [REFINERY_TUI_COMMAND]   (default: refinery-tui on the PATH)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
drive=${TUI_DRIVE:-$repo/../shared/tools/tui-drive}
command=${1:-refinery-tui}
session=logswalk
project=hello-world
source "$here/with_sandbox.sh"
source "$here/ready.sh"
env "AWS_ENDPOINT_URL=$endpoint" "${sandbox_env[@]}" AWS_REGION=us-east-1 \
  $command deploy "$work/$project" --stage dev --yes > /dev/null

"$drive" start logswalk --size 80x24 -- env "AWS_ENDPOINT_URL=$endpoint" $command "$work/$project"
"$drive" wait logswalk "greet" 20
wait_ready logswalk
# the Deploy pane remembers the target: plan once so it is saved, then invoke from the Invoke pane
"$drive" keys logswalk 5 p
"$drive" wait logswalk "11 unchanged" 30
"$drive" keys logswalk 6 r
"$drive" wait logswalk "✓ succeeded" 30
# the merged stream: every block's lines, the execution's end
"$drive" keys logswalk 7
"$drive" wait logswalk "execution succeeded" 30
# pause, invoke again: the new lines are counted while paused
"$drive" keys logswalk f
"$drive" wait logswalk "paused" 10
"$drive" keys logswalk 6 r
"$drive" wait logswalk "✓ succeeded" 30
"$drive" keys logswalk 7
"$drive" wait logswalk "new lines" 30
"$drive" keys logswalk f
"$drive" wait logswalk "following" 10
# filter by block
"$drive" keys logswalk /
"$drive" type logswalk "block:shout"
"$drive" keys logswalk Enter
"$drive" wait logswalk "filter: block shout" 10
# open the execution of a line
"$drive" keys logswalk Up Up x
"$drive" wait logswalk "✓ sign succeeded" 10
"$drive" snap logswalk
"$drive" keys logswalk Escape
sleep 0.3
"$drive" keys logswalk q
echo "logs walk: ok"

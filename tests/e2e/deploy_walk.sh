#!/usr/bin/env bash
# A person's walk through the Deploy pane in a real terminal (tmux, 80x24), against a sandbox started here:
# plan all-transitions, apply it, see every row done, open the AWS command log, tear the stage down.
# Usage: tests/e2e/deploy_walk.sh [REFINERY_TUI_COMMAND]   (default: refinery-tui on the PATH)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
drive=${TUI_DRIVE:-$repo/../shared/tools/tui-drive}
command=${1:-refinery-tui}
session=deploywalk
project=all-transitions
source "$here/with_sandbox.sh"
source "$here/ready.sh"

"$drive" start deploywalk --size 80x24 -- env "AWS_ENDPOINT_URL=$endpoint" $command "$work/$project"
"$drive" wait deploywalk "start" 20
wait_ready deploywalk
"$drive" keys deploywalk 5
"$drive" wait deploywalk "p plans" 10
"$drive" keys deploywalk p
"$drive" wait deploywalk "plan: 32 to create, 0 to update, 0 to delete, 0 unchanged" 30
"$drive" keys deploywalk a
"$drive" wait deploywalk "Enter or y applies" 10
"$drive" keys deploywalk y
"$drive" wait deploywalk "deployed: 32 change(s)" 60
"$drive" wait deploywalk "100%" 10
"$drive" keys deploywalk @
"$drive" wait deploywalk "AWS calls" 10
"$drive" keys deploywalk @ p
"$drive" wait deploywalk "0 to create, 0 to update, 0 to delete, 32 unchanged" 30
"$drive" keys deploywalk T
"$drive" wait deploywalk "Type the stage name" 10
"$drive" type deploywalk dev
"$drive" keys deploywalk Enter
"$drive" wait deploywalk "torn down:" 60
"$drive" snap deploywalk
"$drive" keys deploywalk q
echo "deploy walk: ok"

# Sourced by the walks that need AWS: copies a bundled project into a temporary folder and starts a sandbox for it.
# Sets: work (the folder), endpoint (the sandbox's URL), sandbox_env (its printed credentials, as `env` arguments).
# Cleans up on exit, stopping tui-drive session $session.
# Needs: repo, drive, command, session, project.
work=$(mktemp -d)
sandbox_pid=
cleanup() {
  "$drive" stop "$session" >/dev/null 2>&1 || true
  if [ -n "$sandbox_pid" ]; then kill -INT "$sandbox_pid" 2>/dev/null || true; wait "$sandbox_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cp -r "$repo/projects/$project" "$work/$project"
rm -rf "$work/$project/.refinery"

mkfifo "$work/sandbox.out"
$command sandbox --port 0 --state-dir "$work/sandbox" > "$work/sandbox.out" &
sandbox_pid=$!
# the pipe stays open for reading (fd 4) while the sandbox runs; each read blocks until the sandbox writes a line
exec 4< "$work/sandbox.out"
endpoint=
sandbox_env=()
while IFS= read -r line <&4; do
  case "$line" in
    "export AWS_ENDPOINT_URL="*) endpoint=${line#export AWS_ENDPOINT_URL=} ;;
    "export AWS_ACCESS_KEY_ID="* | "export AWS_SECRET_ACCESS_KEY="*) sandbox_env+=("${line#export }") ;;
    "# The sandbox runs"*) break ;;
  esac
done
[ -n "$endpoint" ] || { echo "the sandbox did not start"; exit 1; }

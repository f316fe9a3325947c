# Sourced by the walks: wait_ready SESSION. The first screen can be painted before the app reads keys, so ask for
# the keys screen until it shows and close it: nothing typed after this is lost (a readiness probe, not a pause).
wait_ready() {
  local name=$1
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    "$drive" keys "$name" "?"
    if "$drive" wait "$name" "Remap keys in" 2 2>/dev/null; then break; fi
  done
  # A terminal reads ESC followed quickly by a key as alt+key: let the escape delay pass before the next key.
  "$drive" keys "$name" Escape
  sleep 0.3
}

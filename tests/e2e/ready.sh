# Sourced by the walks: wait_ready SESSION waits until the app reads keys. A first screen can be painted before the
# app reads keys, and keys typed while it is suspended (for $EDITOR) wait in the terminal, where an Escape followed
# by another key reads as alt+key. So: press f1 until a help dialog shows, then close every dialog it opened. A
# readiness probe, not a pause.
modal_border="▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀"
wait_ready() {
  local name=$1 _
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    "$drive" keys "$name" F1
    if "$drive" wait "$name" "$modal_border" 2 2>/dev/null; then break; fi
  done
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    # let the terminal's escape delay pass before the next key
    "$drive" keys "$name" Escape
    sleep 0.3
    "$drive" snap "$name" | grep -qF "$modal_border" || break
  done
}

#!/bin/sh
# Regenerate the screenshots from the real binary, in colour: run `ttymix demo --output none` in a detached
# tmux, play, capture the pane with its colours (`capture-pane -e`) and draw it with ImageMagick via
# ansi2png.py (DejaVu Sans Mono). Needs tmux and ImageMagick's `convert`.
# Usage: screenshots/make.sh [path/to/ttymix]   (default: $CARGO_TARGET_DIR or ../target, release build)
set -eu
cd "$(dirname "$0")"
BIN=${1:-${CARGO_TARGET_DIR:-../target}/release/ttymix}
[ -x "$BIN" ] || { echo "build first (cargo build --release) or pass the binary" >&2; exit 1; }
SOCK=ttymix-shots-$$
CONVERT=${CONVERT:-convert}
trap 'tmux -L $SOCK kill-server 2>/dev/null || true' EXIT
shot() { # name width height keys...
  name=$1 w=$2 h=$3; shift 3
  tmux -L $SOCK new-session -d -s s -x "$w" -y "$h" "exec env COLORTERM=truecolor '$BIN' demo --output none"
  sleep 3
  tmux -L $SOCK send-keys -t s Space
  sleep 4
  for k in "$@"; do tmux -L $SOCK send-keys -t s "$k"; sleep 0.5; done
  tmux -L $SOCK capture-pane -e -p -t s > "$name.ansi"
  tmux -L $SOCK kill-server || true
  python3 ansi2png.py "$name.ansi" "$name.png" "$CONVERT"
  rm -f "$name.ansi"
}
shot mixer 160 48 Right Right Up m
# the inspector on the Vocal: high-pass on, EQ on with a low-shelf cut and a bell boost (drawn in the curve)
shot inspector 160 48 Right Right Right Right Tab Right Right Up Right Right Right Right Right Right Up \
  Right Up Right Right PageDown Right Right Up Right Right PageUp PageUp

shot help 160 48 '?'
shot mixer-80x24 80 24
shot inspector-80x24 80 24 Tab Up

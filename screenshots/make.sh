#!/bin/sh
# Regenerate the screenshots from the real binary: run `ttymix demo --output none` in a detached tmux, play,
# capture the pane as text and draw it with ImageMagick via txt2png.py (monochrome, DejaVu Sans Mono).
# Needs tmux and ImageMagick's `convert`. Usage: screenshots/make.sh [path/to/ttymix]
set -eu
cd "$(dirname "$0")"
BIN=${1:-../target/release/ttymix}
[ -x "$BIN" ] || { echo "build first (cargo build --release) or pass the binary" >&2; exit 1; }
SOCK=ttymix-shots-$$
CONVERT=${CONVERT:-convert}
shot() { # name width height keys...
  name=$1 w=$2 h=$3; shift 3
  tmux -L $SOCK new-session -d -s s -x "$w" -y "$h" "exec '$BIN' demo --output none"
  sleep 3
  tmux -L $SOCK send-keys -t s Space
  sleep 4
  for k in "$@"; do tmux -L $SOCK send-keys -t s "$k"; sleep 0.5; done
  tmux -L $SOCK capture-pane -p -t s > "$name.txt"
  tmux -L $SOCK kill-server || true
  python3 txt2png.py "$name.txt" "$name.png" "$CONVERT"
  rm -f "$name.txt"
}
shot mixer 160 48 Right Right Up m
shot help 160 48 '?'
shot mixer-80x24 80 24
shot inspector-80x24 80 24 Tab Up

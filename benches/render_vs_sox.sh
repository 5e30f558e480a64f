#!/usr/bin/env bash
# Times `ttymix render` against `sox -m` (plain sum) on the same 8 stereo, 24-bit, 48 kHz stems of 3 minutes,
# alternating runs in one session, and reports medians and peak memory (GNU time's maximum resident set).
# Usage: bash benches/render_vs_sox.sh [RUNS]   (needs sox and /usr/bin/time; builds ttymix in release)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/ttymix
work=$(mktemp -d)
mkdir "$work/stems" "$work/out"
trap 'rm -rf "$work"' EXIT
echo "making 8 stems of 180 s, 48 kHz, 24-bit stereo in $work"
for i in 1 2 3 4 5 6 7 8; do
  f=$((110 * i))
  sox -n -r 48000 -b 24 -c 2 "$work/stems/stem$i.wav" synth 180 sine $f sine $((f + 3)) gain -18 2>/dev/null
done
stems=("$work"/stems/stem*.wav)
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
: >"$work/t_ttymix"; : >"$work/t_sox"; : >"$work/m_ttymix"; : >"$work/m_sox"
for r in $(seq "$runs"); do
  /usr/bin/time -f "%e %M" -o "$work/tt" "$bin" render "$work/stems" -o "$work/out/ttymix.wav" --bits 24 >/dev/null
  read -r t m <"$work/tt"; echo "$t" >>"$work/t_ttymix"; echo "$m" >>"$work/m_ttymix"
  /usr/bin/time -f "%e %M" -o "$work/ts" sox -m -v 1 "${stems[@]}" -b 24 "$work/out/sox.wav" 2>/dev/null
  read -r t m <"$work/ts"; echo "$t" >>"$work/t_sox"; echo "$m" >>"$work/m_sox"
done
tt=$(median <"$work/t_ttymix"); ts=$(median <"$work/t_sox")
mt=$(median <"$work/m_ttymix"); ms=$(median <"$work/m_sox")
echo "ttymix render: median ${tt} s ($(awk -v t="$tt" 'BEGIN{printf "%.0f", 180/t}')x real time), peak RSS $((mt / 1024)) MiB"
echo "sox -m:        median ${ts} s ($(awk -v t="$ts" 'BEGIN{printf "%.0f", 180/t}')x real time), peak RSS $((ms / 1024)) MiB"
echo "speed ratio (sox time / ttymix time): $(awk -v a="$ts" -v b="$tt" 'BEGIN{printf "%.2f", a/b}')"
# the two mixes must agree (sox -m -v 1 sums at unity; ttymix folder sessions mix stereo stems at unity)
sox -m -v 1 "$work/out/sox.wav" -v -1 "$work/out/ttymix.wav" -n stat 2>&1 | grep -E "Maximum amplitude" | sed 's/^/null test, max |sox - ttymix|: /'

#!/usr/bin/env bash
# Times `ttymix render` against `sox -m` (plain sum) on the same 8 stereo, 24-bit, 48 kHz stems of 3 minutes,
# alternating runs in one session, and reports medians and peak memory (GNU time's maximum resident set).
# Three renders alternate in every round:
#   plain  - the stem folder as a session: every stem at unity (the same sum as sox; the two mixes must null)
#   full   - a generated session with the full channel strip on every track (high-pass, 4 EQ bands, gate,
#            compressor, 2 sends to a reverb and a delay bus, pan) and the master limiter
#   sox -m - the plain sum
# Usage: bash benches/render_vs_sox.sh [RUNS]   (needs sox and /usr/bin/time; builds ttymix in release, into
# $CARGO_TARGET_DIR when set)
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
# the full-strip session
{
  echo 'sample_rate = 48000'
  echo '[master.limiter]'
  echo 'ceiling_dbtp = -1.0'
  for i in 1 2 3 4 5 6 7 8; do
    cat <<TOML
[[track]]
file = "stems/stem$i.wav"
pan = $(awk -v i="$i" 'BEGIN{printf "%.2f", -0.7 + 0.2 * i}')
gain_db = -3.0
[track.hpf]
freq_hz = 40.0
slope_db_oct = 12
[track.eq]
low_shelf = { freq_hz = 120.0, gain_db = -2.0, q = 0.7 }
low_mid = { freq_hz = 400.0, gain_db = -3.0, q = 1.5 }
high_mid = { freq_hz = 3000.0, gain_db = 2.0, q = 1.0 }
high_shelf = { freq_hz = 8000.0, gain_db = 1.0 }
[track.gate]
threshold_db = -60.0
[track.compressor]
threshold_db = -30.0
ratio = 4.0
attack_ms = 10.0
release_ms = 100.0
[[track.send]]
bus = "Verb"
level_db = -12.0
[[track.send]]
bus = "Echo"
level_db = -18.0
pre_fader = true
TOML
  done
  cat <<TOML
[[bus]]
name = "Verb"
kind = "reverb"
[[bus]]
name = "Echo"
kind = "delay"
TOML
} >"$work/full.toml"
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
timed() { # NAME CMD... : appends "seconds kbytes" to $work/NAME
  /usr/bin/time -f "%e %M" -o "$work/t" "${@:2}" >/dev/null 2>&1
  cat "$work/t" >>"$work/$1"
}
: >"$work/plain"; : >"$work/full"; : >"$work/sox"
for r in $(seq "$runs"); do
  timed plain "$bin" render "$work/stems" -o "$work/out/ttymix.wav" --bits 24
  timed sox sox -m -v 1 "${stems[@]}" -b 24 "$work/out/sox.wav"
  timed full "$bin" render "$work/full.toml" -o "$work/out/full.wav" --bits 24
done
report() { # NAME LABEL
  local t m
  t=$(cut -d' ' -f1 <"$work/$1" | median); m=$(cut -d' ' -f2 <"$work/$1" | median)
  printf '%-32s median %5.2f s (%3.0fx real time), peak RSS %3d MiB\n' "$2" "$t" "$(awk -v t="$t" 'BEGIN{print 180/t}')" $((${m%.*} / 1024))
}
report plain "ttymix render (plain):"
report full "ttymix render (full strips):"
report sox "sox -m:"
ts=$(cut -d' ' -f1 <"$work/sox" | median)
for k in plain full; do
  tk=$(cut -d' ' -f1 <"$work/$k" | median)
  echo "speed ratio sox / ttymix ($k): $(awk -v a="$ts" -v b="$tk" 'BEGIN{printf "%.2f", a/b}')"
done
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
# the two plain mixes must agree (sox -m -v 1 sums at unity; ttymix folder sessions mix stereo stems at unity)
sox -m -v 1 "$work/out/sox.wav" -v -1 "$work/out/ttymix.wav" -n stat 2>&1 | grep -E "Maximum amplitude" | sed 's/^/null test, max |sox - ttymix|: /'

#!/bin/sh
# Bytes/s the mixer writes to its terminal (tmux pipe-pane) and CPU of its UI thread (/proc) while the demo
# plays at 160x48 and the default fps. Usage: benches/measure_tui.sh path/to/ttymix [seconds]
BIN=$1; SECS=${2:-10}; SOCK=tuimisc-meas-$$
tmux -L $SOCK new-session -d -s m -x 160 -y 48 "exec '$BIN' demo --output none"
sleep 3
tmux -L $SOCK send-keys -t m Space
sleep 2
PID=$(tmux -L $SOCK display-message -p -t m '#{pane_pid}')
LOG=/tmp/tuimisc-pipe-$$.log; rm -f $LOG
t0() { awk '{print $14+$15}' /proc/$PID/task/$PID/stat; }
tp() { awk '{print $14+$15}' /proc/$PID/stat; }
a=$(t0); ap=$(tp)
tmux -L $SOCK pipe-pane -o -t m "cat > $LOG"
sleep $SECS
tmux -L $SOCK pipe-pane -t m
b=$(t0); bp=$(tp)
sleep 0.3
BYTES=$(stat -c %s $LOG)
HZ=$(getconf CLK_TCK)
echo "bytes/s: $((BYTES / SECS))"
echo "ui thread cpu %: $(echo "scale=2; ($b-$a)*100/$HZ/$SECS" | bc)"
echo "whole process cpu %: $(echo "scale=2; ($bp-$ap)*100/$HZ/$SECS" | bc)"
tmux -L $SOCK capture-pane -p -t m | head -1
tmux -L $SOCK kill-server
rm -f $LOG

#!/bin/sh
# The benchmarks' sleeping agent: works for BENCH_MS milliseconds, then leaves one file.
ms=${BENCH_MS:-100}
sleep "$(awk "BEGIN { printf \"%.3f\", $ms / 1000 }")"
printf '%s\n' "$SWARM_TASK" > "bench-$SWARM_TASK.txt"

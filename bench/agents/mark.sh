#!/bin/sh
# The template benchmark's no-op agent: marks its own folder (BENCH_DIR, from {{path}}) and exits.
mkdir -p "$BENCH_DIR"
printf '%s\n' "$SWARM_TASK" > "$BENCH_DIR/done.txt"

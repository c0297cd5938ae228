#!/bin/sh
# The benchmarks' no-op agent: leaves one small file for swarm to commit, and exits.
printf '%s\n' "$SWARM_TASK" > "bench-$SWARM_TASK.txt"

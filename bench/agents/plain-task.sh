#!/bin/sh
# The plain baseline's one task: the same git work swarm does for a no-op task, nothing else.
#   plain-task.sh ROOT TASK
set -e
root=$1
t=$2
wt="$root/.plain/wt/$t"
head=$(git -C "$root" rev-parse refs/heads/plain-into)
flock "$root/.plain/admin.lock" git -C "$root" worktree add -q -b "plain/$t" "$wt" "$head"
printf '%s\n' "$t" > "$wt/bench-$t.txt"
git -C "$wt" add -A
git -C "$wt" commit -q -m "task $t"
flock "$root/.plain/merge.lock" git -C "$root/.plain/merge" merge -q --no-ff -m "merge $t" "plain/$t"
flock "$root/.plain/admin.lock" git -C "$root" worktree remove "$wt"

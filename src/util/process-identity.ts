import { readFileSync } from 'node:fs';
import { readStat } from './process-family.js';

let bootId: string | undefined;

/**
 * When process `pid` started, as a string that differs for any two processes that ever
 * held the same pid on this machine: the boot's id and the start time in clock ticks
 * since boot (Linux `/proc`). Undefined where that cannot be read (other systems, a
 * process already gone); callers then judge by the pid alone, as before.
 */
export function processStart(pid: number): string | undefined {
  if (process.platform !== 'linux' || pid <= 0) return undefined;
  const stat = readStat(pid);
  return stat === undefined ? undefined : startOf(stat.startTicks);
}

/**
 * Whether `pid` is a live process and, when `start` is given and can be checked, the very
 * process that was recorded (not a later one that reused its pid). EPERM means it exists
 * but belongs to someone else, which still counts. A zombie (killed, not yet reaped) runs
 * nothing and holds nothing: it counts as gone; in a container whose init never reaps, a
 * SIGKILLed runner's orphans stay zombies for good and still answer signal 0.
 */
export function processAlive(pid: number, start?: string): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (process.platform !== 'linux') return true;
  // One read of /proc answers both questions. Unreadable (another user's process under
  // hidepid, say) means it cannot be told apart: it counts as alive, as signal 0 said.
  const stat = readStat(pid);
  if (stat === undefined) return true;
  if (stat.state === 'Z') return false;
  if (start === undefined) return true;
  const now = startOf(stat.startTicks);
  return now === undefined || now === start;
}

function startOf(ticks: string): string | undefined {
  try {
    bootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
  return `${bootId}:${ticks}`;
}

import { readFileSync } from 'node:fs';

let bootId: string | undefined;

/**
 * When process `pid` started, as a string that differs for any two processes that ever
 * held the same pid on this machine: the boot's id and the start time in clock ticks
 * since boot (Linux `/proc`). Undefined where that cannot be read (other systems, a
 * process already gone); callers then judge by the pid alone, as before.
 */
export function processStart(pid: number): string | undefined {
  if (process.platform !== 'linux' || pid <= 0) return undefined;
  try {
    bootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): state is the
    // 3rd field of the line, starttime the 22nd.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = fields[22 - 3];
    return ticks === undefined ? undefined : `${bootId}:${ticks}`;
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` is a live process and, when `start` is given and can be checked, the very
 * process that was recorded (not a later one that reused its pid). EPERM means it exists
 * but belongs to someone else, which still counts. A zombie (killed, not yet reaped)
 * runs nothing and holds nothing: it counts as gone.
 */
export function processAlive(pid: number, start?: string): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (isZombie(pid)) return false;
  if (start === undefined) return true;
  const now = processStart(pid);
  return now === undefined || now === start;
}

/**
 * In a container whose init never reaps, a SIGKILLed runner's orphans stay zombies for
 * good and still answer signal 0. Linux only.
 */
function isZombie(pid: number): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

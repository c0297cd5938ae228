import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** This machine's name, as recorded in leases and runs. */
export const HOST = hostname();

/**
 * Whether `pid` is a live process here. EPERM means it exists but belongs to someone else,
 * which still counts as alive. pid 0 means "no process to check" (a person's lease).
 */
export function pidAlive(pid: number): boolean {
  if (pid <= 0) return true;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  return !isZombie(pid);
}

/**
 * A killed process whose parent has not reaped it yet still answers signal 0. In a
 * container whose init never reaps, a SIGKILLed runner's orphans stay zombies for good;
 * they run nothing and hold nothing, so they count as dead. Linux only.
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

/** A holder is gone when its lease expired, or its process died on this host. Other hosts: TTL only. */
export function holderGone(lease: { readonly pid: number; readonly host: string; readonly expiresAt: number }, now: number): boolean {
  if (lease.expiresAt <= now) return true;
  return lease.host === HOST && !pidAlive(lease.pid);
}

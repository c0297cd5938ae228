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
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** A holder is gone when its lease expired, or its process died on this host. Other hosts: TTL only. */
export function holderGone(lease: { readonly pid: number; readonly host: string; readonly expiresAt: number }, now: number): boolean {
  if (lease.expiresAt <= now) return true;
  return lease.host === HOST && !pidAlive(lease.pid);
}

import { hostname } from 'node:os';
import { processAlive } from '../util/process-identity.js';

/** This machine's name, as recorded in leases and runs. */
export const HOST = hostname();

/**
 * Whether the process recorded as `pid` (started at `start`, when known) is still alive
 * here. pid 0 means "no process to check" (a person's lease): alive until released.
 */
export function pidAlive(pid: number, start?: string): boolean {
  if (pid <= 0) return true;
  return processAlive(pid, start);
}

/** A holder is gone when its lease expired, or its process died on this host. Other hosts: TTL only. */
export function holderGone(
  lease: { readonly pid: number; readonly pidStart?: string; readonly host: string; readonly expiresAt: number },
  now: number,
): boolean {
  if (lease.expiresAt <= now) return true;
  return lease.host === HOST && !pidAlive(lease.pid, lease.pidStart);
}

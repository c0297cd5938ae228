import { useStdout } from 'ink';
import { useCallback, useSyncExternalStore } from 'react';

export interface TerminalSize {
  readonly columns: number;
  readonly rows: number;
}

const FALLBACK: TerminalSize = { columns: 80, rows: 24 };

/** The terminal's size, re-read on every `resize` of stdout. */
export function useTerminalSize(): TerminalSize {
  const { stdout } = useStdout();
  const subscribe = useCallback(
    (onChange: () => void) => {
      stdout.on('resize', onChange);
      return () => {
        stdout.off('resize', onChange);
      };
    },
    [stdout],
  );
  // A string is compared by value, so an unchanged size never re-renders.
  const key = useSyncExternalStore(subscribe, () => `${stdout.columns || FALLBACK.columns}x${stdout.rows || FALLBACK.rows}`);
  const [columns, rows] = key.split('x').map(Number);
  return { columns: columns ?? FALLBACK.columns, rows: rows ?? FALLBACK.rows };
}

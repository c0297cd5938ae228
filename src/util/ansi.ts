/**
 * Terminal escape sequences: CSI (colours, cursor moves: `ESC [ ... final`), OSC (titles,
 * links: `ESC ] ... BEL` or `ESC ] ... ESC \`), and two-character escapes. A check's
 * output goes into an agent's prompt and into events, where they are noise.
 */
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]|\u009b[0-?]*[ -/]*[@-~]/g;

export function stripAnsi(text: string): string {
  return text.includes('\u001b') || text.includes('\u009b') ? text.replace(ANSI, '') : text;
}

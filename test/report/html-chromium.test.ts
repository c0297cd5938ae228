import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { swarm } from '../helpers/cli.js';
import { tempRepo, type TempRepo } from '../helpers/git-repo.js';
import { countColor, decodePng } from '../helpers/png.js';

/** Debian's `chromium` (.ci/run installs it), or another Chromium on PATH. */
const BROWSER = ['chromium', 'chromium-browser', 'google-chrome'].find((name) => {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});
const SKIP = BROWSER === undefined ? " (skipped: no Chromium on PATH; .ci/run installs Debian's chromium)" : '';
const MERMAID = fileURLToPath(new URL('../../node_modules/mermaid/dist/mermaid.min.js', import.meta.url));

/**
 * a then b (the critical path: most work), c alone, d fails; one slot, so tasks wait for it.
 * Command agents that sleep: real processes, a second or two.
 */
const SWARM = [
  'version: 1',
  'name: page',
  'concurrency: 1',
  'retries: 0',
  'agent:',
  '  kind: command',
  '  sandbox: off',
  `  command: ["sh", "-c", "sleep $SLEEP; if [ $SWARM_TASK = d ]; then echo 'd gave up: <no> & done'; exit 1; fi; echo $SWARM_TASK > out-$SWARM_TASK.txt"]`,
  'tasks:',
  ...[
    ['a', 0.5, []],
    ['b', 0.5, ['a']],
    ['c', 0.1, []],
    ['d', 0.1, []],
  ].flatMap(([id, sleep, deps]) => [
    `  - id: ${id}`,
    `    prompt: Do ${id}.`,
    `    files: ["out-${id}.txt"]`,
    `    depends_on: ${JSON.stringify(deps)}`,
    `    env: { SLEEP: "${sleep}" }`,
  ]),
  '',
].join('\n');

let repo: TempRepo;
let dir: string;
let html: string;
let markdown: string;

beforeAll(async () => {
  repo = tempRepo();
  dir = mkdtempSync(join(tmpdir(), 'swarm-html-'));
  repo.write('swarm.yaml', SWARM);
  repo.commitAll('swarm file');
  const run = await swarm(['run', 'swarm.yaml', '--ui', 'plain'], { cwd: repo.dir });
  expect(run.exitCode, String(run.stderr)).toBe(1);
  const page = await swarm(['report', '--format', 'html'], { cwd: repo.dir });
  expect(page.exitCode, String(page.stderr)).toBe(0);
  html = String(page.stdout);
  markdown = String((await swarm(['report', '--format', 'markdown'], { cwd: repo.dir })).stdout);
});

afterAll(() => {
  repo?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Chromium, headless, with its own profile and HOME so parallel runs do not share one. */
async function chromium(...args: string[]): Promise<string> {
  const profile = mkdtempSync(join(dir, 'profile-'));
  // No sandbox: tests may run as root, where Chromium's own sandbox refuses to start. The rest skips what a page needs not.
  const quiet = ['--no-first-run', '--disable-extensions', '--disable-background-networking', '--disable-component-update', '--disable-dev-shm-usage'];
  const r = await execa(BROWSER!, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', ...quiet, `--user-data-dir=${profile}`, ...args], {
    reject: false,
    timeout: 45_000,
    env: { HOME: profile, DBUS_SESSION_BUS_ADDRESS: 'disabled:' },
  });
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return String(r.stdout);
}

describe('swarm report --format html in a real browser', () => {
  it('is one self-contained page: nothing loaded from anywhere', () => {
    expect(html).not.toMatch(/<link|\ssrc=|\shref=|@import|url\((?!#)/);
    expect(html.match(/https?:\/\/[^"\s]+/g)?.filter((u) => u !== 'http://www.w3.org/2000/svg') ?? []).toEqual([]);
    // What a task printed is text on the page, not markup.
    expect(html).toContain('d gave up: &#60;no&#62; &#38; done');
  });

  it.skipIf(BROWSER === undefined)(`draws a bar per task stretch, the waits and the critical path, and its script runs${SKIP}`, async () => {
    const file = join(dir, 'report.html');
    writeFileSync(file, html);
    const dom = await chromium('--dump-dom', pathToFileURL(file).href);
    const bars = dom.match(/<rect class="bar [^"]*" data-task="[a-d]"/g) ?? [];
    // The page's script counted the bars it found in the live DOM.
    expect(dom).toMatch(new RegExp(`<html lang="en" data-ready="${bars.length}">`));
    expect(dom).toContain(`(${bars.length} bars drawn)`);
    for (const id of ['a', 'b', 'c', 'd']) {
      expect(dom, id).toMatch(new RegExp(`<rect class="bar s-running" data-task="${id}"`));
      expect(dom, id).toMatch(new RegExp(`<g class="node st-\\w+( crit)?" data-task="${id}">`));
    }
    // One slot: some task waited for it, and the wait is drawn.
    expect(dom).toMatch(/<rect class="bar s-ready wait" data-task="[a-d]"/);
    // The critical path: a then b, marked in the timeline, the graph and the table.
    expect(dom).toContain('<g class="row crit" data-task="a">');
    expect(dom).toContain('<g class="row crit" data-task="b">');
    expect(dom).toMatch(/<g class="row" data-task="c">/);
    expect(dom).toContain('<path class="edge crit" data-from="a" data-task="b"');
    expect(dom).toContain('⚑ on the critical path: a → b');
    expect(dom).toContain('<g class="node st-failed" data-task="d">');

    const shot = join(dir, 'report.png');
    await chromium(`--screenshot=${shot}`, '--window-size=1200,1000', pathToFileURL(file).href);
    const img = decodePng(readFileSync(shot));
    expect([img.width, img.height]).toEqual([1200, 1000]);
    // Pixels of the agent bars (blue), the critical path's outlines (red), merged and failed boxes in the graph.
    expect(countColor(img, '#0969da')).toBeGreaterThan(1500);
    expect(countColor(img, '#cf222e')).toBeGreaterThan(300);
    expect(countColor(img, '#dafbe1')).toBeGreaterThan(2000);
    expect(countColor(img, '#ffebe9')).toBeGreaterThan(1000);
  });

  it.skipIf(BROWSER === undefined)(`the job summary's Gantt chart is one Mermaid draws${SKIP}`, async () => {
    const chart = /```mermaid\n([\s\S]*?)\n```/.exec(markdown)?.[1];
    expect(chart).toBeDefined();
    const page = join(dir, 'mermaid.html');
    writeFileSync(
      page,
      `<!doctype html><html><body><div id="out"></div>
<script src="${pathToFileURL(MERMAID).href}"></script>
<script>
mermaid.initialize({ startOnLoad: false });
mermaid.render('g', ${JSON.stringify(chart)}).then(
  function (r) { document.getElementById('out').innerHTML = r.svg; document.body.setAttribute('data-done', 'ok'); },
  function (e) { document.body.setAttribute('data-done', 'error: ' + e.message); });
</script></body></html>`,
    );
    const dom = await chromium('--virtual-time-budget=15000', '--dump-dom', pathToFileURL(page).href);
    expect(dom).toContain('data-done="ok"');
    const stretches = chart!.split('\n').filter((l) => /^ {2}[^ ].* :/.test(l) && !l.startsWith('  section') && !l.startsWith('  title')).length;
    const tasks = dom.match(/<rect id="g-task\d+"[^>]* class="task [^"]*"/g) ?? [];
    expect(tasks.length).toBe(stretches);
    // Waits greyed (done), the critical path's work red (crit), bars as wide as their time.
    expect(tasks.some((t) => /class="task done\d"/.test(t))).toBe(true);
    expect(tasks.filter((t) => /class="task crit\d"/.test(t)).length).toBeGreaterThanOrEqual(2);
    expect(tasks.some((t) => Number(/width="([\d.]+)"/.exec(t)?.[1]) > 50)).toBe(true);
  });
});

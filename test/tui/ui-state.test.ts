import { describe, expect, it } from 'vitest';
import { splitKeys } from '../../src/tui/app.js';
import { INITIAL_UI, onKey, type KeyContext } from '../../src/tui/ui-state.js';

const context: KeyContext = { visible: ['a', 'b', 'c', 'd', 'e'], page: 2, logLines: 10 };

describe('onKey', () => {
  it('pages through the table and stops at its ends', () => {
    let ui = onKey(INITIAL_UI, '', { pageDown: true }, context).ui;
    expect(ui.selected).toBe('c');
    ui = onKey(ui, '', { pageDown: true }, context).ui;
    ui = onKey(ui, '', { pageDown: true }, context).ui;
    expect(ui.selected).toBe('e');
    ui = onKey(ui, '', { pageUp: true }, context).ui;
    expect(ui.selected).toBe('c');
  });

  it('scrolls the log view up no further than its first page, and back down to follow', () => {
    let ui = onKey({ ...INITIAL_UI, selected: 'b' }, '', { return: true }, context).ui;
    expect(ui.mode).toBe('log');
    for (let i = 0; i < 20; i += 1) ui = onKey(ui, 'k', {}, context).ui;
    expect(ui.logOffset).toBe(8);
    ui = onKey(ui, '', { pageDown: true }, context).ui;
    expect(ui.logOffset).toBe(6);
    ui = onKey(ui, '', { escape: true }, context).ui;
    expect(ui).toMatchObject({ mode: 'table', selected: 'b', logOffset: 0 });
  });

  it('asks to stop gracefully, then to kill, then nothing more', () => {
    const first = onKey(INITIAL_UI, 'q', {}, context);
    const second = onKey(first.ui, 'q', {}, context);
    const third = onKey(second.ui, 'c', { ctrl: true }, context);
    expect([first.stop, second.stop, third.stop]).toEqual([false, true, undefined]);
  });

  it('does nothing with enter on an empty table', () => {
    expect(onKey(INITIAL_UI, '', { return: true }, { ...context, visible: [] }).ui).toBe(INITIAL_UI);
  });
});

describe('splitKeys', () => {
  it('makes one key press of each typed-ahead character, enter included', () => {
    expect(splitKeys('jj\r', {})).toEqual([
      ['j', {}],
      ['j', {}],
      ['', { return: true }],
    ]);
    expect(splitKeys('', { upArrow: true })).toEqual([['', { upArrow: true }]]);
  });
});

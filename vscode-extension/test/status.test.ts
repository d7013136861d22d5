import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Activity, parseStatus, statusView } from '../src/status';

test('status notifications are checked', () => {
    assert.deepEqual(parseStatus({ state: 'ready', message: 'tiny on cpu' }), { state: 'ready', message: 'tiny on cpu' });
    assert.deepEqual(parseStatus({ state: 'loading' }), { state: 'loading', message: '' });
    assert.equal(parseStatus({ state: 'sleeping' }).state, 'error');
    assert.match(parseStatus(null).message, /unexpected status/);
});

test('status bar text per state', () => {
    assert.equal(statusView('CodeFusion', 'loading').text, '$(sync~spin) CodeFusion: loading model');
    assert.equal(statusView('CodeFusion', 'ready').text, '$(check) CodeFusion');
    const error = statusView('CodeFusion', 'error', 'checkpoint not found');
    assert.equal(error.text, '$(error) CodeFusion: error');
    assert.equal(error.error, true);
    assert.match(error.tooltip, /checkpoint not found/);
    assert.match(error.tooltip, /server log/);
});

test('a ready server shows "computing" while suggestions are in flight', () => {
    assert.equal(statusView('CodeFusion', 'ready', '', 1).text, '$(sync~spin) CodeFusion: computing');
    assert.match(statusView('CodeFusion', 'ready', '', 2).tooltip, /computing 2 suggestions/);
    // other states win over the activity
    assert.equal(statusView('CodeFusion', 'loading', '', 1).text, '$(sync~spin) CodeFusion: loading model');
    assert.equal(statusView('CodeFusion', 'error', 'x', 3).error, true);
});

test('activity counts requests until they settle, rejected ones too', async () => {
    const seen: number[] = [];
    const activity = new Activity((busy) => seen.push(busy));
    let finish: (v: string) => void = () => undefined;
    const first = activity.track(new Promise<string>((resolve) => (finish = resolve)));
    const second = activity.track(Promise.reject(new Error('cancelled')));
    assert.equal(activity.busy, 2);
    await assert.rejects(Promise.resolve(second), /cancelled/);
    assert.equal(activity.busy, 1);
    finish('done');
    assert.equal(await first, 'done');
    assert.equal(activity.busy, 0);
    assert.deepEqual(seen, [1, 2, 1, 0]);
    assert.equal(activity.track(undefined), undefined); // middleware may answer synchronously
    assert.equal(activity.busy, 0);
});

test('an untrusted workspace: the status bar says "restricted" and the tooltip says what is not used', () => {
    const view = statusView('CodeFusion', 'ready', 'model ready', 0, true);
    assert.equal(view.text, '$(workspace-untrusted) CodeFusion: restricted');
    assert.match(view.tooltip, /Restricted Mode/);
    assert.match(view.tooltip, /not used/);
    assert.equal(statusView('CodeFusion', 'ready', '', 1, true).text, '$(sync~spin) CodeFusion: computing');
    assert.match(statusView('CodeFusion', 'loading', '', 0, true).tooltip, /Restricted Mode/);
    assert.equal(statusView('CodeFusion', 'ready', '', 0, false).text, '$(check) CodeFusion');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStatus, statusView } from '../src/status';

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

import assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadManifest, serverSettingDefaults } from '../src/serverInfo';
import { changeAction, clientSettings, expandPath, languageIds, serverOptions, trustedGetter } from '../src/settings';

const manifest = loadManifest();
const defaults = serverSettingDefaults(manifest);

test('server settings are exactly the options of docs/contracts.md, with its defaults', () => {
    assert.deepEqual(defaults, {
        checkpoint: null,
        k: 5,
        steps: null,
        device: 'auto',
        invalidMode: 'rank_last',
        maxCommentLength: 2000,
        languages: ['python', 'shellscript', 'bash', 'sh', 'cfrule'],
        retrieval: true,
        timeout: 15,
        exemplarFiles: [],
        engineUrl: null,
        engineToken: null,
        engineFallback: true,
    });
});

test('unset settings take the defaults; set ones pass through', () => {
    const values: Record<string, unknown> = { k: 3, device: 'cpu', checkpoint: '/m/tiny' };
    const options = serverOptions((name) => values[name], defaults);
    assert.deepEqual(options, { ...defaults, k: 3, device: 'cpu', checkpoint: '/m/tiny' });
});

test('bad values are passed on for the server to reject with a warning', () => {
    const options = serverOptions((name) => (name === 'k' ? 'many' : undefined), defaults);
    assert.equal(options.k, 'many');
});

test('checkpoint paths: ~, ${workspaceFolder}, relative, empty', () => {
    const ws = '/home/u/project';
    assert.equal(expandPath('~/models/x', ws), path.join(os.homedir(), 'models/x'));
    assert.equal(expandPath('${workspaceFolder}/runs/a', ws), '/home/u/project/runs/a');
    assert.equal(expandPath('runs/a', ws), '/home/u/project/runs/a');
    assert.equal(expandPath('runs/a', undefined), 'runs/a');
    assert.equal(expandPath('  ', ws), null);
    const options = serverOptions((name) => (name === 'checkpoint' ? '' : undefined), defaults, ws);
    assert.equal(options.checkpoint, null);
});

test('client settings: defaults for missing or mistyped values', () => {
    assert.deepEqual(clientSettings(() => undefined), { interpreter: '', inlineSuggestions: true });
    const set: Record<string, unknown> = { interpreter: '.venv/bin/python', inlineSuggestions: false };
    assert.deepEqual(clientSettings((n) => set[n], '/ws'), {
        interpreter: '/ws/.venv/bin/python',
        inlineSuggestions: false,
    });
    assert.deepEqual(clientSettings((n) => (n === 'inlineSuggestions' ? 'no' : 7)), {
        interpreter: '',
        inlineSuggestions: true,
    });
});

test('languages: the setting, else the default list', () => {
    assert.deepEqual(languageIds({ languages: ['python'] }, defaults), ['python']);
    assert.deepEqual(languageIds({ languages: [] }, defaults), defaults.languages);
    assert.deepEqual(languageIds({ languages: 'python' }, defaults), defaults.languages);
});

test('a change restarts, reconfigures or does nothing', () => {
    const names = Object.keys(defaults);
    const only = (changed: string) => (name: string) => name === changed;
    assert.equal(changeAction(only('interpreter'), names), 'restart');
    assert.equal(changeAction(only('languages'), names), 'restart');
    assert.equal(changeAction(only('k'), names), 'reconfigure');
    assert.equal(changeAction(only('checkpoint'), names), 'reconfigure');
    assert.equal(changeAction(only('inlineSuggestions'), names), 'none');
});

test('untrusted workspace: restricted settings come from the user level only; others from every level', () => {
    const effective: Record<string, unknown> = { exemplarFiles: ['planted.jsonl'], interpreter: '/ws/evil', k: 2 };
    const user: Record<string, unknown> = { exemplarFiles: ['/home/u/mine.jsonl'] };
    const restricted = ['interpreter', 'exemplarFiles'];
    const untrusted = trustedGetter((n) => effective[n], (n) => ({ globalValue: user[n] }), restricted, false);
    assert.deepEqual(untrusted('exemplarFiles'), ['/home/u/mine.jsonl']);
    assert.equal(untrusted('interpreter'), undefined); // unset at user level: the default
    assert.equal(untrusted('k'), 2);
    const options = serverOptions(untrusted, defaults);
    assert.deepEqual(options.exemplarFiles, ['/home/u/mine.jsonl']);
    const trusted = trustedGetter((n) => effective[n], (n) => ({ globalValue: user[n] }), restricted, true);
    assert.deepEqual(trusted('exemplarFiles'), ['planted.jsonl']);
    assert.equal(trusted('interpreter'), '/ws/evil');
});

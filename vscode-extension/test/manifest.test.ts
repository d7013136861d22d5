import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { EXTENSION_ROOT, loadManifest } from '../src/serverInfo';

const manifest = loadManifest();
const info = manifest.serverInfo;

test('every client command id is contributed with a title', () => {
    const contributed = new Map(manifest.contributes.commands.map((c) => [c.command, c.title]));
    for (const id of Object.values(info.clientCommands)) {
        assert.ok(contributed.get(id), `${id} is not in contributes.commands`);
    }
    assert.equal(contributed.get(info.clientCommands.generateFromComment), 'Generate code from comment');
    assert.equal(contributed.get(info.clientCommands.showCandidates), 'Show candidates');
    assert.equal(contributed.get(info.clientCommands.restartServer), 'Restart server');
});

test("client command ids differ from the server's commands (the client registers those)", () => {
    const server = new Set(Object.values(info.serverCommands));
    for (const id of Object.values(info.clientCommands)) {
        assert.ok(!server.has(id), id);
    }
});

test('client settings are contributed in the config section', () => {
    const props = manifest.contributes.configuration.properties;
    for (const name of info.clientSettings) {
        assert.ok(`${info.configSection}.${name}` in props, name);
    }
    for (const key of Object.keys(props)) {
        assert.ok(key.startsWith(`${info.configSection}.`), key);
    }
});

test('the cfrule language is registered with # line comments', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, 'package.json'), 'utf8')) as {
        contributes: { languages: { id: string; extensions: string[]; configuration: string }[] };
        activationEvents: string[];
    };
    const cfrule = pkg.contributes.languages.find((l) => l.id === 'cfrule');
    assert.ok(cfrule);
    assert.deepEqual(cfrule.extensions, ['.cfrule']);
    const config = JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, cfrule.configuration), 'utf8')) as {
        comments: { lineComment: string };
    };
    assert.equal(config.comments.lineComment, '#');
    assert.ok(pkg.activationEvents.includes('onLanguage:cfrule'));
});

test('engines.vscode and @types/vscode agree (vsce refuses otherwise)', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, 'package.json'), 'utf8')) as {
        engines: { vscode: string };
        devDependencies: Record<string, string>;
    };
    assert.equal(pkg.engines.vscode, `^${pkg.devDependencies['@types/vscode']}`);
});

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { EXTENSION_ROOT, loadManifest, restrictedSettings } from '../src/serverInfo';

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

test('Workspace Trust: limited support; every setting that names a path or a program is restricted', () => {
    const trust = manifest.capabilities?.untrustedWorkspaces;
    assert.equal(trust?.supported, 'limited');
    assert.ok(trust?.description);
    const restricted = new Set(restrictedSettings(manifest));
    const props = manifest.contributes.configuration.properties as Record<
        string, { type: string | string[]; enum?: string[]; markdownDescription?: string; description?: string }>;
    for (const [key, schema] of Object.entries(props)) {
        const name = key.slice(`${info.configSection}.`.length);
        const text = `${schema.markdownDescription ?? ''} ${schema.description ?? ''}`;
        const free = [schema.type].flat().some((t) => t === 'string' || t === 'array') && !schema.enum;
        // free text naming a path, a file, an interpreter, a URL or a token: what a cloned repository must not choose
        if (free && /interpreter|director|file|path|https?:|token/i.test(`${name} ${text}`)) {
            assert.ok(restricted.has(name), `${key} names a path or a program but is not in restrictedConfigurations`);
        }
    }
    for (const name of ['interpreter', 'checkpoint', 'exemplarFiles', 'engineUrl', 'engineToken']) {
        assert.ok(restricted.has(name), name);
    }
    assert.equal(info.trustOption, 'trustedWorkspace');
});

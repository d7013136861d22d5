import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { installCommand, probeInterpreter, problemMessage, resolveInterpreter } from '../src/interpreter';

test('interpreter order: setting, Python extension, python3', async () => {
    const ext = () => Promise.resolve('/envs/a/bin/python');
    assert.deepEqual(await resolveInterpreter(' /opt/py ', ext), { command: '/opt/py', source: 'setting' });
    assert.deepEqual(await resolveInterpreter('', ext), { command: '/envs/a/bin/python', source: 'python-extension' });
    assert.deepEqual(await resolveInterpreter('', () => Promise.resolve(undefined)), { command: 'python3', source: 'default' });
    assert.deepEqual(await resolveInterpreter('', () => Promise.reject(new Error('boom'))), {
        command: 'python3',
        source: 'default',
    });
});

// A real interpreter and a throw-away package: the probe runs Python, not a stub.
function fakePackage(withMain: boolean): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cf-probe-'));
    fs.mkdirSync(path.join(dir, 'cfprobepkg'));
    fs.writeFileSync(path.join(dir, 'cfprobepkg', '__init__.py'), '');
    if (withMain) {
        fs.writeFileSync(path.join(dir, 'cfprobepkg', '__main__.py'), '');
    }
    return dir;
}

test('probe finds a package with __main__ in the working directory', async () => {
    const dir = fakePackage(true);
    const probe = await probeInterpreter('python3', 'cfprobepkg', 'cfprobepkg-dist', dir);
    assert.equal(probe.launchError, undefined);
    assert.equal(probe.hasModule, true);
    assert.equal(probe.hasMain, true);
    assert.equal(probe.distribution, null);
    assert.equal(problemMessage({ command: 'python3', source: 'default' }, probe, 'cfprobepkg', 'x'), undefined);
});

test('probe reports a missing package and the message says how to install it', async () => {
    const probe = await probeInterpreter('python3', 'cfprobe_missing_pkg', 'codefusion-editor', os.tmpdir());
    assert.equal(probe.hasModule, false);
    const message = problemMessage({ command: 'python3', source: 'default' }, probe, 'cfprobe_missing_pkg', 'codefusion-editor');
    assert.ok(message);
    assert.match(message, /does not have the "codefusion-editor" package/);
    assert.match(message, /-m pip install -e \/path\/to\/codefusion/);
    assert.match(message, /or set codefusion\.interpreter to a Python that has it/);
});

test('a same-named module without __main__ is called out as unrelated', async () => {
    const dir = fakePackage(false);
    const probe = await probeInterpreter('python3', 'cfprobepkg', 'codefusion-editor', dir);
    assert.equal(probe.hasMain, false);
    const message = problemMessage({ command: '/x/python', source: 'setting' }, probe, 'cfprobepkg', 'codefusion-editor');
    assert.match(message ?? '', /not CodeFusion's/);
});

test('an interpreter that does not exist gives a clear message', async () => {
    const probe = await probeInterpreter('/nonexistent/python9', 'lsp', 'codefusion-editor');
    assert.equal(probe.launchError, 'not found');
    const message = problemMessage({ command: '/nonexistent/python9', source: 'setting' }, probe, 'lsp', 'codefusion-editor');
    assert.match(message ?? '', /cannot run the Python interpreter "\/nonexistent\/python9" \(the codefusion.interpreter setting\): not found/);
    assert.equal(installCommand('/my env/python'), '"/my env/python" -m pip install -e /path/to/codefusion');
});

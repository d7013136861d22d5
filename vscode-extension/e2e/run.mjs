// End-to-end test of the CodeFusion extension in a real VS Code (code-server, loopback only),
// driven through headless Chromium with playwright-core. scripts/vscode_e2e.sh installs what it
// needs and runs it; see vscode-extension/README.md.
//
// Environment:
//   CODE_SERVER          path of the code-server executable (required)
//   VSIX                 the packaged extension (required)
//   CODEFUSION_PYTHON    interpreter with the codefusion-editor package (default python3)
//   CODEFUSION_CHECKPOINT  model checkpoint directory for codefusion.checkpoint (required)
//   CHROMIUM             browser executable (default /usr/bin/chromium)
//   E2E_ARTIFACTS        where screenshots and logs go (default e2e/artifacts)
//   E2E_EXPECT_MODEL     set: the picker must show a model candidate, not only retrieved examples
//   E2E_TIMEOUT_S        overall time limit in seconds (default 480)
//   E2E_SCENARIOS        which to run, comma-separated (default "main,trust"): main = the extension's
//                        features with Workspace Trust off; trust = a second code-server with Workspace
//                        Trust on, an untrusted folder that tries to plant exemplars (issue 26)
//
// Prints one line "VSCODE E2E PASS ..." or "VSCODE E2E FAIL: ..." and exits 0 / 1.

import { spawn, execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const env = process.env;
const CODE_SERVER = required('CODE_SERVER');
const VSIX = path.resolve(required('VSIX'));
const CHECKPOINT = path.resolve(required('CODEFUSION_CHECKPOINT'));
const PYTHON = env.CODEFUSION_PYTHON || 'python3';
const CHROMIUM = env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = path.resolve(env.E2E_ARTIFACTS || path.join(HERE, 'artifacts'));
const TIMEOUT_S = Number(env.E2E_TIMEOUT_S || 480);
const HOST = '127.0.0.1';

// Test files: each holds a natural-language comment followed by a blank line.
const SHELL_FILE = 'files.sh';
const SHELL_TEXT = '#!/bin/bash\n# list all files in the current directory\n\necho done\n\n' +
    '# count lines in file.txt\n';
const SHELL_COMMENT_LINE = 2; // 1-based
const SHELL_GENERATE_COMMENT = '# count lines in file.txt'; // "Generate code from comment"
const SHELL_K1_COMMENT = '# list all files in the current directory'; // the picker after setting k = 1
const PYTHON_FILE = 'strings.py';
const PYTHON_TEXT = '# reverse a list x\n\n\n# convert string s to lower case\n\n\n# sort list a in descending order\n\n';
const PYTHON_NO_GHOST_COMMENT = '# sort list a in descending order'; // with inlineSuggestions off
const PYTHON_COMMENT_LINE = 1;
const PYTHON_GHOST_COMMENT = '# convert string s to lower case'; // ghost text on the blank line after it

const started = Date.now();
const cleanups = [];

function required(name) {
    if (!env[name]) {
        finish(false, `environment variable ${name} is not set`);
    }
    return env[name];
}

function log(message) {
    const t = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
    console.log(`[e2e ${t}s] ${message}`);
}

let finishing = false;
async function finish(ok, message) {
    if (finishing) {
        return;
    }
    finishing = true;
    for (const cleanup of cleanups.reverse()) {
        try {
            await cleanup();
        } catch {
            // best effort
        }
    }
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    console.log(ok ? `VSCODE E2E PASS (${secs}s): ${message}` : `VSCODE E2E FAIL (${secs}s): ${message}`);
    process.exit(ok ? 0 : 1);
}

function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it returns a truthy value or `ms` pass; throws `what` on timeout. */
async function waitFor(what, probe, ms, every = 250) {
    const end = Date.now() + ms;
    let last;
    while (Date.now() < end) {
        try {
            last = await probe();
            if (last) {
                return last;
            }
        } catch (error) {
            last = error;
        }
        await sleep(every);
    }
    throw new Error(`timed out after ${ms / 1000}s waiting for ${what}${last instanceof Error ? ` (${last.message})` : ''}`);
}

function freePort() {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once('error', reject);
        server.listen(0, HOST, () => {
            const { port } = server.address();
            server.close(() => resolve(port));
        });
    });
}

function run(command, args, options) {
    return new Promise((resolve, reject) => {
        execFile(command, args, { ...options, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
            if (error) {
                reject(new Error(`${path.basename(command)} ${args.join(' ')} failed: ${stderr || error.message}`));
            } else {
                resolve(stdout);
            }
        });
    });
}

/** A fresh profile, extensions dir and workspace under a temporary directory. */
function prepare() {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'codefusion-e2e-'));
    cleanups.push(() => fs.rmSync(root, { recursive: true, force: true }));
    const dirs = {
        root,
        userData: path.join(root, 'user-data'),
        extensions: path.join(root, 'extensions'),
        workspace: path.join(root, 'workspace'),
        config: path.join(root, 'code-server.yaml'),
    };
    fs.mkdirSync(path.join(dirs.userData, 'User'), { recursive: true });
    fs.mkdirSync(dirs.extensions);
    fs.mkdirSync(dirs.workspace);
    fs.writeFileSync(dirs.config, 'auth: none\n');
    fs.writeFileSync(path.join(dirs.workspace, SHELL_FILE), SHELL_TEXT);
    fs.writeFileSync(path.join(dirs.workspace, PYTHON_FILE), PYTHON_TEXT);
    writeUserSettings(dirs);
    return dirs;
}

/** The user settings of the test profile. */
function writeUserSettings(dirs) {
    const settings = {
        'codefusion.interpreter': PYTHON,
        'codefusion.checkpoint': CHECKPOINT,
        'codefusion.device': 'cpu',
        'codefusion.k': 3,
        'codefusion.trace.server': 'messages',
        'editor.inlineSuggest.enabled': true,
        'files.autoSave': 'afterDelay',
        'files.autoSaveDelay': 200,
        'security.workspace.trust.enabled': false,
        'telemetry.telemetryLevel': 'off',
        'update.mode': 'none',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'extensions.ignoreRecommendations': true,
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'workbench.enableExperiments': false,
        'workbench.welcomePage.walkthroughs.openOnInstall': false,
        'chat.commandCenter.enabled': false,
        'github.copilot.enable': { '*': false },
    };
    fs.writeFileSync(path.join(dirs.userData, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
}

/** 1-based line of `comment` in a file. */
function commentLine(dirs, name, comment) {
    const index = fileText(dirs, name).split('\n').indexOf(comment);
    if (index < 0) {
        throw new Error(`${name} lost the comment "${comment}":\n${fileText(dirs, name)}`);
    }
    return index + 1;
}

function codeServerArgs(dirs) {
    return [
        '--config', dirs.config,
        '--user-data-dir', dirs.userData,
        '--extensions-dir', dirs.extensions,
        '--disable-telemetry',
        '--disable-update-check',
        ...(dirs.trust ? [] : ['--disable-workspace-trust']),
        '--disable-getting-started-override',
    ];
}

const serverEnv = {
    ...env,
    // never reach out to a marketplace
    EXTENSIONS_GALLERY: JSON.stringify({ serviceUrl: `http://${HOST}:9/gallery`, itemUrl: `http://${HOST}:9/item` }),
};

async function startCodeServer(dirs) {
    const port = await freePort();
    const logFile = path.join(ARTIFACTS, dirs.trust ? 'code-server-trust.log' : 'code-server.log');
    const out = fs.openSync(logFile, 'w');
    const child = spawn(
        CODE_SERVER,
        [...codeServerArgs(dirs), '--bind-addr', `${HOST}:${port}`, '--auth', 'none', dirs.workspace],
        { env: serverEnv, stdio: ['ignore', out, out], detached: true },
    );
    cleanups.push(async () => {
        try {
            process.kill(-child.pid, 'SIGTERM');
        } catch {
            return;
        }
        await sleep(500);
        try {
            process.kill(-child.pid, 'SIGKILL');
        } catch {
            // already gone
        }
    });
    let exited = null;
    child.on('exit', (code) => (exited = code));
    const url = `http://${HOST}:${port}`;
    await waitFor('code-server to answer /healthz', async () => {
        if (exited !== null) {
            throw new Error(`code-server exited with ${exited}; see ${logFile}`);
        }
        const response = await fetch(`${url}/healthz`);
        return response.ok;
    }, 60000, 500);
    return url;
}

/** Opens the workbench; reloads on a slow start (the extension host starts with the page). */
async function openWorkbench(page, url, workspace) {
    const target = `${url}/?folder=${encodeURIComponent(workspace)}`;
    for (let attempt = 1; ; attempt++) {
        try {
            await page.goto(target, { waitUntil: 'domcontentloaded', timeout: 60000 });
            await page.waitForSelector('.monaco-workbench .part.statusbar', { timeout: 60000 });
            await page.waitForSelector('.explorer-folders-view, .monaco-workbench .part.sidebar', { timeout: 30000 });
            return;
        } catch (error) {
            if (attempt >= 3) {
                throw error;
            }
            log(`workbench not up (attempt ${attempt}: ${error.message.split('\n')[0]}); reloading`);
        }
    }
}

const quickInput = '.quick-input-widget';
const quickRows = `${quickInput} .quick-input-list .monaco-list-row`;

async function quickInputVisible(page) {
    return page.locator(quickInput).isVisible();
}

/** Runs a command from the command palette; retries while it is not there yet (activation). */
async function runCommand(page, label, ms = 60000) {
    await waitFor(`command "${label}" in the palette`, async () => {
        if (await quickInputVisible(page)) {
            await page.keyboard.press('Escape');
        }
        await page.keyboard.press('F1');
        await page.waitForSelector(`${quickInput} input`, { state: 'visible', timeout: 5000 });
        await page.keyboard.type(label, { delay: 5 });
        await sleep(300);
        const row = page.locator(quickRows).filter({ hasText: label }).first();
        if (!(await row.isVisible())) {
            await page.keyboard.press('Escape');
            return false;
        }
        await page.keyboard.press('Enter');
        return true;
    }, ms, 1000);
}

/**
 * Opens a workspace file with Quick Open (Ctrl+P). Enter is pressed only once the *focused* row
 * is the file: the list filters asynchronously, and before it does the focused row is the top of
 * "recently opened" (another file). If Quick Open still fails, an open tab of the file is clicked.
 */
async function openFile(page, name) {
    const group = '.editor-group-container.active';
    const active = page.locator(`${group} .tabs-container .tab.active`).filter({ hasText: name });
    await waitFor(`quick open of ${name}`, async () => {
        if (await quickInputVisible(page)) {
            await page.keyboard.press('Escape');
        }
        if (await active.isVisible()) {
            return true;
        }
        await page.keyboard.press('Control+P');
        await page.waitForSelector(`${quickInput} input`, { state: 'visible', timeout: 5000 });
        await page.keyboard.type(name, { delay: 5 });
        const focused = page.locator(`${quickRows}.focused`).filter({ hasText: name }).first();
        const listed = await focused.waitFor({ state: 'visible', timeout: 10000 }).then(() => true, () => false);
        if (listed) {
            await page.keyboard.press('Enter');
        } else {
            await page.keyboard.press('Escape');
            const tab = page.locator(`${group} .tabs-container .tab`).filter({ hasText: name }).first();
            if (!(await tab.isVisible())) {
                return false;
            }
            log(`quick open did not list ${name}; clicking its tab`);
            await tab.click();
        }
        await active.waitFor({ timeout: 10000 });
        return true;
    }, 60000, 1000);
    await page.locator(`${group} .monaco-editor textarea`).first().focus();
}

/** Moves the cursor to the end of a 1-based line with "Go to Line". */
async function gotoLine(page, line) {
    await page.keyboard.press('Control+G');
    await page.waitForSelector(`${quickInput} input`, { state: 'visible', timeout: 10000 });
    await page.keyboard.type(String(line));
    await page.keyboard.press('Enter');
    await page.keyboard.press('End');
}

/** Waits until the status bar shows the ready text (`CodeFusion`, or `CodeFusion: restricted` untrusted). */
async function waitForStatus(page, ready = 'CodeFusion') {
    const item = page.locator('.statusbar-item').filter({ hasText: /CodeFusion/ }).first();
    await item.waitFor({ timeout: 90000 });
    const text = await waitFor(`the CodeFusion status "${ready}"`, async () => {
        const t = (await item.innerText()).trim();
        if (/error|stopped/i.test(t)) {
            throw new Error(`status bar says "${t}": ${await item.getAttribute('aria-label')}`);
        }
        return t === ready ? t : false;
    }, 180000, 500);
    log(`status bar: ${text} (ready)`);
    return text;
}

function fileText(dirs, name) {
    return fs.readFileSync(path.join(dirs.workspace, name), 'utf8');
}

/** Waits for the candidate picker to be shown (the hidden widget keeps stale content); its title. */
async function waitForPicker(page) {
    return waitFor('the candidate picker', async () => {
        if (!(await quickInputVisible(page))) {
            return false;
        }
        const title = await page.locator(`${quickInput} .quick-input-title`).innerText().catch(() => '');
        return /CodeFusion: \d+ candidate/.test(title) && (await page.locator(quickRows).count()) > 0 ? title : false;
    }, 120000, 500);
}

/** Runs "Show candidates" on a comment, picks one, checks the file now holds it. */
async function pickCandidate(page, dirs, name, line, shot) {
    await openFile(page, name);
    await gotoLine(page, line);
    const before = fileText(dirs, name);
    await runCommand(page, 'CodeFusion: Show candidates');
    await waitForPicker(page);
    const rows = page.locator(quickRows);
    const count = await rows.count();
    // pick like a user: the first candidate that parses (the server ranks invalid ones last)
    const descriptions = await rows.locator('.label-description').allInnerTexts();
    if (env.E2E_EXPECT_MODEL && !descriptions.some((d) => !d.includes('retrieved example'))) {
        throw new Error(`${name}: the picker shows only retrieved examples, no model candidate:\n${descriptions.join('\n')}`);
    }
    const index = Math.max(0, descriptions.findIndex((d) => / · valid · /.test(d)));
    for (let i = 0; i < index; i++) {
        await page.keyboard.press('ArrowDown');
    }
    await page.locator('.tabs-container .tab').filter({ hasText: 'CodeFusion candidate' })
        .waitFor({ timeout: 15000 }); // the preview editor beside follows the active item
    await sleep(1000);
    const label = (await rows.nth(index).locator('.label-name').first().innerText()).trim();
    const description = (await rows.nth(index).locator('.label-description').first().innerText().catch(() => '')).trim();
    log(`${name}: ${count} candidates; picking #${index + 1}: "${label}" (${description})`);
    await page.screenshot({ path: path.join(ARTIFACTS, shot) });
    await page.keyboard.press('Enter');
    const after = await waitFor(`${name} to contain "${label}"`, () => {
        const text = fileText(dirs, name);
        return text !== before && text.includes(label) ? text : false;
    }, 30000);
    const lines = after.split('\n');
    const inserted = lines.findIndex((l) => l.includes(label));
    if (inserted !== line) {
        throw new Error(`${name}: "${label}" is on line ${inserted + 1}, expected right below the comment (line ${line + 1}):\n${after}`);
    }
    log(`${name}: inserted below the comment:\n${after}`);
    return label;
}

/** "Generate code from comment": the best candidate appears on the line below the comment. */
async function generateBest(page, dirs, name, comment) {
    await openFile(page, name);
    const line = commentLine(dirs, name, comment);
    await gotoLine(page, line);
    const before = fileText(dirs, name).split('\n');
    await runCommand(page, 'CodeFusion: Generate code from comment');
    const after = await waitFor(`${name} to get code below "${comment}"`, () => {
        const now = fileText(dirs, name).split('\n');
        return now.length > before.length && now[line - 1] === comment && now[line].trim() !== '' ? now : false;
    }, 120000);
    log(`${name}: generated "${after[line]}" below "${comment}"`);
    return after[line];
}

/** Runs the server's code action "Show N candidates…" from the Quick Fix menu (Ctrl+.). */
async function showCandidatesCodeAction(page) {
    const rows = page.locator('.action-widget .monaco-list-row.action:visible');
    const show = rows.filter({ hasText: /Show \d+ candidates?…/ }).first();
    await waitFor('the code action "Show N candidates…" on the comment line', async () => {
        if (await show.isVisible()) {
            return true;
        }
        await page.keyboard.press('Escape'); // a stale menu, if any
        await page.keyboard.press('Control+Period');
        await show.waitFor({ state: 'visible', timeout: 5000 });
        return true;
    }, 60000, 1000);
    const title = (await show.innerText()).trim();
    // keyboard, like a user: the first action is focused; group headers are not selectable
    const actions = (await rows.allInnerTexts()).map((t) => t.trim());
    log(`code actions: ${actions.join(' | ')}`);
    const index = actions.findIndex((t) => /Show \d+ candidates?…/.test(t));
    for (let i = 0; i < index; i++) {
        await page.keyboard.press('ArrowDown');
    }
    await page.keyboard.press('Enter');
    return title;
}

/**
 * After setting codefusion.k to 1 in the workspace settings (VS Code watches the file; the
 * extension sends the new options to the running server), the picker offers 1 candidate.
 */
async function pickerHonoursK(page, dirs, name, comment) {
    fs.mkdirSync(path.join(dirs.workspace, '.vscode'), { recursive: true });
    fs.writeFileSync(path.join(dirs.workspace, '.vscode', 'settings.json'), JSON.stringify({ 'codefusion.k': 1 }));
    await openFile(page, name);
    const before = fileText(dirs, name);
    await gotoLine(page, commentLine(dirs, name, comment));
    await waitFor('a picker with exactly 1 candidate after setting codefusion.k = 1', async () => {
        await showCandidatesCodeAction(page);
        const title = await waitForPicker(page);
        const rows = await page.locator(quickRows).count();
        log(`k = 1: picker "${title}" with ${rows} row(s)`);
        await page.keyboard.press('Escape');
        await page.locator(quickInput).waitFor({ state: 'hidden', timeout: 10000 });
        return rows === 1 && title.startsWith('CodeFusion: 1 candidate');
    }, 60000, 2000);
    await sleep(1000);
    if (fileText(dirs, name) !== before) {
        throw new Error(`${name} changed although the picker was dismissed:\n${fileText(dirs, name)}`);
    }
}

/**
 * Points codefusion.interpreter at a Python without the package (a bare virtual environment):
 * the extension restarts, says what is missing and how to install it, and the status bar
 * shows the error.
 */
async function missingPackage(page, dirs) {
    const bare = path.join(dirs.root, 'bare-venv');
    await run(PYTHON, ['-m', 'venv', '--without-pip', bare], { timeout: 60000 });
    const python = path.join(bare, 'bin', 'python');
    fs.writeFileSync(
        path.join(dirs.workspace, '.vscode', 'settings.json'),
        JSON.stringify({ 'codefusion.k': 1, 'codefusion.interpreter': python }),
    );
    const toast = page.locator('.notifications-toasts .notification-toast')
        .filter({ hasText: /does not have the "codefusion-editor" package/ }).first();
    await toast.waitFor({ timeout: 60000 });
    const message = (await toast.innerText()).replace(/\s+/g, ' ').trim();
    if (!message.includes(`Install it with: ${python} -m pip install -e`)) {
        throw new Error(`the missing-package message does not say how to install: "${message}"`);
    }
    const status = page.locator('.statusbar-item').filter({ hasText: /CodeFusion/ }).first();
    await waitFor('the status bar to show the error', async () => /CodeFusion: error/.test(await status.innerText()), 30000);
    await page.screenshot({ path: path.join(ARTIFACTS, 'missing-package.png') });
    log(`missing package: "${message.slice(0, 160)}…"; status bar: ${(await status.innerText()).trim()}`);
}

/** The ghost text shown in the active editor ('' when none). */
async function visibleGhostText(page) {
    const ghost = page.locator('.editor-group-container.active .ghost-text-decoration, .editor-group-container.active .ghost-text');
    return (await ghost.allInnerTexts()).join('\n').replace(/\u00a0/g, ' ').trim();
}

/** Asks for an inline suggestion: Alt+\\ or, every other attempt, the command palette. */
async function triggerInlineSuggestion(page, attempt) {
    if (attempt % 2 === 0) {
        await page.keyboard.press('Alt+Backslash'); // editor.action.inlineSuggest.trigger
    } else {
        await runCommand(page, 'Trigger Inline Suggestion', 15000);
    }
    await sleep(3000);
}

/** With codefusion.inlineSuggestions off, explicit triggers give no ghost text (the middleware drops it). */
async function noGhostTextWhenOff(page, dirs, name, comment) {
    fs.writeFileSync(
        path.join(dirs.workspace, '.vscode', 'settings.json'),
        JSON.stringify({ 'codefusion.k': 1, 'codefusion.inlineSuggestions': false }),
    );
    await sleep(2000);
    await openFile(page, name);
    await gotoLine(page, commentLine(dirs, name, comment) + 1);
    for (let attempt = 0; attempt < 3; attempt++) {
        await triggerInlineSuggestion(page, attempt);
        const text = await visibleGhostText(page);
        if (text) {
            throw new Error(`ghost text "${text}" although codefusion.inlineSuggestions is false`);
        }
    }
    log(`${name}: no ghost text below "${comment}" with inlineSuggestions off (3 triggers)`);
}

/* global document, window, MutationObserver -- page.evaluate runs this in the browser */
/** From now on, every text the CodeFusion status bar item shows is kept in window.__codefusionStatus. */
async function recordStatusTexts(page) {
    await page.evaluate(() => {
        const bar = document.querySelector('.monaco-workbench .part.statusbar');
        window.__codefusionStatus = [];
        const record = () => {
            for (const item of bar.querySelectorAll('.statusbar-item')) {
                const text = (item.textContent || '').trim();
                if (/CodeFusion/.test(text) && window.__codefusionStatus.at(-1) !== text) {
                    window.__codefusionStatus.push(text);
                }
            }
        };
        new MutationObserver(record).observe(bar, { subtree: true, childList: true, characterData: true, attributes: true });
        record();
    });
}

/** Triggers an inline suggestion on the blank line after `comment` and accepts it with Tab. */
async function ghostText(page, dirs, name, comment) {
    await openFile(page, name);
    const before = fileText(dirs, name);
    const line = commentLine(dirs, name, comment) + 1; // the blank line after the comment
    await gotoLine(page, line);
    await recordStatusTexts(page);
    let attempt = 0;
    const text = await waitFor('ghost text', async () => {
        if (!(await visibleGhostText(page))) {
            await triggerInlineSuggestion(page, attempt++);
        }
        return visibleGhostText(page);
    }, 90000, 500);
    log(`${name}: ghost text "${text}"`);
    const statuses = await page.evaluate(() => window.__codefusionStatus);
    if (!statuses.some((t) => /CodeFusion: computing/.test(t))) {
        throw new Error(`the status bar never said "computing" while ghost text was computed: ${JSON.stringify(statuses)}`);
    }
    log(`${name}: status bar while computing: ${[...new Set(statuses)].join(' -> ')}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'ghost-text.png') });
    await page.keyboard.press('Tab');
    const first = text.split('\n')[0].trim();
    await waitFor(`${name} to contain the accepted suggestion "${first}"`, () => {
        const now = fileText(dirs, name);
        return now !== before && now.split('\n')[line - 1].includes(first);
    }, 30000);
    return text;
}

// ------------------------------------------------------------------ Workspace Trust (issue 26)

const TRUST_REQUEST = 'delete the build folder';
const PLANTED_FILE_CODE = 'echo PLANTED-BY-THE-BANK-FILE';
const PLANTED_DOC_CODE = 'echo PLANTED-BY-A-SOURCE-FILE';
const USER_BANK_CODE = 'echo FROM-THE-USER-BANK';

/**
 * A cloned repository that tries to steer the suggestions: its .vscode/settings.json names a bank
 * file in it (relative, as a repository would) and an interpreter in it (a script that leaves a
 * marker, then runs the real Python), and one of its sources holds a comment -> code pair for the
 * request. The user's own bank lies outside it. Workspace Trust is on; the folder is not trusted.
 */
function prepareTrust(extensions) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'codefusion-e2e-trust-'));
    cleanups.push(() => fs.rmSync(root, { recursive: true, force: true }));
    const dirs = {
        root, trust: true, extensions,
        userData: path.join(root, 'user-data'),
        workspace: path.join(root, 'cloned-repo'),
        config: path.join(root, 'code-server.yaml'),
        marker: path.join(root, 'planted-interpreter-ran'),
        userBank: path.join(root, 'my-bank.jsonl'),
    };
    fs.mkdirSync(path.join(dirs.userData, 'User'), { recursive: true });
    fs.mkdirSync(path.join(dirs.workspace, '.vscode'), { recursive: true });
    fs.mkdirSync(path.join(dirs.workspace, 'tools'));
    fs.writeFileSync(dirs.config, 'auth: none\n');
    const record = (code) => `${JSON.stringify({ nl: TRUST_REQUEST, code, lang: 'bash' })}\n`;
    fs.writeFileSync(dirs.userBank, record(USER_BANK_CODE));
    fs.writeFileSync(path.join(dirs.workspace, 'planted.jsonl'), record(PLANTED_FILE_CODE));
    // (a request of its own: the bank keeps one entry per distinct request, the bank file's here)
    fs.writeFileSync(path.join(dirs.workspace, 'planted.sh'), `#!/bin/bash\n# ${TRUST_REQUEST} now\n${PLANTED_DOC_CODE}\n`);
    fs.writeFileSync(path.join(dirs.workspace, 'ask.sh'), `#!/bin/bash\n# ${TRUST_REQUEST}\n\n`);
    const python = path.join(dirs.workspace, 'tools', 'python');
    fs.writeFileSync(python, `#!/bin/sh\ntouch '${dirs.marker}'\nexec '${PYTHON}' "$@"\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(dirs.workspace, '.vscode', 'settings.json'), JSON.stringify({
        'codefusion.exemplarFiles': ['planted.jsonl'],
        'codefusion.interpreter': python,
    }));
    const settings = userSettingsFor(dirs);
    fs.writeFileSync(path.join(dirs.userData, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
    return dirs;
}

/** The user settings of the trust profile: the main profile's, Workspace Trust on, no startup prompt. */
function userSettingsFor(dirs) {
    return {
        'codefusion.interpreter': PYTHON,
        'codefusion.checkpoint': CHECKPOINT,
        'codefusion.device': 'cpu',
        'codefusion.k': 5,
        'codefusion.exemplarFiles': [dirs.userBank],
        'codefusion.trace.server': 'messages',
        'security.workspace.trust.enabled': true,
        'security.workspace.trust.startupPrompt': 'never', // the folder opens untrusted (Restricted Mode)
        'security.workspace.trust.banner': 'never',
        'security.workspace.trust.untrustedFiles': 'open',
        'telemetry.telemetryLevel': 'off',
        'update.mode': 'none',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'extensions.ignoreRecommendations': true,
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'workbench.enableExperiments': false,
        'chat.commandCenter.enabled': false,
    };
}

/** The picker's rows for the request in ask.sh (label and description of each), then the picker is closed. */
async function candidateRows(page, name) {
    await openFile(page, name);
    await gotoLine(page, 2);
    await runCommand(page, 'CodeFusion: Show candidates');
    await waitForPicker(page);
    await sleep(500);
    const rows = page.locator(quickRows);
    const out = [];
    for (let i = 0; i < (await rows.count()); i++) {
        const label = (await rows.nth(i).locator('.label-name').first().innerText()).trim();
        const description = (await rows.nth(i).locator('.label-description').first().innerText().catch(() => '')).trim();
        out.push(`${label} | ${description}`);
    }
    await page.keyboard.press('Escape');
    await page.locator(quickInput).waitFor({ state: 'hidden', timeout: 10000 });
    return out;
}

/** Grants trust through "Workspaces: Manage Workspace Trust" and its "Trust" button, like a user. */
async function grantTrust(page) {
    await runCommand(page, 'Workspaces: Manage Workspace Trust');
    const trust = page.getByRole('button', { name: /^Trust( Folder)?$/ }).first();
    await trust.waitFor({ state: 'visible', timeout: 30000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'trust-editor.png') });
    await trust.click();
    await sleep(1000);
    const dialog = page.locator('.monaco-dialog-box').getByRole('button', { name: /Trust/ }).first(); // a confirmation, if any
    if (await dialog.isVisible().catch(() => false)) {
        await dialog.click();
    }
}

/**
 * Untrusted: the status bar says "restricted", the planted interpreter never runs, and no candidate
 * comes from the planted bank file or source -- none names a file in the folder -- while the user's
 * own bank (outside it) is used. Trusted through the UI: the server restarts and the planted
 * exemplars are used (they were the ones kept out).
 */
async function trustScenario(browser, extensions) {
    const dirs = prepareTrust(extensions);
    const url = await startCodeServer(dirs);
    log(`trust: code-server (Workspace Trust on) up at ${url}`);
    const context = await browser.newContext({ viewport: { width: 1400, height: 850 } });
    await context.route('**/*', (route) => {
        const u = new URL(route.request().url());
        return u.protocol === 'data:' || u.protocol === 'blob:' || u.hostname === HOST ? route.continue() : route.abort();
    });
    const page = await context.newPage();
    cleanups.push(async () => {
        if (!page.isClosed()) {
            await page.screenshot({ path: path.join(ARTIFACTS, 'trust-last.png') }).catch(() => undefined);
        }
    });
    await openWorkbench(page, url, dirs.workspace);
    await openFile(page, 'planted.sh');
    await openFile(page, 'ask.sh');
    await waitForStatus(page, 'CodeFusion: restricted');
    await page.screenshot({ path: path.join(ARTIFACTS, 'trust-restricted.png') });
    const untrusted = await candidateRows(page, 'ask.sh');
    log(`untrusted: ${untrusted.length} candidates:\n  ${untrusted.join('\n  ')}`);
    // a candidate's provenance names its file ("user bank, planted.sh line 2"): none may name a file of the folder
    const names = fs.readdirSync(dirs.workspace).filter((n) => !n.startsWith('.'));
    const planted = untrusted.filter((r) => r.includes('PLANTED') || names.some((n) => r.includes(`${n} line`)) ||
        r.includes(dirs.workspace));
    if (planted.length > 0) {
        throw new Error(`untrusted workspace: candidates from the planted exemplars: ${planted.join(' || ')}`);
    }
    if (!untrusted.some((r) => r.includes(USER_BANK_CODE) && /user bank, my-bank\.jsonl line 1/.test(r))) {
        throw new Error(`untrusted workspace: the user's own bank (outside the folder) is not used: ${untrusted.join(' || ')}`);
    }
    if (fs.existsSync(dirs.marker)) {
        throw new Error('untrusted workspace: the interpreter named in the folder\'s settings was run');
    }

    await grantTrust(page);
    await waitFor('the planted interpreter to run once trusted (the server restarts with the folder settings)',
        () => fs.existsSync(dirs.marker), 90000, 500);
    await waitForStatus(page, 'CodeFusion');
    const trusted = await waitFor('a candidate from the planted exemplars once trusted', async () => {
        const rows = await candidateRows(page, 'ask.sh');
        return rows.some((r) => r.includes('PLANTED')) ? rows : false;
    }, 90000, 2000);
    log(`trusted: ${trusted.length} candidates:\n  ${trusted.join('\n  ')}`);
    const fromFile = trusted.some((r) => r.includes(PLANTED_FILE_CODE) && /planted\.jsonl line 1/.test(r));
    const fromDoc = trusted.some((r) => r.includes(PLANTED_DOC_CODE) && /planted\.sh line 2/.test(r));
    if (!fromFile || !fromDoc) {
        throw new Error(`trusted workspace: expected candidates from planted.jsonl line 1 and planted.sh line 2: ${trusted.join(' || ')}`);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'trust-trusted.png') });
    const logs = path.join(dirs.userData, 'logs');
    cleanups.push(() => fs.existsSync(logs) && fs.cpSync(logs, path.join(ARTIFACTS, 'vscode-logs-trust'), { recursive: true }));
    await context.close();
    return `untrusted: status "restricted", ${untrusted.length} candidates, none from the folder (the user bank's used), ` +
        `its interpreter not run; trusted: planted.jsonl line 1 and planted.sh line 2 used`;
}

async function main() {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    for (const f of fs.readdirSync(ARTIFACTS)) {
        fs.rmSync(path.join(ARTIFACTS, f), { recursive: true, force: true });
    }
    const scenarios = (env.E2E_SCENARIOS || 'main,trust').split(',').map((x) => x.trim());
    const dirs = prepare();
    log(`installing ${path.basename(VSIX)}`);
    await run(CODE_SERVER, [...codeServerArgs(dirs), '--install-extension', VSIX], { env: serverEnv, timeout: 120000 });
    const browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
            '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync',
            '--disable-dev-shm-usage',
        ],
    });
    cleanups.push(() => browser.close());
    const results = [];
    if (scenarios.includes('main')) {
        results.push(await mainScenario(browser, dirs));
    }
    if (scenarios.includes('trust')) {
        results.push(await trustScenario(browser, dirs.extensions));
    }
    return results.join('; ');
}

/** The extension's features in a trusted workspace (Workspace Trust off, as most tests run). */
async function mainScenario(browser, dirs) {
    const url = await startCodeServer(dirs);
    log(`code-server up at ${url}`);
    const context = await browser.newContext({ viewport: { width: 1400, height: 850 } });
    // loopback only: anything else is refused before it leaves the browser
    const blocked = new Set();
    await context.route('**/*', (route) => {
        const u = new URL(route.request().url());
        if (u.protocol === 'data:' || u.protocol === 'blob:' || u.hostname === HOST) {
            return route.continue();
        }
        blocked.add(u.host);
        return route.abort();
    });
    const page = await context.newPage();
    cleanups.push(async () => {
        if (!page.isClosed()) {
            await page.screenshot({ path: path.join(ARTIFACTS, 'last.png') }).catch(() => undefined);
        }
        const logs = path.join(dirs.userData, 'logs');
        if (fs.existsSync(logs)) {
            fs.cpSync(logs, path.join(ARTIFACTS, 'vscode-logs'), { recursive: true });
        }
    });

    await openWorkbench(page, url, dirs.workspace);
    log('workbench up');
    await openFile(page, SHELL_FILE);
    await waitForStatus(page);

    const shell = await pickCandidate(page, dirs, SHELL_FILE, SHELL_COMMENT_LINE, 'picker-shell.png');
    const python = await pickCandidate(page, dirs, PYTHON_FILE, PYTHON_COMMENT_LINE, 'picker-python.png');
    const ghost = await ghostText(page, dirs, PYTHON_FILE, PYTHON_GHOST_COMMENT);
    const generated = await generateBest(page, dirs, SHELL_FILE, SHELL_GENERATE_COMMENT);
    await pickerHonoursK(page, dirs, SHELL_FILE, SHELL_K1_COMMENT);
    await noGhostTextWhenOff(page, dirs, PYTHON_FILE, PYTHON_NO_GHOST_COMMENT);
    await missingPackage(page, dirs);
    if (blocked.size > 0) {
        log(`blocked non-loopback requests to: ${[...blocked].join(', ')}`);
    }
    return `picked "${shell}" (${SHELL_FILE}) and "${python}" (${PYTHON_FILE}); ghost text "${ghost.split('\n')[0]}" ` +
        `accepted; generated "${generated.trim()}"; k = 1 honoured; ghost text off honoured; missing package reported`;
}

const timer = setTimeout(() => void finish(false, `overall timeout of ${TIMEOUT_S}s`), TIMEOUT_S * 1000);
timer.unref();
main().then(
    (message) => finish(true, message),
    (error) => finish(false, error instanceof Error ? error.message : String(error)),
);

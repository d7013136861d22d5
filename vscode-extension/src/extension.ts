/** Entry point: activates, deactivates and restarts; the work lives in the other modules. */
import * as vscode from 'vscode';
import { Commands } from './commands';
import { onDidChangeInterpreter } from './pythonExtension';
import { CandidatePreview } from './preview';
import { CodeFusionServer } from './server';
import { loadManifest, restrictedSettings, serverSettingDefaults } from './serverInfo';
import { changeAction } from './settings';
import { StatusBar } from './statusBar';

let server: CodeFusionServer | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    const manifest = loadManifest(context.extensionPath);
    const info = manifest.serverInfo;
    const defaults = serverSettingDefaults(manifest);

    const log = vscode.window.createOutputChannel(info.name, { log: true });
    const status = new StatusBar(info.name, info.clientCommands.showLog);
    const preview = new CandidatePreview();
    server = new CodeFusionServer(info, defaults, log, status, restrictedSettings(manifest), context.extensionPath);
    const running = server;

    context.subscriptions.push(
        log,
        status,
        preview,
        running,
        ...new Commands(info, running, preview).register(),
        vscode.commands.registerCommand(info.clientCommands.restartServer, () => running.restart()),
        vscode.commands.registerCommand(info.clientCommands.showLog, () => log.show()),
        // trust granted: a new server with the workspace's settings, interpreter and examples
        vscode.workspace.onDidGrantWorkspaceTrust(() => {
            log.info('the workspace is now trusted: restarting the server');
            void running.restart();
        }),
        vscode.workspace.onDidChangeConfiguration((event) => {
            const action = changeAction(
                (name) => event.affectsConfiguration(`${info.configSection}.${name}`),
                Object.keys(defaults),
            );
            if (action !== 'none') {
                log.info(`settings changed: ${action}`);
            }
            if (action === 'restart') {
                void running.restart();
            } else if (action === 'reconfigure') {
                void running.reconfigure();
            }
        }),
        await onDidChangeInterpreter(() => {
            const configured = vscode.workspace.getConfiguration(info.configSection).get<string>('interpreter');
            if (!configured) {
                void running.restart();
            }
        }),
    );
    void running.start(); // commands wait for it; activation does not
}

export async function deactivate(): Promise<void> {
    await server?.stop();
    server = undefined;
}

/**
 * The language server: finds the interpreter, checks it has the package, starts
 * `python -m lsp` over stdio with vscode-languageclient, forwards settings and status.
 */
import * as vscode from 'vscode';
import {
    CancellationToken,
    DidChangeConfigurationNotification,
    ExecuteCommandRequest,
    LanguageClient,
    LanguageClientOptions,
    ServerOptions as ProcessOptions,
    State,
} from 'vscode-languageclient/node';
import { problemMessage, probeInterpreter, resolveInterpreter } from './interpreter';
import { activeInterpreter } from './pythonExtension';
import { ServerInfo } from './serverInfo';
import { clientSettings, languageIds, serverOptions, ServerOptions, SettingGetter, trustedGetter } from './settings';
import { parseStatus } from './status';
import { StatusBar } from './statusBar';

export class CodeFusionServer implements vscode.Disposable {
    private client: LanguageClient | undefined;
    /** Serialises start / stop / restart. */
    private queue: Promise<void> = Promise.resolve();

    constructor(
        private readonly info: ServerInfo,
        private readonly defaults: Record<string, unknown>,
        private readonly log: vscode.LogOutputChannel,
        private readonly status: StatusBar,
        /** Settings read at user level only in an untrusted workspace (package.json restrictedConfigurations). */
        private readonly restricted: readonly string[],
        /** Where the server runs in an untrusted workspace (not the workspace: `python -m` imports from its cwd). */
        private readonly safeDirectory: string,
    ) {}

    private config(): vscode.WorkspaceConfiguration {
        return vscode.workspace.getConfiguration(this.info.configSection);
    }

    /** Workspace Trust (true when VS Code's trust feature is off). */
    private trusted(): boolean {
        return vscode.workspace.isTrusted;
    }

    /** The settings as the current trust allows: restricted ones at user level only when untrusted. */
    private getter(): SettingGetter {
        const config = this.config();
        return trustedGetter((name) => config.get(name), (name) => config.inspect(name), this.restricted, this.trusted());
    }

    private workspaceFolder(): string | undefined {
        return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    }

    /** The server options from the current settings. */
    options(): ServerOptions {
        const trusted = this.trusted();
        // untrusted: a relative path is not resolved against the workspace folder
        const options = serverOptions(this.getter(), this.defaults, trusted ? this.workspaceFolder() : undefined);
        options[this.info.trustOption] = trusted;
        return options;
    }

    /** Inline suggestions are on (read at every request, so a change applies at once). */
    private inlineSuggestionsOn(): boolean {
        return clientSettings(this.getter()).inlineSuggestions;
    }

    start(): Promise<void> {
        return this.enqueue(() => this.doStart());
    }

    stop(): Promise<void> {
        return this.enqueue(() => this.doStop());
    }

    restart(): Promise<void> {
        return this.enqueue(async () => {
            await this.doStop();
            await this.doStart();
        });
    }

    /** Sends the current options to the running server. */
    async reconfigure(): Promise<void> {
        const client = this.client;
        if (client?.state === State.Running) {
            const settings = { [this.info.configSection]: this.options() };
            this.log.info(`sending settings ${JSON.stringify(settings)}`);
            await client.sendNotification(DidChangeConfigurationNotification.type, { settings });
        }
    }

    /** Runs a server command (workspace/executeCommand). */
    async execute(command: string, args: unknown[], token?: CancellationToken): Promise<unknown> {
        await this.queue;
        const client = this.client;
        if (!client || client.state !== State.Running) {
            throw new Error('the CodeFusion server is not running (see the CodeFusion output for why)');
        }
        return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args }, token);
    }

    private enqueue(task: () => Promise<void>): Promise<void> {
        this.queue = this.queue.then(task, task);
        return this.queue;
    }

    private async doStart(): Promise<void> {
        this.status.update('starting');
        const trusted = this.trusted();
        this.status.setRestricted(!trusted);
        // untrusted: not from the workspace folder (`python -m lsp` and the probe's `-c` would import
        // a planted lsp/ from there), and not the Python extension's choice (it may be a venv in it)
        const cwd = trusted ? this.workspaceFolder() : this.safeDirectory;
        const settings = clientSettings(this.getter(), trusted ? cwd : undefined);
        const interpreter = await resolveInterpreter(settings.interpreter, () =>
            trusted ? activeInterpreter(vscode.workspace.workspaceFolders?.[0]?.uri) : Promise.resolve(undefined),
        );
        if (!trusted) {
            this.log.info('untrusted workspace (Restricted Mode): workspace examples are not used; ' +
                `${this.restricted.join(', ')} are read from the user settings only`);
        }
        this.log.info(`interpreter: ${interpreter.command} (${interpreter.source})`);
        const probe = await probeInterpreter(interpreter.command, this.info.module, this.info.distribution, cwd);
        this.log.info(`probe: ${JSON.stringify(probe)}`);
        const problem = problemMessage(interpreter, probe, this.info.module, this.info.distribution);
        if (problem !== undefined) {
            this.log.error(problem);
            this.status.update('error', problem);
            void this.showProblem(problem);
            return;
        }

        const options = this.options();
        const processOptions: ProcessOptions = {
            command: interpreter.command,
            args: ['-m', this.info.module],
            options: { cwd, env: { ...process.env, PYTHONUNBUFFERED: '1' } },
        };
        const clientOptions: LanguageClientOptions = {
            documentSelector: languageIds(options, this.defaults).flatMap((language) => [
                { scheme: 'file', language },
                { scheme: 'untitled', language },
            ]),
            outputChannel: this.log,
            initializationOptions: options,
            middleware: {
                // while a suggestion is computed the status bar says so
                provideInlineCompletionItems: (document, position, context, token, next) =>
                    this.inlineSuggestionsOn()
                        ? this.status.activity.track(next(document, position, context, token))
                        : undefined,
                provideCompletionItem: (document, position, context, token, next) =>
                    this.status.activity.track(next(document, position, context, token)),
                workspace: {
                    // answer workspace/configuration pulls for our section with the mapped options
                    configuration: (params, token, next) => {
                        const answer = next(params, token);
                        const section = this.info.configSection;
                        if (!params.items.some((item) => item.section === section)) {
                            return answer;
                        }
                        return Promise.resolve(answer).then((values) =>
                            Array.isArray(values)
                                ? values.map((v: unknown, i) => (params.items[i].section === section ? this.options() : v))
                                : values,
                        );
                    },
                },
            },
        };
        const client = new LanguageClient(this.info.configSection, this.info.name, processOptions, clientOptions);
        client.onNotification(this.info.statusNotification, (params: unknown) => {
            const status = parseStatus(params);
            this.log.info(`status: ${status.state} ${status.message}`);
            this.status.update(status.state, status.message);
        });
        client.onDidChangeState((event) => {
            if (event.newState === State.Stopped && this.client === client) {
                this.status.update('stopped');
            }
        });
        this.client = client;
        try {
            await client.start();
            this.log.info(`server started: ${interpreter.command} -m ${this.info.module}`);
        } catch (error) {
            const message = `the CodeFusion server failed to start: ${error instanceof Error ? error.message : String(error)}`;
            this.log.error(message);
            this.status.update('error', message);
            void this.showProblem(message);
        }
    }

    private async doStop(): Promise<void> {
        const client = this.client;
        this.client = undefined;
        if (client) {
            try {
                await client.dispose(5000);
            } catch (error) {
                this.log.warn(`stopping the server: ${error instanceof Error ? error.message : String(error)}`);
            }
        }
        this.status.update('stopped');
    }

    private async showProblem(message: string): Promise<void> {
        const openSettings = 'Set interpreter';
        const showLog = 'Show log';
        const choice = await vscode.window.showErrorMessage(message, openSettings, showLog);
        if (choice === openSettings) {
            await vscode.commands.executeCommand(
                'workbench.action.openSettings',
                `${this.info.configSection}.interpreter`,
            );
        } else if (choice === showLog) {
            this.log.show();
        }
    }

    dispose(): void {
        void this.stop();
    }
}

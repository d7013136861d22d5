/** The commands "Generate code from comment" and "Show candidates". */
import * as vscode from 'vscode';
import {
    Candidate,
    CandidateItem,
    GenerateResult,
    parseGenerateResult,
    Position,
    previewLanguage,
    previewText,
    toItems,
} from './candidates';
import { CandidatePreview } from './preview';
import { CodeFusionServer } from './server';
import { ServerInfo } from './serverInfo';

/** Arguments of the server's code action (`{uri, position}`), optional. */
interface Target {
    uri: string;
    position: Position;
}

function isTarget(value: unknown): value is Target {
    const t = value as Target | undefined;
    return typeof t?.uri === 'string' && typeof t.position?.line === 'number' && typeof t.position?.character === 'number';
}

function errorText(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
}

export class Commands {
    constructor(
        private readonly info: ServerInfo,
        private readonly server: CodeFusionServer,
        private readonly preview: CandidatePreview,
    ) {}

    register(): vscode.Disposable[] {
        const ids = this.info.clientCommands;
        return [
            vscode.commands.registerCommand(ids.generateFromComment, (arg?: unknown) => this.generate(arg)),
            vscode.commands.registerCommand(ids.showCandidates, (arg?: unknown) => this.showCandidates(arg)),
        ];
    }

    /** The comment to generate for: the code action's argument, else the cursor. */
    private target(arg: unknown): Target | undefined {
        if (isTarget(arg)) {
            return arg;
        }
        const editor = vscode.window.activeTextEditor;
        if (!editor) {
            void vscode.window.showWarningMessage('CodeFusion: open a file and put the cursor on a comment first.');
            return undefined;
        }
        const { line, character } = editor.selection.active;
        return { uri: editor.document.uri.toString(), position: { line, character } };
    }

    /** Asks the server for candidates, with a cancellable progress notification. */
    private async candidates(target: Target): Promise<GenerateResult | undefined> {
        try {
            const result = await vscode.window.withProgress(
                { location: vscode.ProgressLocation.Notification, title: 'CodeFusion: generating…', cancellable: true },
                (_progress, token) => this.server.execute(this.info.serverCommands.generate, [target], token),
            );
            const parsed = parseGenerateResult(result);
            if (parsed.candidates.length === 0) {
                void vscode.window.showInformationMessage(
                    `CodeFusion: ${parsed.message ?? 'no candidates for this position (put the cursor on a comment)'}`,
                );
                return undefined;
            }
            if (parsed.message) {
                void vscode.window.showInformationMessage(`CodeFusion: ${parsed.message}`);
            }
            return parsed;
        } catch (error) {
            if (error instanceof vscode.CancellationError) {
                return undefined;
            }
            void vscode.window.showErrorMessage(`CodeFusion: ${errorText(error)}`);
            return undefined;
        }
    }

    /** Inserts `candidate` below the comment through the server's `codefusion.insert`. */
    private async insert(target: Target, candidate: Candidate): Promise<void> {
        try {
            const answer = (await this.server.execute(this.info.serverCommands.insert, [
                { uri: target.uri, position: target.position, code: candidate.code },
            ])) as { applied?: boolean } | null;
            if (!answer?.applied) {
                void vscode.window.showErrorMessage('CodeFusion: the editor did not apply the insertion (the document changed?).');
            }
        } catch (error) {
            void vscode.window.showErrorMessage(`CodeFusion: ${errorText(error)}`);
        }
    }

    /** "Generate code from comment": inserts the best candidate, asking first when it is dangerous. */
    async generate(arg?: unknown): Promise<void> {
        const target = this.target(arg);
        const result = target && (await this.candidates(target));
        if (!target || !result) {
            return;
        }
        const best = result.candidates[0];
        if (best.warnings.length > 0) {
            const insert = 'Insert anyway';
            const choice = await vscode.window.showWarningMessage(
                `CodeFusion: the best candidate is dangerous: ${best.warnings.join('; ')}.`,
                { modal: true, detail: best.code },
                insert,
            );
            if (choice !== insert) {
                return;
            }
        }
        await this.insert(target, best);
    }

    /** "Show candidates": a picker with every candidate and a preview; inserts the accepted one. */
    async showCandidates(arg?: unknown): Promise<void> {
        const target = this.target(arg);
        const result = target && (await this.candidates(target));
        if (!target || !result) {
            return;
        }
        const chosen = await this.pick(result);
        if (chosen) {
            await this.insert(target, chosen);
        }
    }

    private pick(result: GenerateResult): Promise<Candidate | undefined> {
        const picker = vscode.window.createQuickPick<CandidateItem & vscode.QuickPickItem>();
        picker.title = `CodeFusion: ${result.candidates.length} candidate${result.candidates.length === 1 ? '' : 's'} for "${result.comment ?? ''}"`;
        picker.placeholder = 'Pick a candidate to insert below the comment (its full snippet is previewed in an editor)';
        picker.matchOnDescription = true;
        picker.matchOnDetail = true;
        picker.ignoreFocusOut = true;
        picker.items = toItems(result);
        const language = previewLanguage(result.lang);
        return new Promise((resolve) => {
            let chosen: Candidate | undefined;
            picker.onDidChangeActive((items) => {
                const index = items[0] ? result.candidates.indexOf(items[0].candidate) : -1;
                if (index >= 0) {
                    this.preview.show(previewText(result, index), language).catch(() => undefined);
                }
            });
            picker.onDidAccept(() => {
                chosen = picker.selectedItems[0]?.candidate ?? picker.activeItems[0]?.candidate;
                picker.hide();
            });
            picker.onDidHide(() => {
                picker.dispose();
                this.preview.close().catch(() => undefined).finally(() => resolve(chosen));
            });
            picker.show();
        });
    }
}

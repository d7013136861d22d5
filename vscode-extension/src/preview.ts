/**
 * A read-only editor that previews the full snippet of the candidate selected in the picker.
 * With a single editor group it opens in a new group below (the picker covers the top of the
 * window, so a preview beside would hide short snippets); otherwise beside.
 */
import * as vscode from 'vscode';

export const PREVIEW_SCHEME = 'codefusion-preview';

export class CandidatePreview implements vscode.TextDocumentContentProvider, vscode.Disposable {
    private readonly changed = new vscode.EventEmitter<vscode.Uri>();
    readonly onDidChange = this.changed.event;
    private readonly uri = vscode.Uri.from({ scheme: PREVIEW_SCHEME, path: '/CodeFusion candidate' });
    private text = '';
    private readonly registration: vscode.Disposable;
    /** The group this preview created below the editor, removed again on close. */
    private createdGroup = false;

    constructor() {
        this.registration = vscode.workspace.registerTextDocumentContentProvider(PREVIEW_SCHEME, this);
    }

    provideTextDocumentContent(): string {
        return this.text;
    }

    /** Shows `text` (in `languageId`) beside the current editor, keeping the focus where it is. */
    async show(text: string, languageId: string): Promise<void> {
        this.text = text;
        this.changed.fire(this.uri);
        let document = await vscode.workspace.openTextDocument(this.uri);
        if (document.languageId !== languageId) {
            document = await vscode.languages.setTextDocumentLanguage(document, languageId);
        }
        await vscode.window.showTextDocument(document, {
            viewColumn: await this.column(),
            preserveFocus: true,
            preview: true,
        });
    }

    private tabs(): vscode.Tab[] {
        return vscode.window.tabGroups.all.flatMap((group) => group.tabs).filter(
            (tab) => tab.input instanceof vscode.TabInputText && tab.input.uri.toString() === this.uri.toString(),
        );
    }

    private async column(): Promise<vscode.ViewColumn> {
        const open = this.tabs()[0];
        if (open) {
            return open.group.viewColumn;
        }
        if (vscode.window.tabGroups.all.length === 1) {
            // orientation 1: groups stacked vertically (editor above, preview below)
            await vscode.commands.executeCommand('vscode.setEditorLayout', {
                orientation: 1,
                groups: [{ size: 0.6 }, { size: 0.4 }],
            });
            this.createdGroup = true;
            return vscode.ViewColumn.Two;
        }
        return vscode.ViewColumn.Beside;
    }

    /** Closes the preview editor if it is open. */
    async close(): Promise<void> {
        const tabs = this.tabs();
        const groups = new Set(tabs.map((tab) => tab.group));
        if (tabs.length > 0) {
            await vscode.window.tabGroups.close(tabs);
        }
        if (this.createdGroup) {
            this.createdGroup = false;
            // closeEmptyGroups usually removes it already; if not, remove it here
            const empty = vscode.window.tabGroups.all.filter((g) => groups.has(g) && g.tabs.length === 0);
            if (empty.length > 0 && vscode.window.tabGroups.all.length > 1) {
                await vscode.window.tabGroups.close(empty);
            }
        }
    }

    dispose(): void {
        this.registration.dispose();
        this.changed.dispose();
    }
}

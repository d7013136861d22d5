/** A read-only side editor that previews the full snippet of the candidate selected in the picker. */
import * as vscode from 'vscode';

export const PREVIEW_SCHEME = 'codefusion-preview';

export class CandidatePreview implements vscode.TextDocumentContentProvider, vscode.Disposable {
    private readonly changed = new vscode.EventEmitter<vscode.Uri>();
    readonly onDidChange = this.changed.event;
    private readonly uri = vscode.Uri.from({ scheme: PREVIEW_SCHEME, path: '/CodeFusion candidate' });
    private text = '';
    private readonly registration: vscode.Disposable;

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
            viewColumn: vscode.ViewColumn.Beside,
            preserveFocus: true,
            preview: true,
        });
    }

    /** Closes the preview editor if it is open. */
    async close(): Promise<void> {
        const tabs = vscode.window.tabGroups.all.flatMap((group) => group.tabs).filter(
            (tab) => tab.input instanceof vscode.TabInputText && tab.input.uri.toString() === this.uri.toString(),
        );
        if (tabs.length > 0) {
            await vscode.window.tabGroups.close(tabs);
        }
    }

    dispose(): void {
        this.registration.dispose();
        this.changed.dispose();
    }
}

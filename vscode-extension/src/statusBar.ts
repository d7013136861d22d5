/** The status bar item: starting / loading model / ready / error; a click shows the server log. */
import * as vscode from 'vscode';
import { ServerState, statusView } from './status';

export class StatusBar implements vscode.Disposable {
    private readonly item: vscode.StatusBarItem;

    constructor(private readonly name: string, showLogCommand: string) {
        this.item = vscode.window.createStatusBarItem('codefusion.status', vscode.StatusBarAlignment.Right, 100);
        this.item.name = name;
        this.item.command = showLogCommand;
        this.update('starting');
        this.item.show();
    }

    /** Shows `state` with an optional message in the tooltip. */
    update(state: ServerState, message = ''): void {
        const view = statusView(this.name, state, message);
        this.item.text = view.text;
        this.item.tooltip = view.tooltip;
        this.item.backgroundColor = view.error ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    }

    dispose(): void {
        this.item.dispose();
    }
}

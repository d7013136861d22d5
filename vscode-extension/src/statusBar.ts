/** The status bar item: starting / loading model / ready / computing / error; a click shows the server log. */
import * as vscode from 'vscode';
import { Activity, ServerState, statusView } from './status';

export class StatusBar implements vscode.Disposable {
    private readonly item: vscode.StatusBarItem;
    private state: ServerState = 'starting';
    private message = '';
    /** The workspace is untrusted (Restricted Mode). */
    private restricted = false;
    /** Suggestion requests in flight: while any is, a ready server shows "computing". */
    readonly activity = new Activity(() => this.render());

    constructor(private readonly name: string, showLogCommand: string) {
        this.item = vscode.window.createStatusBarItem('codefusion.status', vscode.StatusBarAlignment.Right, 100);
        this.item.name = name;
        this.item.command = showLogCommand;
        this.update('starting');
        this.item.show();
    }

    /** Shows `state` with an optional message in the tooltip. */
    update(state: ServerState, message = ''): void {
        this.state = state;
        this.message = message;
        this.render();
    }

    /** Says whether the workspace is untrusted (the status bar then says "restricted"). */
    setRestricted(restricted: boolean): void {
        this.restricted = restricted;
        this.render();
    }

    private render(): void {
        const view = statusView(this.name, this.state, this.message, this.activity.busy, this.restricted);
        this.item.text = view.text;
        this.item.tooltip = view.tooltip;
        this.item.backgroundColor = view.error ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    }

    dispose(): void {
        this.item.dispose();
    }
}

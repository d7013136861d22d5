/** The server states of the `codefusion/status` notification and how the status bar shows them. */

export type ServerState = 'starting' | 'loading' | 'ready' | 'error' | 'stopped';

/** Parameters of the `codefusion/status` notification (docs/contracts.md). */
export interface StatusParams {
    state: 'loading' | 'ready' | 'error';
    message: string;
}

/** What the status bar item shows. */
export interface StatusView {
    text: string;
    tooltip: string;
    /** Use the error background colour. */
    error: boolean;
}

/** Checks a `codefusion/status` payload; unknown shapes become an error state. */
export function parseStatus(value: unknown): StatusParams {
    const v = value as Partial<StatusParams> | null;
    if (v && (v.state === 'loading' || v.state === 'ready' || v.state === 'error')) {
        return { state: v.state, message: typeof v.message === 'string' ? v.message : '' };
    }
    return { state: 'error', message: `unexpected status from the server: ${JSON.stringify(value)}` };
}

/** What the tooltip says in an untrusted workspace (Restricted Mode). */
export const RESTRICTED_TOOLTIP =
    'Restricted Mode (untrusted workspace): the comment -> code pairs of open files and exemplar files in the ' +
    'workspace are not used; paths and programs come from your user settings only. Trust the workspace to use them.';

/**
 * Status bar text and tooltip for a state; `busy` is the number of suggestions being computed;
 * `restricted`: the workspace is untrusted (a ready server says "restricted").
 */
export function statusView(name: string, state: ServerState, message = '', busy = 0, restricted = false): StatusView {
    const view = baseView(name, state, message, busy);
    if (!restricted) {
        return view;
    }
    const text = state === 'ready' && busy === 0 ? `$(workspace-untrusted) ${name}: restricted` : view.text;
    return { ...view, text, tooltip: `${view.tooltip}\n${RESTRICTED_TOOLTIP}` };
}

function baseView(name: string, state: ServerState, message: string, busy: number): StatusView {
    const detail = message ? `\n${message}` : '';
    if (state === 'ready' && busy > 0) {
        return {
            text: `$(sync~spin) ${name}: computing`,
            tooltip: `${name}: computing ${busy === 1 ? 'a suggestion' : `${busy} suggestions`} for the comment${detail}\nClick to show the server log.`,
            error: false,
        };
    }
    switch (state) {
        case 'starting':
            return { text: `$(sync~spin) ${name}: starting`, tooltip: `${name}: starting the language server${detail}`, error: false };
        case 'loading':
            return { text: `$(sync~spin) ${name}: loading model`, tooltip: `${name}: loading the model${detail}`, error: false };
        case 'ready':
            return { text: `$(check) ${name}`, tooltip: `${name}: ready${detail}\nClick to show the server log.`, error: false };
        case 'error':
            return { text: `$(error) ${name}: error`, tooltip: `${name}: error${detail}\nClick to show the server log.`, error: true };
        case 'stopped':
            return { text: `$(circle-slash) ${name}: stopped`, tooltip: `${name}: the server is not running${detail}\nClick to show the server log.`, error: false };
    }
}

/** Counts the suggestion requests in flight, so the status bar can say that one is being computed. */
export class Activity {
    private pending = 0;

    constructor(private readonly changed: (busy: number) => void) {}

    get busy(): number {
        return this.pending;
    }

    /** Counts `work` as in flight until it settles (fulfilled, rejected or cancelled), and returns it. */
    track<T>(work: T | Thenable<T>): T | Thenable<T> {
        if (!work || typeof (work as Thenable<T>).then !== 'function') {
            return work;
        }
        this.pending += 1;
        this.changed(this.pending);
        const settle = (): void => {
            this.pending -= 1;
            this.changed(this.pending);
        };
        return (work as Thenable<T>).then(
            (value) => {
                settle();
                return value;
            },
            (error: unknown) => {
                settle();
                throw error;
            },
        );
    }
}

/**
 * Settings: the server options of docs/contracts.md (sent as initializationOptions and
 * workspace/didChangeConfiguration) and the client-only settings. No VS Code import: the
 * caller passes a getter over the `codefusion` configuration section.
 */
import * as os from 'node:os';
import * as path from 'node:path';

/** Reads one setting of the `codefusion` section (by its short name). */
export type SettingGetter = (name: string) => unknown;

/** Settings that only the client uses. */
export interface ClientSettings {
    /** Python interpreter for the server; '' = automatic. */
    interpreter: string;
    /** Show inline suggestions (ghost text). */
    inlineSuggestions: boolean;
}

/** Server options as JSON (keys of the contract's table); the server validates values. */
export type ServerOptions = Record<string, unknown>;

/** What VS Code's `WorkspaceConfiguration.inspect()` says of a setting (the part used here). */
export interface SettingLevels {
    globalValue?: unknown;
}

/**
 * The getter for the current trust: in a trusted workspace `get` (every level); in an untrusted one
 * the settings in `restricted` are read at user level only (`inspect(name).globalValue`), so that a
 * cloned repository's .vscode/settings.json cannot name a file or a program. Unset: the default.
 */
export function trustedGetter(
    get: SettingGetter,
    inspect: (name: string) => SettingLevels | undefined,
    restricted: readonly string[],
    trusted: boolean,
): SettingGetter {
    if (trusted) {
        return get;
    }
    return (name) => (restricted.includes(name) ? inspect(name)?.globalValue : get(name));
}

/** Settings whose change needs a new server process rather than a reconfiguration. */
export const RESTART_SETTINGS: readonly string[] = ['interpreter', 'languages'];

/**
 * Expands `~` and `${workspaceFolder}` in a path setting and makes a relative path absolute
 * against the workspace folder. Empty strings become null (= the default).
 */
export function expandPath(value: string, workspaceFolder: string | undefined): string | null {
    let p = value.trim();
    if (p === '') {
        return null;
    }
    if (workspaceFolder !== undefined) {
        p = p.split('${workspaceFolder}').join(workspaceFolder);
    }
    if (p === '~' || p.startsWith('~/')) {
        p = path.join(os.homedir(), p.slice(1));
    }
    if (!path.isAbsolute(p) && workspaceFolder !== undefined) {
        p = path.join(workspaceFolder, p);
    }
    return p;
}

/**
 * The server options: every server setting of package.json (`defaults` gives the names),
 * read through `get`, with the checkpoint path expanded. Values of the wrong type are passed
 * on as they are: the server falls back to the default and says so.
 */
export function serverOptions(
    get: SettingGetter,
    defaults: Record<string, unknown>,
    workspaceFolder?: string,
): ServerOptions {
    const options: ServerOptions = {};
    for (const [name, fallback] of Object.entries(defaults)) {
        const value = get(name);
        options[name] = value === undefined ? fallback : value;
    }
    if (typeof options.checkpoint === 'string') {
        options.checkpoint = expandPath(options.checkpoint, workspaceFolder);
    }
    return options;
}

/** The client-only settings, with their defaults for missing or mistyped values. */
export function clientSettings(get: SettingGetter, workspaceFolder?: string): ClientSettings {
    const interpreter = get('interpreter');
    const inline = get('inlineSuggestions');
    return {
        interpreter:
            typeof interpreter === 'string' ? (expandPath(interpreter, workspaceFolder) ?? '') : '',
        inlineSuggestions: typeof inline === 'boolean' ? inline : true,
    };
}

/** Language ids the server serves (the `languages` option), or the default list. */
export function languageIds(options: ServerOptions, defaults: Record<string, unknown>): string[] {
    const value = options.languages;
    if (Array.isArray(value) && value.length > 0 && value.every((v): v is string => typeof v === 'string')) {
        return value;
    }
    return defaults.languages as string[];
}

/**
 * What a configuration change needs: 'restart' (a new server process), 'reconfigure'
 * (send the new options), or 'none' (client-only settings such as inlineSuggestions).
 * `affects(name)` says whether the change touched setting `name`.
 */
export function changeAction(
    affects: (name: string) => boolean,
    serverSettingNames: readonly string[],
): 'restart' | 'reconfigure' | 'none' {
    if (RESTART_SETTINGS.some(affects)) {
        return 'restart';
    }
    if (serverSettingNames.some(affects)) {
        return 'reconfigure';
    }
    return 'none';
}

/**
 * The extension's identifiers, read from package.json (the one place they are defined):
 * the `serverInfo` block and the contributed configuration.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The `serverInfo` block of package.json. */
export interface ServerInfo {
    /** Display name, used for the output channel and the status bar. */
    name: string;
    /** Python module started with `python -m <module>`. */
    module: string;
    /** PyPI distribution that provides the module. */
    distribution: string;
    /** Configuration section of all settings (`codefusion`). */
    configSection: string;
    /** Method of the server's status notification. */
    statusNotification: string;
    serverCommands: { generate: string; insert: string };
    clientCommands: {
        generateFromComment: string;
        showCandidates: string;
        restartServer: string;
        showLog: string;
    };
    /** Settings used by the client only; every other setting is a server option. */
    clientSettings: string[];
    /** The option that tells the server whether the workspace is trusted (codefusion.settings.TRUST_KEY). */
    trustOption: string;
}

/** A contributed setting of package.json. */
export interface SettingSchema {
    type: string | string[];
    default: unknown;
}

export interface ExtensionManifest {
    serverInfo: ServerInfo;
    capabilities?: {
        untrustedWorkspaces?: { supported: boolean | 'limited'; description?: string; restrictedConfigurations?: string[] };
    };
    contributes: {
        commands: { command: string; title: string; category?: string }[];
        configuration: { properties: Record<string, SettingSchema> };
    };
}

/** Root of the extension (the directory holding package.json). */
export const EXTENSION_ROOT = path.resolve(__dirname, '..', '..');

/** Reads package.json of the extension at `root`. */
export function loadManifest(root: string = EXTENSION_ROOT): ExtensionManifest {
    return JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as ExtensionManifest;
}

/**
 * Short names of the settings that VS Code restricts in an untrusted workspace (package.json's
 * `capabilities.untrustedWorkspaces.restrictedConfigurations`): there only their user-level value counts.
 */
export function restrictedSettings(manifest: ExtensionManifest): string[] {
    const prefix = `${manifest.serverInfo.configSection}.`;
    return (manifest.capabilities?.untrustedWorkspaces?.restrictedConfigurations ?? [])
        .filter((key) => key.startsWith(prefix))
        .map((key) => key.slice(prefix.length));
}

/**
 * Short names (without the section prefix) of the settings that are sent to the server,
 * with their defaults.
 */
export function serverSettingDefaults(manifest: ExtensionManifest): Record<string, unknown> {
    const { configSection, clientSettings } = manifest.serverInfo;
    const prefix = `${configSection}.`;
    const defaults: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(manifest.contributes.configuration.properties)) {
        if (!key.startsWith(prefix)) {
            continue;
        }
        const name = key.slice(prefix.length);
        if (!clientSettings.includes(name)) {
            defaults[name] = schema.default;
        }
    }
    return defaults;
}

/** The active environment of the Python extension (ms-python.python), when it is installed. */
import * as vscode from 'vscode';

const PYTHON_EXTENSION_ID = 'ms-python.python';

/** The part of the Python extension's API used here. */
interface PythonEnvironmentsApi {
    environments: {
        getActiveEnvironmentPath(resource?: vscode.Uri): { path: string };
        resolveEnvironment(env: { path: string } | string): Promise<
            { executable: { uri?: vscode.Uri } } | undefined
        >;
        onDidChangeActiveEnvironmentPath: vscode.Event<unknown>;
    };
}

async function api(): Promise<PythonEnvironmentsApi | undefined> {
    const extension = vscode.extensions.getExtension<PythonEnvironmentsApi>(PYTHON_EXTENSION_ID);
    if (!extension) {
        return undefined;
    }
    const exports = extension.isActive ? extension.exports : await extension.activate();
    return exports?.environments ? exports : undefined;
}

/** Path of the active environment's interpreter, or undefined without the Python extension. */
export async function activeInterpreter(resource?: vscode.Uri): Promise<string | undefined> {
    const python = await api();
    if (!python) {
        return undefined;
    }
    const active = python.environments.getActiveEnvironmentPath(resource);
    const resolved = await python.environments.resolveEnvironment(active);
    return resolved?.executable.uri?.fsPath;
}

/** Calls `listener` when the user selects another environment (no-op without the extension). */
export async function onDidChangeInterpreter(listener: () => void): Promise<vscode.Disposable> {
    try {
        const python = await api();
        if (python) {
            return python.environments.onDidChangeActiveEnvironmentPath(() => listener());
        }
    } catch {
        // the Python extension is optional
    }
    return new vscode.Disposable(() => undefined);
}

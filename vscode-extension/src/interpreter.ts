/**
 * Which Python runs the server, and whether it has the CodeFusion package.
 * No VS Code import: the Python extension's lookup is passed in as a function.
 */
import { execFile } from 'node:child_process';

/** Where the interpreter came from. */
export type InterpreterSource = 'setting' | 'python-extension' | 'default';

export interface Interpreter {
    command: string;
    source: InterpreterSource;
}

/** The interpreter used when neither the setting nor the Python extension gives one. */
export const DEFAULT_INTERPRETER = 'python3';

/**
 * The interpreter: the `codefusion.interpreter` setting, else the Python extension's active
 * environment (when `pythonExtension` finds one), else `python3`.
 */
export async function resolveInterpreter(
    configured: string,
    pythonExtension: () => Promise<string | undefined>,
): Promise<Interpreter> {
    if (configured.trim() !== '') {
        return { command: configured.trim(), source: 'setting' };
    }
    let fromExtension: string | undefined;
    try {
        fromExtension = await pythonExtension();
    } catch {
        fromExtension = undefined; // the Python extension is optional; any failure means "none"
    }
    if (fromExtension) {
        return { command: fromExtension, source: 'python-extension' };
    }
    return { command: DEFAULT_INTERPRETER, source: 'default' };
}

/** What the probe found in an interpreter. */
export interface ProbeResult {
    /** The interpreter could not be run at all (e.g. not found); the reason. */
    launchError?: string;
    python?: string;
    executable?: string;
    /** `<module>` is importable. */
    hasModule?: boolean;
    /** `<module>` has a `__main__` (our package has; an unrelated `lsp` may not). */
    hasMain?: boolean;
    /** Installed version of the distribution, or null. */
    distribution?: string | null;
}

/** Python source that prints a ProbeResult as JSON for `module` and `distribution`. */
export function probeScript(module: string, distribution: string): string {
    return [
        'import importlib.util, importlib.metadata, json, sys',
        'out = {"python": sys.version.split()[0], "executable": sys.executable}',
        'try:',
        `    spec = importlib.util.find_spec(${JSON.stringify(module)})`,
        'except Exception:',
        '    spec = None',
        'out["hasModule"] = spec is not None',
        'try:',
        `    out["hasMain"] = spec is not None and importlib.util.find_spec(${JSON.stringify(module + '.__main__')}) is not None`,
        'except Exception:',
        '    out["hasMain"] = False',
        'try:',
        `    out["distribution"] = importlib.metadata.version(${JSON.stringify(distribution)})`,
        'except Exception:',
        '    out["distribution"] = None',
        'print(json.dumps(out))',
    ].join('\n');
}

/** Runs the probe in `command` (from `cwd`, like the server); never throws. */
export function probeInterpreter(
    command: string,
    module: string,
    distribution: string,
    cwd?: string,
    timeoutMs = 20000,
): Promise<ProbeResult> {
    return new Promise((resolve) => {
        execFile(
            command,
            ['-c', probeScript(module, distribution)],
            { cwd, timeout: timeoutMs, windowsHide: true },
            (error, stdout, stderr) => {
                if (error) {
                    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT'
                        ? 'not found'
                        : (stderr.trim().split('\n').pop() ?? error.message);
                    resolve({ launchError: reason || error.message });
                    return;
                }
                try {
                    resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as ProbeResult);
                } catch {
                    resolve({ launchError: `unexpected output: ${stdout.trim().slice(0, 200)}` });
                }
            },
        );
    });
}

/** The shell command that installs the package into `command`. */
export function installCommand(command: string): string {
    const quoted = /[\s"']/.test(command) ? `"${command}"` : command;
    return `${quoted} -m pip install -e /path/to/codefusion`;
}

/**
 * The message for the user when the server cannot run with this interpreter, or undefined
 * when the probe found the package.
 */
export function problemMessage(
    interpreter: Interpreter,
    probe: ProbeResult,
    module: string,
    distribution: string,
): string | undefined {
    const where = interpreter.source === 'setting'
        ? 'the codefusion.interpreter setting'
        : interpreter.source === 'python-extension'
            ? "the Python extension's active environment"
            : 'the default interpreter';
    if (probe.launchError !== undefined) {
        return `CodeFusion cannot run the Python interpreter "${interpreter.command}" (${where}): ` +
            `${probe.launchError}. Set codefusion.interpreter to a Python 3.10+ that has the ` +
            `"${distribution}" package.`;
    }
    if (probe.hasModule && probe.hasMain) {
        return undefined;
    }
    const found = probe.hasModule
        ? `has a module "${module}" that is not CodeFusion's (an unrelated package of the same name?)`
        : `does not have the "${distribution}" package (module "${module}")`;
    return `CodeFusion: the Python interpreter ${probe.executable ?? interpreter.command} (${where}) ${found}. ` +
        `Install it with: ${installCommand(probe.executable ?? interpreter.command)} ` +
        '(the path of your CodeFusion checkout; or run the setup command from its README, which ' +
        'creates a dedicated virtual environment), or set codefusion.interpreter to a Python that has it.';
}

/**
 * The result of the server's `codefusion.generate` command and how the picker shows it.
 * No VS Code import (the picker items are plain objects that fit vscode.QuickPickItem).
 */

/** A position in a document (LSP, 0-based). */
export interface Position {
    line: number;
    character: number;
}

/** One candidate of `codefusion.generate` (docs/contracts.md). */
export interface Candidate {
    code: string;
    label: string;
    score: number;
    valid: boolean;
    errors: string[];
    warnings: string[];
    source: 'model' | 'retrieval';
    /** A model candidate that equals a retrieved training example (absent from older servers). */
    also_retrieved?: boolean;
    /**
     * What the candidate is (absent from older servers): the model's own program (`generated`), an
     * exemplar it changed (`edited`), an exemplar given back unchanged (`copy`), or a retrieved example.
     */
    origin?: 'generated' | 'edited' | 'copy' | 'retrieved';
    /** The exemplar of an edited, copied or retrieved candidate; null for a generated one. */
    exemplar?: Exemplar | null;
    /** The label in the server's words, e.g. "copy of an exemplar for “list files” (shipped bank, page ls)". */
    what?: string;
}

/** Where an edited, copied or retrieved candidate came from (docs/contracts.md). */
export interface Exemplar {
    code: string;
    nl: string | null;
    /** Its bank provenance, e.g. {"bank": "shipped", "page": "tar"}; null when unknown. */
    source: Record<string, string | number> | string | null;
    similarity: number;
}

/** The answer of `codefusion.generate`. */
export interface GenerateResult {
    comment?: string;
    lang?: string;
    message?: string | null;
    candidates: Candidate[];
    insertAt?: Position;
    indent?: string;
}

/** A QuickPick entry for one candidate. */
export interface CandidateItem {
    label: string;
    description: string;
    detail: string;
    candidate: Candidate;
}

/** Checks the shape of a `codefusion.generate` answer; throws a clear error otherwise. */
export function parseGenerateResult(value: unknown): GenerateResult {
    if (typeof value !== 'object' || value === null || !Array.isArray((value as GenerateResult).candidates)) {
        throw new Error(`unexpected answer from the CodeFusion server: ${JSON.stringify(value)}`);
    }
    const result = value as GenerateResult;
    for (const c of result.candidates) {
        if (typeof c !== 'object' || c === null || typeof c.code !== 'string') {
            throw new Error(`unexpected candidate from the CodeFusion server: ${JSON.stringify(c)}`);
        }
    }
    return result;
}

/** The first non-blank line of a snippet (trimmed), or '(empty)'. */
export function firstLine(code: string): string {
    const line = code.split(/\r?\n/).find((l) => l.trim() !== '');
    return line === undefined ? '(empty)' : line.trim();
}

/** Number of lines of a snippet (ignoring one trailing newline). */
export function lineCount(code: string): number {
    return code.replace(/\r?\n$/, '').split(/\r?\n/).length;
}

/** The label of a candidate in words: the server's `what`, or for older servers what `source` says. */
export function what(candidate: Candidate): string | undefined {
    if (candidate.what) {
        return candidate.what;
    }
    if (candidate.source === 'retrieval') {
        return 'retrieved example';
    }
    return candidate.also_retrieved ? 'also a training example' : undefined;
}

/** The picker entry of a candidate: first line; score, validity, lines, its label; warnings and errors. */
export function toItem(candidate: Candidate, index: number): CandidateItem {
    const icon = !candidate.valid ? '$(error)' : candidate.warnings.length > 0 ? '$(warning)' : '$(pass)';
    const lines = lineCount(candidate.code);
    const description = [
        `#${index + 1}`,
        `score ${Number.isFinite(candidate.score) ? candidate.score.toFixed(2) : String(candidate.score)}`,
        candidate.valid ? 'valid' : 'syntax error',
        lines > 1 ? `${lines} lines` : '1 line',
        ...(what(candidate) !== undefined ? [what(candidate)] : []),
    ].join(' · ');
    const detail = [
        ...candidate.warnings.map((w) => `⚠ danger: ${w}`),
        ...candidate.errors.map((e) => `✗ ${e}`),
    ];
    return {
        label: `${icon} ${firstLine(candidate.code)}`,
        description,
        detail: detail.length > 0 ? detail.join('   ') : candidate.valid ? 'syntax checked' : '',
        candidate,
    };
}

/** Picker entries for every candidate, in the server's order (best first). */
export function toItems(result: GenerateResult): CandidateItem[] {
    return result.candidates.map(toItem);
}

/**
 * Text of the preview document for candidate `index`: a header (which candidate, score,
 * validity, the comment, warnings and errors, as `#` comments like all three languages use),
 * then the full snippet.
 */
export function previewText(result: GenerateResult, index: number): string {
    const candidate = result.candidates[index];
    const header = [
        `# CodeFusion candidate ${index + 1} of ${result.candidates.length}: ${toItem(candidate, index).description}`,
        ...(result.comment ? [`# for: ${result.comment}`] : []),
        ...candidate.warnings.map((w) => `# WARNING (danger): ${w}`),
        ...candidate.errors.map((e) => `# syntax error: ${e}`),
        '#',
    ];
    return [...header, candidate.code.replace(/\s+$/, ''), ''].join('\n');
}

/** VS Code language id for the preview of a result's language. */
export function previewLanguage(lang: string | undefined): string {
    switch (lang) {
        case 'bash':
            return 'shellscript';
        case 'python':
            return 'python';
        case 'cf':
            return 'cfrule';
        default:
            return 'plaintext';
    }
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
    Candidate,
    firstLine,
    lineCount,
    parseGenerateResult,
    previewLanguage,
    previewText,
    toItem,
    toItems,
} from '../src/candidates';

function candidate(over: Partial<Candidate>): Candidate {
    return { code: 'ls -la', label: 'ls -la', score: -0.5, valid: true, errors: [], warnings: [], source: 'model', ...over };
}

test('first line skips blank lines; line count ignores one trailing newline', () => {
    assert.equal(firstLine('\n  \n  for f in *; do\n    echo $f\ndone\n'), 'for f in *; do');
    assert.equal(firstLine(''), '(empty)');
    assert.equal(lineCount('a\nb\n'), 2);
    assert.equal(lineCount('a'), 1);
});

test('a valid candidate: pass icon, score, validity', () => {
    const item = toItem(candidate({ score: -0.4567 }), 0);
    assert.equal(item.label, '$(pass) ls -la');
    assert.equal(item.description, '#1 · score -0.46 · valid · 1 line');
    assert.equal(item.detail, 'syntax checked');
});

test('a dangerous candidate shows its warning; an invalid one its errors', () => {
    const danger = toItem(candidate({ code: 'rm -rf /', warnings: ['deletes / recursively'] }), 1);
    assert.equal(danger.label, '$(warning) rm -rf /');
    assert.match(danger.detail, /⚠ danger: deletes \/ recursively/);
    const invalid = toItem(
        candidate({ code: 'if x:\n  pass\nelse', valid: false, errors: ['3:5 expected ":"'], source: 'retrieval' }),
        2,
    );
    assert.equal(invalid.label, '$(error) if x:');
    assert.equal(invalid.description, '#3 · score -0.50 · syntax error · 3 lines · retrieved example');
    assert.equal(invalid.detail, '✗ 3:5 expected ":"');
});

test('a model candidate that equals a training example says so, and stays the model\'s', () => {
    const item = toItem(candidate({ code: 'ls -la', score: 1, also_retrieved: true }), 0);
    assert.equal(item.description, '#1 · score 1.00 · valid · 1 line · also a training example');
});

test('the label says what each candidate is, in the server\'s words', () => {
    const copy = toItem(
        candidate({
            code: 'tar -czf a.tgz dir',
            origin: 'copy',
            what: 'copy of an exemplar for “compress dir” (shipped bank, page tar)',
            exemplar: { code: 'tar -czf a.tgz dir', nl: 'compress dir', source: { bank: 'shipped', page: 'tar' }, similarity: 1 },
        }),
        0,
    );
    assert.equal(copy.description, '#1 · score -0.50 · valid · 1 line · copy of an exemplar for “compress dir” (shipped bank, page tar)');
    const generated = toItem(candidate({ origin: 'generated', what: 'generated', exemplar: null }), 1);
    assert.equal(generated.description, '#2 · score -0.50 · valid · 1 line · generated');
    const old = toItem(candidate({ source: 'retrieval' }), 2); // an older server: no origin, the source says it
    assert.equal(old.description, '#3 · score -0.50 · valid · 1 line · retrieved example');
});

test('items keep the server order and carry the candidate', () => {
    const cs = [candidate({ code: 'a' }), candidate({ code: 'b' })];
    const items = toItems({ candidates: cs });
    assert.deepEqual(items.map((i) => i.candidate), cs);
});

test('the preview holds a header, the warnings and the full snippet', () => {
    const c = candidate({ code: 'for f in *.log; do\n  gzip "$f"\ndone\n', warnings: ['overwrites files'] });
    const text = previewText({ comment: 'compress all logs', lang: 'bash', candidates: [candidate({}), c] }, 1);
    assert.equal(
        text,
        '# CodeFusion candidate 2 of 2: #2 · score -0.50 · valid · 3 lines\n' +
            '# for: compress all logs\n# WARNING (danger): overwrites files\n#\n' +
            'for f in *.log; do\n  gzip "$f"\ndone\n',
    );
    assert.equal(previewLanguage('bash'), 'shellscript');
    assert.equal(previewLanguage('cf'), 'cfrule');
    assert.equal(previewLanguage(undefined), 'plaintext');
});

test('malformed answers raise clear errors', () => {
    assert.throws(() => parseGenerateResult(null), /unexpected answer/);
    assert.throws(() => parseGenerateResult({ candidates: 'x' }), /unexpected answer/);
    assert.throws(() => parseGenerateResult({ candidates: [{ score: 1 }] }), /unexpected candidate/);
    assert.deepEqual(parseGenerateResult({ candidates: [], message: 'no comment here' }).message, 'no comment here');
});

// ESLint flat config: typescript-eslint's recommended type-checked rules for src/ and test/,
// plain recommended rules for the end-to-end driver (JavaScript).
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
    { ignores: ['out/**', 'node_modules/**', 'e2e/node_modules/**', '*.vsix'] },
    eslint.configs.recommended,
    {
        files: ['**/*.ts'],
        extends: [...tseslint.configs.recommendedTypeChecked],
        languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
        rules: {
            '@typescript-eslint/no-floating-promises': 'error',
            '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
            eqeqeq: 'error',
            curly: 'error',
        },
    },
    {
        // node:test's top-level test() calls return promises the runner awaits
        files: ['test/**/*.ts'],
        rules: { '@typescript-eslint/no-floating-promises': 'off' },
    },
    {
        files: ['**/*.mjs'],
        languageOptions: { globals: { ...globals.node } },
    },
);

import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  {
    files: ['scripts/**/*.js', '*.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    // CommonJS configuration (dependency-cruiser reads .dependency-cruiser.cjs).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    // Plain log lines go through src/common/log.ts, which keeps any of them from acting as a workflow
    // command; @actions/core's commands (masks, groups, annotations) escape their own data.
    files: ['src/**/*.ts'],
    ignores: ['src/common/log.ts'],
    rules: {
      'no-console': 'error',
      'no-restricted-properties': [
        'error',
        { object: 'core', property: 'info', message: 'Write plain lines with log.info (src/common/log.ts).' },
        {
          object: 'stdout',
          property: 'write',
          message: 'Write plain lines with log.info (src/common/log.ts).',
        },
        {
          object: 'stderr',
          property: 'write',
          message: 'Write plain lines with log.info (src/common/log.ts).',
        },
      ],
    },
  },
);

// Lint for the Node packages (collector, protocol, client, sdk, bench). The plugin lints itself with the
// scaffold's config (plugin/eslint.config.mjs).
import tsParser from '@typescript-eslint/parser';
import tsPlugin from '@typescript-eslint/eslint-plugin';
import prettier from 'eslint-config-prettier';

export default [
  { ignores: ['**/dist/**', '**/node_modules/**', 'plugin/**', '**/*.js', '**/*.mjs'] },
  {
    files: ['collector/**/*.ts', 'protocol/**/*.ts', 'client/**/*.ts', 'sdk/**/*.ts', 'bench/**/*.ts', 'dashboards/**/*.ts'],
    languageOptions: { parser: tsParser, parserOptions: { ecmaVersion: 2022, sourceType: 'module' } },
    plugins: { '@typescript-eslint': tsPlugin },
    rules: {
      ...tsPlugin.configs.recommended.rules,
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      eqeqeq: ['error', 'always'],
      curly: ['error', 'all'],
    },
  },
  prettier,
];

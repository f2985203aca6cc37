/**
 * The environment `llmconv` reads (the CLI is an HTTP client and loads no pipeline config); listed
 * in the README's configuration table beside the processes' keys (scripts/config-table.ts).
 */
export const CLI_ENV_KEYS = [
  {
    key: 'LLMCONV_URL',
    default: 'http://127.0.0.1:8080',
    accepts: 'http(s) URL',
    description: "`llmconv`: the producer's URL when `--url` is not given (every command).",
  },
  {
    key: 'LLMCONV_API_KEY',
    default: '(unset)',
    accepts: 'string',
    description: '`llmconv`: the API key when `--api-key` / `--api-key-file` is not given.',
  },
] as const;

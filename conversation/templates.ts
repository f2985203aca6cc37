/**
 * Prompt templates: `{{name}}` placeholders filled from the turn's texts. Defaults after the
 * original course assignment's wording; a conversation may override them.
 */
export const DEFAULT_TEMPLATES = {
  /** Local model: turns the cloud answer into a follow-up. Must contain {{answer}}. */
  followUp: 'How can you respond to the statement: {{answer}}',
  /** Cloud model: the next question, from the follow-up. Must contain {{followUp}}. */
  nextQuery: 'Do you have any comments on: {{followUp}}',
} as const;

/** Fills `{{name}}` placeholders; unknown names stay as written. */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (m, name: string) => (name in values ? values[name]! : m));
}

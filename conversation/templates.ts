/**
 * Prompt templates: `{{name}}` placeholders filled from the turn's texts. Defaults after the
 * original course assignment's wording; a conversation may override them.
 *
 * What a template may hold is checked at submission ({@link templateProblem}): only the names its
 * side fills ({@link TEMPLATE_PLACEHOLDERS}), each at most {@link MAX_PLACEHOLDER_USES} times (a
 * 4,000-character template could otherwise repeat a whole answer hundreds of times per turn).
 * Rendering reads own properties only, so `{{constructor}}` or `{{__proto__}}` never reach a
 * prompt as `function Object() …`.
 */
export const DEFAULT_TEMPLATES = {
  /** Local model: turns the cloud answer into a follow-up. Must contain {{answer}}. */
  followUp: 'How can you respond to the statement: {{answer}}',
  /** Cloud model: the next question, from the follow-up. Must contain {{followUp}}. */
  nextQuery: 'Do you have any comments on: {{followUp}}',
} as const;

export type TemplateName = keyof typeof DEFAULT_TEMPLATES;

/** The placeholders each template is filled with (conversation/turn-rules.ts). */
export const TEMPLATE_PLACEHOLDERS: Record<TemplateName, readonly string[]> = {
  followUp: ['answer', 'question', 'persona', 'goal'],
  nextQuery: ['followUp', 'answer', 'question'],
};

/** How often one placeholder may appear in one template. */
export const MAX_PLACEHOLDER_USES = 3;

const PLACEHOLDER = /\{\{\s*(\w+)\s*\}\}/g;

/** The placeholder names of `template`, in order, repeats included. */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

/** `template` with its placeholders removed: the part of the prompt it always adds. */
export function literalPartOf(template: string): string {
  return template.replace(PLACEHOLDER, '');
}

/** Why `template` cannot be used as template `name`, or undefined when it can. */
export function templateProblem(name: TemplateName, template: string): string | undefined {
  const allowed = TEMPLATE_PLACEHOLDERS[name];
  const counts = new Map<string, number>();
  for (const p of placeholdersOf(template)) counts.set(p, (counts.get(p) ?? 0) + 1);
  const unknown = [...counts.keys()].filter((p) => !allowed.includes(p));
  if (unknown.length) {
    return `unknown placeholder(s) ${unknown.map((p) => `{{${p}}}`).join(', ')}: ${name} may use ${allowed.map((p) => `{{${p}}}`).join(', ')}`;
  }
  const over = [...counts].filter(([, n]) => n > MAX_PLACEHOLDER_USES);
  if (over.length) {
    return `${over.map(([p, n]) => `{{${p}}} appears ${n} times`).join(', ')}: each placeholder at most ${MAX_PLACEHOLDER_USES} times`;
  }
  return undefined;
}

/** Fills `{{name}}` placeholders from `values`' own properties; other names stay as written. */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(PLACEHOLDER, (m, name: string) => (Object.hasOwn(values, name) ? values[name]! : m));
}

/** A text progress bar: `[██████░░░░░░] 2/5 turns` (or another `unit`). */
export function renderProgressBar(done: number, total: number, width = 24, unit = 'turns'): string {
  const ratio = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const filled = Math.round(ratio * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${done}/${total} ${unit}`;
}

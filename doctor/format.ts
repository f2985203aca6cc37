/** The doctor's report as text (one line per check, the fix indented under a warning or failure) or JSON. */
import type { CheckResult } from './check-result';
import type { DoctorReport } from './run-doctor';

const MARK: Record<CheckResult['status'], string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL', skip: 'skip' };

export function formatText(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.check.length), 10);
  const lines = report.checks.flatMap((c) => [
    `${MARK[c.status]}  ${c.check.padEnd(width)}  ${c.found}`,
    ...(c.fix ? [`${' '.repeat(6 + width + 2)}→ ${c.fix}${c.setting ? ` [${c.setting}]` : ''}`] : []),
  ]);
  const counts = (s: CheckResult['status']) => report.checks.filter((c) => c.status === s).length;
  lines.push(
    '',
    `${report.ok ? 'ok' : 'FAILED'}: ${counts('ok')} ok, ${counts('warn')} warning(s), ${counts('fail')} failure(s), ${counts('skip')} skipped`,
  );
  return `${lines.join('\n')}\n`;
}

/** `--json`: `{ ok, checks: [{ check, status, found, fix?, setting? }] }`. */
export function formatJson(report: DoctorReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

import { code } from './compare';
import { CLASSIFICATIONS } from './types';
import type { Classification, ContractChange, ContractDiff } from './types';

/** Section titles of the Markdown report, in {@link CLASSIFICATIONS} order. */
const HEADINGS: Record<Classification, string> = {
  breaking: 'Breaking',
  'potentially-breaking': 'Potentially breaking',
  unclassified: 'Unclassified (the classifier does not know this keyword: review by hand)',
  deprecated: 'Deprecated',
  'non-breaking': 'Non-breaking',
  annotation: 'Annotation (documentation only)',
};

/** Whether a diff fails: any breaking change, or with `strict` also potentially breaking and unclassified ones. */
export function fails(diff: ContractDiff, strict = false): boolean {
  const s = diff.summary;
  return s.breaking > 0 || (strict && (s['potentially-breaking'] > 0 || s.unclassified > 0));
}

/** One line of the summary: `2 breaking, 0 potentially breaking, ...`. */
export function summaryLine(diff: ContractDiff): string {
  return CLASSIFICATIONS.map(
    (k) => `${diff.summary[k]} ${k === 'potentially-breaking' ? 'potentially breaking' : k}`,
  ).join(', ');
}

function line(change: ContractChange): string {
  const op = change.operation;
  const where = op ? `**${op.operationId}** ${code(`${op.method} ${op.path}`)}` : '**document**';
  return `- ${where}: ${change.description} (${code(change.pointer || '/')})`;
}

/**
 * The diff for people: a heading per classification with one line per change (operation, what changed
 * with its values before → after, and the JSON Pointer of the changed value).
 */
export function diffMarkdown(diff: ContractDiff, strict = false): string {
  const out = [`# Contract diff: ${code(diff.old)} → ${code(diff.new)}`, ''];
  const verdict =
    diff.changes.length === 0
      ? 'No changes.'
      : fails(diff, strict)
        ? `**Breaking for consumers** (${summaryLine(diff)}).`
        : `No breaking change (${summaryLine(diff)}).`;
  out.push(verdict);
  for (const classification of CLASSIFICATIONS) {
    const changes = diff.changes.filter((c) => c.classification === classification);
    if (changes.length === 0) continue;
    out.push('', `## ${HEADINGS[classification]} (${changes.length})`, '', ...changes.map(line));
  }
  return out.join('\n') + '\n';
}

/**
 * The diff for machines: `{ old, new, breaking, failed, summary, changes }`, two-space indented; `breaking`
 * says whether any change is breaking, `failed` whether the command exits 1 (with `--strict`, also for
 * potentially breaking and unclassified changes).
 */
export function diffJson(diff: ContractDiff, strict = false): string {
  const { old, summary, changes } = diff;
  const report = {
    old,
    new: diff.new,
    breaking: summary.breaking > 0,
    failed: fails(diff, strict),
    summary,
    changes,
  };
  return JSON.stringify(report, null, 2) + '\n';
}

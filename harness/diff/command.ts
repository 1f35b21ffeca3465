import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { diffContracts } from './compare';
import { diffJson, diffMarkdown, fails } from './report';
import { DiffInputError, loadContractSource } from './source';

/** The options of `procode-contract diff`. */
export interface DiffCommandOptions {
  /** What goes to stdout. */
  format: 'markdown' | 'json';
  /** Also write the JSON report to this file. */
  json?: string;
  /** Also write the Markdown report to this file. */
  markdown?: string;
  /** Exit 1 on potentially breaking and unclassified changes too. */
  strict: boolean;
}

/** Where the command reads relative paths and git from, and where it writes. */
export interface DiffIo {
  cwd: string;
  /** Resolves once the text is handed to the OS. */
  stdout: (text: string) => void | Promise<void>;
  stderr: (text: string) => void | Promise<void>;
}

/** Writes to a stream and waits until it is flushed: the bin calls process.exit, which drops what a full pipe still holds. */
function flushed(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => void stream.write(text, (err) => (err ? reject(err) : resolve())));
}

/** The current folder and the process's own streams. */
function processIo(): DiffIo {
  return {
    cwd: process.cwd(),
    stdout: (t) => flushed(process.stdout, t),
    stderr: (t) => flushed(process.stderr, t),
  };
}

/**
 * Runs `procode-contract diff <old> <new>`: loads both contracts (files or git revisions, see
 * {@link loadContractSource}), prints the classified changes and writes the requested reports.
 * @returns the exit code: 0 no breaking change, 1 a breaking change (or, with `strict`, a potentially
 * breaking or unclassified one), 2 an input that cannot be read or a report that cannot be written (one
 * line on stderr).
 */
export async function runDiff(
  oldSpec: string,
  newSpec: string,
  options: DiffCommandOptions,
  io: DiffIo = processIo(),
): Promise<number> {
  try {
    const before = await loadContractSource(oldSpec, io.cwd);
    const after = await loadContractSource(newSpec, io.cwd);
    const diff = await diffContracts(before.document, after.document, {
      old: before.label,
      new: after.label,
    });
    const markdown = diffMarkdown(diff, options.strict);
    const json = diffJson(diff, options.strict);
    await io.stdout(options.format === 'json' ? json : markdown);
    for (const [file, text] of [
      [options.json, json],
      [options.markdown, markdown],
    ] as const) {
      if (!file) continue;
      const target = resolve(io.cwd, file);
      try {
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, text);
      } catch (err) {
        throw new DiffInputError(`cannot write ${file}: ${(err as Error).message}`);
      }
    }
    return fails(diff, options.strict) ? 1 : 0;
  } catch (err) {
    if (err instanceof DiffInputError) {
      await io.stderr(`procode-contract diff: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

/**
 * Declares `diff <old> <new>` on the `procode-contract` program; `onRun` receives its arguments when it
 * is the command given (the caller runs it, so that `main` returns the exit code).
 */
export function addDiffCommand(
  program: Command,
  onRun: (oldSpec: string, newSpec: string, options: DiffCommandOptions) => void,
): Command {
  return program
    .command('diff')
    .description(
      'List the changes between two contracts that break consumers, apart from safe ones (exit 1 on a breaking change).',
    )
    .argument(
      '<old>',
      'the old contract: a file, a git revision (its contracts/procode.openapi.yaml) or REV:PATH',
    )
    .argument('<new>', 'the new contract, likewise')
    .addOption(
      new Option('--format <format>', 'what to print').choices(['markdown', 'json']).default('markdown'),
    )
    .option('--json <file>', 'also write the JSON report here')
    .option('--markdown <file>', 'also write the Markdown report here')
    .option('--strict', 'exit 1 on potentially breaking and unclassified changes too', false)
    .addHelpText(
      'after',
      `
An existing file is that file; otherwise REV:PATH is PATH at git revision REV; otherwise a revision
(main, origin/main, HEAD~1, a tag) stands for contracts/procode.openapi.yaml at that revision. Files the
contract references ($ref) are read from the same revision.

Exit code: 0 no breaking change; 1 a breaking change; 2 an argument that names nothing readable.`,
    )
    .action((oldSpec: string, newSpec: string, options: DiffCommandOptions) =>
      onRun(oldSpec, newSpec, options),
    );
}

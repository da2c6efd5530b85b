/**
 * Runs a Dockerfile's build steps without Docker (no engine in CI): each stage gets an empty
 * directory as its filesystem root, `COPY` copies from the build context as Docker sends it
 * (the committed files, `git ls-files`, minus .dockerignore: untracked and ignored files are
 * absent, as on a fresh clone), `COPY --from` and `FROM <stage>` take another stage's files, and
 * `RUN` runs in the stage's WORKDIR. What cannot run here is skipped and reported: system package
 * installs (apt-get), changes outside the stage root (chown, absolute mkdir) and `npm cache clean`
 * (it would empty the machine's shared cache). npm runs offline from the local cache.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';

export interface StageResult {
  name: string;
  /** The stage's filesystem root (a directory under the run's temp dir). */
  root: string;
  workdir: string;
  env: Record<string, string>;
}

export interface DockerfileRun {
  stages: StageResult[];
  /** Each step, as run or skipped, for the test's output. */
  log: string[];
}

/** Dockerfile instructions with continuation lines joined and comments dropped. */
export function instructions(text: string): { op: string; args: string }[] {
  const out: { op: string; args: string }[] = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (cur === '' && (line === '' || line.startsWith('#'))) {
      continue;
    }
    if (line.endsWith('\\')) {
      cur += `${line.slice(0, -1)} `;
      continue;
    }
    cur += line;
    const m = /^(\w+)\s+([\s\S]*)$/.exec(cur);
    if (m) {
      out.push({ op: m[1].toUpperCase(), args: m[2].trim() });
    }
    cur = '';
  }
  return out;
}

/** Docker's .dockerignore matching (moby/patternmatcher): last matching pattern wins, `!` re-includes, a match on a parent directory covers its files. */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, ''));
      const re = pattern
        .split('/')
        .map((seg) =>
          seg === '**'
            ? '(?:.*)'
            : seg
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/')
        .replace(/\(\?:\.\*\)\//g, '(?:.*/)?');
      return { negate, re: new RegExp(`^${re}(?:/.*)?$`) };
    });
  return (path) => {
    let excluded = false;
    for (const r of rules) {
      if (r.re.test(path)) {
        excluded = !r.negate;
      }
    }
    return excluded;
  };
}

/** The build context Docker would send: committed files minus .dockerignore. */
export function buildContext(repo: string, contextRel: string): string[] {
  const prefix = contextRel === '.' || contextRel === '' ? '' : `${contextRel.replace(/\/$/, '')}/`;
  const files = execFileSync('git', ['ls-files', '-z', '--', prefix || '.'], { cwd: repo, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean)
    .map((f) => f.slice(prefix.length));
  const ignoreFile = join(repo, prefix, '.dockerignore');
  const ignored = existsSync(ignoreFile) ? dockerignore(readFileSync(ignoreFile, 'utf8')) : () => false;
  // A file deleted in the working tree but still in the index is not in the context either.
  return files.filter((f) => !ignored(f) && existsSync(join(repo, prefix, f)));
}

/**
 * Copies a tree as hard links (`cp -al`): stages share unchanged files as image layers do, and a
 * node_modules of hundreds of MB costs no copying. Steps replace files (npm ci, builds) rather than
 * edit them in place, so the stages stay independent.
 */
function linkTree(src: string, dest: string): void {
  mkdirSync(dirname(dest), { recursive: true });
  execFileSync('cp', ['-al', src, dest]);
}

const sub = (s: string, vars: Record<string, string>) => s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => vars[a ?? b] ?? '');

/** Sub-commands of a RUN that cannot or must not run on this machine. */
function skipReason(cmd: string): string | undefined {
  if (/^(apt-get|rm -rf \/var\/lib\/apt)/.test(cmd)) {
    return 'system packages';
  }
  if (/^npm cache clean/.test(cmd)) {
    return 'would empty the shared npm cache';
  }
  if (/^(chown|chmod)\b/.test(cmd) || /^mkdir -p \//.test(cmd)) {
    return 'outside the stage root';
  }
  return undefined;
}

export interface RunOptions {
  repo: string;
  /** The build context, relative to the repo (compose's `build.context`). */
  context: string;
  dockerfile: string;
  /** Where the stages' roots are made (a fresh temp dir). */
  out: string;
  /** Extra arguments for `npm ci` / `npm install` (offline, from the local cache). */
  npmArgs: string[];
  timeoutMs: number;
}

export function runDockerfile(o: RunOptions): DockerfileRun {
  const ctxFiles = buildContext(o.repo, o.context);
  const ctxRoot = join(o.repo, o.context);
  const log: string[] = [];
  const args: Record<string, string> = {};
  const stages: StageResult[] = [];
  let stage: StageResult | undefined;
  const inStage = (s: StageResult, p: string) => join(s.root, posix.isAbsolute(p) ? p : posix.join(s.workdir, p));

  for (const { op, args: raw } of instructions(readFileSync(join(ctxRoot, o.dockerfile), 'utf8'))) {
    const a = sub(raw, { ...args, ...(stage?.env ?? {}) });
    if (op === 'ARG') {
      const [k, v] = a.split('=');
      args[k] = args[k] ?? v ?? '';
    } else if (op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(a)!;
      const base = stages.find((s) => s.name === m[1]);
      const name = m[2] ?? `stage${stages.length}`;
      const root = join(o.out, name);
      if (base) {
        linkTree(base.root, root);
      } else {
        mkdirSync(root, { recursive: true });
      }
      stage = { name, root, workdir: base?.workdir ?? '/', env: { ...(base?.env ?? {}) } };
      stages.push(stage);
      log.push(`FROM ${m[1]}${base ? ' (stage)' : ' (image: starts empty here)'} AS ${name}`);
    } else if (!stage) {
      continue;
    } else if (op === 'WORKDIR') {
      stage.workdir = posix.resolve(stage.workdir, a);
      mkdirSync(join(stage.root, stage.workdir), { recursive: true });
    } else if (op === 'ENV') {
      for (const m of a.matchAll(/(\w+)=(\S+)/g)) {
        stage.env[m[1]] = m[2];
      }
    } else if (op === 'COPY') {
      const parts = a.split(/\s+/);
      const from = parts.find((p) => p.startsWith('--from='))?.slice('--from='.length);
      const [dest, ...srcs] = parts.filter((p) => !p.startsWith('--')).reverse();
      for (const src of srcs.reverse()) {
        copyInto(stage, inStage(stage, dest), dest.endsWith('/') || srcs.length > 1, src, from, stages, ctxRoot, ctxFiles);
      }
      log.push(`COPY ${a}`);
    } else if (op === 'RUN') {
      for (const cmd of a.split(/\s*&&\s*/)) {
        const why = skipReason(cmd);
        if (why) {
          log.push(`RUN ${cmd}  [skipped: ${why}]`);
          continue;
        }
        const line = /^npm (ci|install)\b/.test(cmd) ? `${cmd} ${o.npmArgs.join(' ')}` : cmd;
        const started = Date.now();
        const r = spawnSync('sh', ['-c', line], {
          cwd: join(stage.root, stage.workdir),
          env: { ...process.env, ...stage.env, CI: 'true' },
          encoding: 'utf8',
          timeout: o.timeoutMs,
        });
        log.push(`RUN ${line}  [${Date.now() - started} ms]`);
        if (r.status !== 0) {
          throw new Error(
            `${o.dockerfile} stage ${stage.name}: \`${line}\` failed (${r.status ?? r.signal}):\n${r.stdout?.slice(-3000)}\n${r.stderr?.slice(-3000)}`,
          );
        }
      }
    }
  }
  return { stages, log };
}

function copyInto(
  stage: StageResult,
  destPath: string,
  destIsDir: boolean,
  src: string,
  from: string | undefined,
  stages: StageResult[],
  ctxRoot: string,
  ctxFiles: string[],
): void {
  if (from) {
    const other = stages.find((s) => s.name === from);
    if (!other) {
      throw new Error(`COPY --from=${from}: no such stage (external images are not available here)`);
    }
    const srcPath = join(other.root, posix.isAbsolute(src) ? src : posix.join(other.workdir, src));
    if (!existsSync(srcPath)) {
      throw new Error(`COPY --from=${from} ${src}: not found in stage ${from}`);
    }
    const isDir = statSync(srcPath).isDirectory();
    const target = isDir || !destIsDir ? destPath : join(destPath, posix.basename(src));
    if (isDir && existsSync(target)) {
      // COPY of a directory merges its contents into an existing one.
      cpSync(srcPath, target, { recursive: true, verbatimSymlinks: true });
    } else {
      linkTree(srcPath, target);
    }
    return;
  }
  const clean = posix
    .normalize(src)
    .replace(/\/$/, '')
    .replace(/^\.\/?/, '');
  // A directory source copies its contents; a file source copies the file.
  const matches = clean === '' ? ctxFiles : ctxFiles.filter((f) => f === clean || f.startsWith(`${clean}/`));
  if (matches.length === 0) {
    throw new Error(`COPY ${src}: not in the build context (untracked or .dockerignore'd)`);
  }
  for (const f of matches) {
    const isFileSrc = f === clean;
    const target = isFileSrc
      ? destIsDir
        ? join(destPath, posix.basename(f))
        : destPath
      : join(destPath, f.slice(clean === '' ? 0 : clean.length + 1));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(ctxRoot, f), target);
  }
}

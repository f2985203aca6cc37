/**
 * `npm run build:lambda`: the Lambda deployment package. esbuild bundles `lambda/handler.ts` and
 * everything it imports (the AWS SDK included, so the function runs the SDK version we test
 * with, not the runtime's) into one CommonJS file for the `nodejs24.x` runtime (an async handler, as that runtime requires: no callbacks), `proto/llm.proto`
 * is copied beside it (`proto/codec.ts` loads it from its own directory), and both are zipped
 * into `lambda/.build/lambda.zip` with fixed timestamps, so the same sources give the same zip.
 *
 * Handler setting: `handler.handler`. The SAM template (`deploy/template.yaml`) points at the zip.
 *
 * @example
 * npm run build:lambda                      # → lambda/.build/lambda.zip
 * const build = await buildLambda({ outDir: '/tmp/lambda' }); // tests
 */
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { ZipFile } from 'yazl';

/** Options of {@link buildLambda}; every field has a default. */
export interface BuildLambdaOptions {
  /** Repository root. Default: the parent of this script's directory. */
  root?: string;
  /** Where the bundle dir and the zip go. Default `<root>/lambda/.build`. */
  outDir?: string;
  /** Minify the bundle (smaller package, faster cold start). Default true. */
  minify?: boolean;
}

/** What {@link buildLambda} produced. */
export interface LambdaBuild {
  /** Directory holding exactly the files that are zipped (`handler.js`, its source map, `llm.proto`). */
  bundleDir: string;
  /** The deployment package. */
  zipPath: string;
  /** File names inside the zip. */
  files: string[];
  bundleBytes: number;
  zipBytes: number;
}

/** 1980-01-01, the earliest time a zip entry can hold: fixed so builds are reproducible. */
const ZIP_MTIME = new Date(Date.UTC(1980, 0, 1));

function zipDir(dir: string, files: string[], zipPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const zip = new ZipFile();
    for (const name of files) {
      // Lambda needs the files world-readable.
      zip.addFile(path.join(dir, name), name, { mtime: ZIP_MTIME, mode: 0o100644 });
    }
    const out = fs.createWriteStream(zipPath);
    out.on('close', () => resolve());
    out.on('error', reject);
    zip.outputStream.on('error', reject).pipe(out);
    zip.end();
  });
}

/** Bundles, copies the .proto and zips. Throws when esbuild reports an error. */
export async function buildLambda(opts: BuildLambdaOptions = {}): Promise<LambdaBuild> {
  const root = opts.root ?? path.resolve(__dirname, '..');
  const outDir = opts.outDir ?? path.join(root, 'lambda', '.build');
  const bundleDir = path.join(outDir, 'bundle');
  const zipPath = path.join(outDir, 'lambda.zip');
  fs.rmSync(bundleDir, { recursive: true, force: true });
  fs.mkdirSync(bundleDir, { recursive: true });

  await build({
    entryPoints: [path.join(root, 'lambda', 'handler.ts')],
    outfile: path.join(bundleDir, 'handler.js'),
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    minify: opts.minify ?? true,
    keepNames: true,
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'linked',
    logLevel: 'error',
  });
  fs.copyFileSync(path.join(root, 'proto', 'llm.proto'), path.join(bundleDir, 'llm.proto'));

  const files = fs.readdirSync(bundleDir).sort();
  fs.rmSync(zipPath, { force: true });
  await zipDir(bundleDir, files, zipPath);
  return {
    bundleDir,
    zipPath,
    files,
    bundleBytes: fs.statSync(path.join(bundleDir, 'handler.js')).size,
    zipBytes: fs.statSync(zipPath).size,
  };
}

if (require.main === module) {
  buildLambda().then(
    (b) => {
      const kb = (n: number) => `${(n / 1024).toFixed(0)} kB`;
      process.stdout.write(
        `Lambda package: ${path.relative(process.cwd(), b.zipPath)} (${kb(b.zipBytes)}; handler.js ${kb(b.bundleBytes)})\n` +
          `  files: ${b.files.join(', ')}\n  runtime nodejs24.x, handler "handler.handler"\n`,
      );
    },
    (err: unknown) => {
      process.stderr.write(`build:lambda failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

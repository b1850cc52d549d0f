// Builds the browser assets the service serves itself: the billing dashboard (/billing) and the GraphQL IDE
// (/graphql in a browser), bundled from npm packages into dist/public/, with content-hashed file names.
// Skipped when every output is newer than every input; `--force` builds anyway.
import { build } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outRoot = path.join(root, 'dist', 'public');
const stamp = path.join(outRoot, '.built');
const force = process.argv.includes('--force');

/** One page: a source folder with main.js and index.html, and where its bundle goes. */
const PAGES = [
  { name: 'dashboard', source: path.join(root, 'dashboard', 'app'), mount: '/billing/assets/' },
  { name: 'graphiql', source: path.join(root, 'dashboard', 'graphiql'), mount: '/graphql/assets/' },
];

const INPUTS = [
  path.join(root, 'dashboard'),
  path.join(root, 'package-lock.json'),
  fileURLToPath(import.meta.url),
];

function newestMtime(file) {
  if (!existsSync(file)) return 0;
  const stat = statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(file).map((entry) => newestMtime(path.join(file, entry))));
}

function upToDate() {
  if (force || !existsSync(stamp)) return false;
  return statSync(stamp).mtimeMs > Math.max(...INPUTS.map(newestMtime));
}

async function buildPage(page) {
  const outdir = path.join(outRoot, page.name);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    entryPoints: [path.join(page.source, 'main.js')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2020'],
    outdir,
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    loader: { '.js': 'jsx', '.woff': 'file', '.woff2': 'file', '.svg': 'file' },
    jsx: 'automatic',
    jsxImportSource: page.name === 'graphiql' ? 'react' : 'preact',
    define: { 'process.env.NODE_ENV': '"production"' },
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => path.basename(file));
  const script = outputs.find((file) => file.endsWith('.js'));
  const style = outputs.find((file) => file.endsWith('.css'));
  const html = readFileSync(path.join(page.source, 'index.html'), 'utf8')
    .replace('%SCRIPT%', page.mount + script)
    .replace('%STYLE%', page.mount + style);
  writeFileSync(path.join(outdir, 'index.html'), html);
  return { name: page.name, files: ['index.html', script, style].filter(Boolean).map((file) => path.join(outdir, file)) };
}

function weight(files) {
  let raw = 0;
  let gzip = 0;
  for (const file of files) {
    const content = readFileSync(file);
    raw += content.length;
    gzip += gzipSync(content, { level: 9 }).length;
  }
  return `${(raw / 1024).toFixed(1)} KiB (${(gzip / 1024).toFixed(1)} KiB gzipped)`;
}

if (upToDate()) {
  process.stdout.write('Browser assets are up to date (dist/public).\n');
} else {
  const started = Date.now();
  const pages = await Promise.all(PAGES.map(buildPage));
  writeFileSync(stamp, new Date().toISOString());
  const sizes = pages.map((page) => `${page.name} ${weight(page.files)}`).join(', ');
  process.stdout.write(`Browser assets built in ${Date.now() - started} ms: ${sizes} (html + js + css).\n`);
}

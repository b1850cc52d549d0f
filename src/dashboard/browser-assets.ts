import { Logger } from '@nestjs/common';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.png': 'image/png',
};

export interface BrowserAsset {
  body: Buffer;
  gzip: Buffer | null;
  contentType: string;
}

/**
 * Where `scripts/build-assets.mjs` puts the bundles: dist/public, found from the compiled service (dist/src/...) and
 * from the sources alike (src/..., as the tests run them).
 */
export function publicDirectory(): string {
  const candidates = [path.resolve(__dirname, '..', '..', 'public'), path.resolve(__dirname, '..', '..', 'dist', 'public')];
  return candidates.find((candidate) => existsSync(candidate)) ?? candidates[0];
}

/**
 * One built page (its index.html and content-hashed assets), read into memory once: a handful of files, served
 * compressed to browsers that accept gzip.
 */
export class BrowserPage {
  private readonly logger = new Logger(BrowserPage.name);
  private readonly files = new Map<string, BrowserAsset>();

  constructor(readonly name: string) {
    const directory = path.join(publicDirectory(), name);
    if (!existsSync(directory)) {
      this.logger.warn(`${directory} is missing: run npm run build to build the ${name} page`);
      return;
    }
    for (const file of readdirSync(directory)) {
      const body = readFileSync(path.join(directory, file));
      const contentType = CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream';
      const compressible = /^(text\/|image\/svg)/.test(contentType);
      this.files.set(file, { body, gzip: compressible ? gzipSync(body) : null, contentType });
    }
  }

  get built(): boolean {
    return this.files.has('index.html');
  }

  index(): BrowserAsset | undefined {
    return this.files.get('index.html');
  }

  /** A bundled asset by its file name; never index.html, never a path outside the page. */
  asset(file: string): BrowserAsset | undefined {
    if (file === 'index.html' || file.includes('/')) return undefined;
    return this.files.get(file);
  }
}

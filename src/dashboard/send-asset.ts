import type { Request, Response } from 'express';
import { BrowserAsset } from './browser-assets';

/** Hashed bundles never change under their name; an index page is checked again each time. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';
export const REVALIDATE = 'no-cache';

export function sendAsset(req: Request, res: Response, asset: BrowserAsset, cacheControl: string): void {
  res.setHeader('Content-Type', asset.contentType);
  res.setHeader('Cache-Control', cacheControl);
  res.setHeader('Vary', 'Accept-Encoding');
  const gzip = asset.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  if (gzip) res.setHeader('Content-Encoding', 'gzip');
  res.status(200).end(gzip ? asset.gzip : asset.body);
}

import { Inject, Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { CONTENT_SECURITY_POLICY, policyHeader } from '../common/content-security-policy';
import { BrowserPage } from './browser-assets';
import { IMMUTABLE, REVALIDATE, sendAsset } from './send-asset';

export const GRAPHQL_IDE_PAGE = 'GRAPHQL_IDE_PAGE';

/**
 * GraphiQL keeps some styles inline (its editors size and colour themselves), so its page alone allows inline
 * styles; scripts and everything else stay as every answer's policy has them.
 */
export const GRAPHQL_IDE_CSP = policyHeader({ ...CONTENT_SECURITY_POLICY, styleSrc: ["'self'", "'unsafe-inline'"] });

/**
 * A browser asking for /graphql (Accept: text/html) gets the GraphQL IDE, bundled at build time; every other GET
 * (a query in the URL, a client asking for JSON) goes on to the GraphQL server.
 */
@Injectable()
export class GraphqlIdeMiddleware implements NestMiddleware {
  constructor(@Inject(GRAPHQL_IDE_PAGE) private readonly page: BrowserPage) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const assetPath = /^\/graphql\/assets\/([^/]+)$/.exec(req.originalUrl.split('?')[0]);
    if (assetPath) {
      const asset = this.page.asset(assetPath[1]);
      if (!asset) return void res.status(404).end();
      return sendAsset(req, res, asset, IMMUTABLE);
    }
    const index = this.page.index();
    if (!index || !wantsHtml(req)) return next();
    res.setHeader('Content-Security-Policy', GRAPHQL_IDE_CSP);
    sendAsset(req, res, index, REVALIDATE);
  }
}

/** A browser's navigation prefers HTML; GraphQL clients ask for JSON (or nothing). */
function wantsHtml(req: Request): boolean {
  return String(req.headers.accept ?? '').includes('text/html');
}

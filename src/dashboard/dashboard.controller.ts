import { Controller, Get, Inject, NotFoundException, Param, Req, Res, ServiceUnavailableException } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Public } from '../auth/public.decorator';
import { AppConfig } from '../config/app-config';
import { BrowserPage } from './browser-assets';
import { IMMUTABLE, REVALIDATE, sendAsset } from './send-asset';

export const DASHBOARD_PAGE = 'DASHBOARD_PAGE';

/**
 * The billing dashboard: a single-page app that talks only to /graphql. Every /billing path answers its index page
 * (the app routes on the client), so the service's own links and Stripe's return pages land in it.
 */
@Controller('billing')
@Public()
export class DashboardController {
  private readonly index?: { body: Buffer; contentType: string; gzip: null };

  constructor(@Inject(DASHBOARD_PAGE) private readonly page: BrowserPage, @Inject(AppConfig) config: AppConfig) {
    const built = page.index();
    if (built) {
      // The page tells the app whether to offer "sign in as"; nothing else of the configuration reaches it.
      const html = built.body.toString('utf8').replace('content="dev-sign-in-off"', `content="dev-sign-in-${config.devSignIn ? 'on' : 'off'}"`);
      this.index = { body: Buffer.from(html), contentType: built.contentType, gzip: null };
    }
  }

  @Get('assets/:file')
  asset(@Param('file') file: string, @Req() req: Request, @Res() res: Response): void {
    const asset = this.page.asset(file);
    if (!asset) throw new NotFoundException();
    sendAsset(req, res, asset, IMMUTABLE);
  }

  @Get(['', '*path'])
  app(@Req() req: Request, @Res() res: Response): void {
    if (!this.index) throw new ServiceUnavailableException('The dashboard is not built: run npm run build.');
    sendAsset(req, res, this.index, REVALIDATE);
  }
}

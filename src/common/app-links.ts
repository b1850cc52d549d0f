import { AppConfig } from '../config/app-config';

/** Where the frontend lets a person upgrade or buy credits; refusals and overviews point there. */
export interface AppLinks {
  upgradeUrl: string;
  purchaseUrl: string;
}

export function appLinks(config: AppConfig): AppLinks {
  const base = config.APP_URL.replace(/\/+$/, '');
  return { upgradeUrl: `${base}/billing/plans`, purchaseUrl: `${base}/billing/credits` };
}

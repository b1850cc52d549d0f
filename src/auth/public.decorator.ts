import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'auth:public';

/** Serves the handler without a bearer token (catalog, health, the signature-verified Stripe webhook). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

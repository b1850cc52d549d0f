import { SetMetadata } from '@nestjs/common';
import { Role } from './role.enum';

export const REQUIRED_ROLES = 'auth:roles';

/** Serves the handler only to tokens carrying one of these roles. */
export const Roles = (...roles: Role[]) => SetMetadata(REQUIRED_ROLES, roles);

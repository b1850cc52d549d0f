import { isUUID } from 'class-validator';
import { CommonErrorCode, CommonException } from './common.exception';

/** Opaque, stable cursors: the position of a row in a keyset order, base64url-encoded. */
export function encodeCursor(position: string | number): string {
  return Buffer.from(`v1:${position}`, 'utf8').toString('base64url');
}

export function invalidCursor(): CommonException {
  return new CommonException(CommonErrorCode.INVALID_CURSOR, 'The cursor is not one this service gave out.');
}

export function decodeCursor(cursor: string): string {
  const decoded = /^[A-Za-z0-9_-]{1,200}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (!decoded.startsWith('v1:')) throw invalidCursor();
  return decoded.slice(3);
}

/** A place in a (created_at, id) order, for lists of rows with a UUID id. */
export interface CreationPosition {
  createdAt: Date;
  id: string;
}

/** The cursor of a row's place in a (created_at, id) order (lists ordered by row id refuse it). */
export function encodeCreationCursor(row: CreationPosition): string {
  return encodeCursor(`${row.createdAt.toISOString()}|${row.id}`);
}

export function decodeCreationCursor(cursor: string): CreationPosition {
  const [createdAt, id] = decodeCursor(cursor).split('|');
  if (!isUUID(id ?? '') || Number.isNaN(Date.parse(createdAt))) throw invalidCursor();
  return { createdAt: new Date(createdAt), id: id.toLowerCase() };
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** Checks `first` (1 to 100, default 20). */
export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new CommonException(CommonErrorCode.INVALID_PAGE_SIZE, `first must be a whole number from 1 to ${MAX_PAGE_SIZE}.`);
  }
  return first;
}

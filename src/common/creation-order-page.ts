import { Repository } from 'typeorm';
import { CreationPosition, decodeCreationCursor } from './cursor';
import { Page } from './pagination';

/** -1, 0 or 1 as `a` was created before, with or after `b` ((created_at, id) order; ids are lower-case UUIDs). */
function compareCreation(a: CreationPosition, b: CreationPosition): number {
  const byTime = Math.sign(a.createdAt.getTime() - b.createdAt.getTime());
  return byTime || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * One page of an account's rows in creation order, (created_at, id) ascending or with 'DESC' newest first, `first`
 * at a time after a cursor of encodeCreationCursor. The cursor is a place, not a row: a page after a row deleted
 * since starts where that row was. `preceded`: the account has rows at or before that place, which is so when
 * the list's first row is (read as the first page reads it, from the (account_id, created_at) index).
 */
export async function pageInCreationOrder<Row extends { id: string; accountId: string; createdAt: Date }>(
  rows: Repository<Row>,
  accountId: string,
  first: number,
  after: string | null | undefined,
  order: 'ASC' | 'DESC',
): Promise<Page<Row>> {
  const position = after ? decodeCreationCursor(after) : null;
  const inOrder = (limit: number) =>
    rows
      .createQueryBuilder('listed')
      .where('listed.account_id = :accountId', { accountId })
      .orderBy('listed.created_at', order)
      .addOrderBy('listed.id', order)
      .take(limit);
  const query = inOrder(first + 1);
  if (position) {
    query.andWhere(`(listed.created_at, listed.id) ${order === 'DESC' ? '<' : '>'} (:createdAt, :id)`, position);
  }
  const found = await query.getMany();
  const preceded = async () => {
    const [head] = await inOrder(1).getMany();
    return head !== undefined && compareCreation(head, position!) * (order === 'DESC' ? -1 : 1) <= 0;
  };
  return { rows: found.slice(0, first), more: found.length > first, preceded: position ? preceded : false };
}

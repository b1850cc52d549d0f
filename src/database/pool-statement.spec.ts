import { poolStatement } from './pool-statement';

describe('poolStatement', () => {
  it('names each distinct text once, the same name every time, when statements are prepared', () => {
    const first = poolStatement('SELECT credits_hold($1)', ['a'], true);
    const again = poolStatement('SELECT credits_hold($1)', ['b'], true);
    const other = poolStatement('SELECT credits_charge($1)', ['a'], true);
    expect(first.name).toBeTruthy();
    expect(again).toEqual({ name: first.name, text: 'SELECT credits_hold($1)', values: ['b'] });
    expect(other.name).not.toBe(first.name);
  });

  it('sends the statement unnamed when they are not', () => {
    expect(poolStatement('SELECT credits_hold($1)', ['a'], false)).toEqual({ text: 'SELECT credits_hold($1)', values: ['a'] });
  });
});

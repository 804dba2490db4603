/**
 * The SQLite side of db.ts (the Postgres side runs in __tests__/gateway/fleet*.test.ts): placeholders
 * written once as `$1…`, transactions that roll back on a throw, and a statement from outside a
 * transaction waiting for it to end instead of landing inside it.
 */
import { migrate, openDb, toSqlite } from '../../examples/gateway/db';

test('$1… become named SQLite parameters, bound from the same array (a number used twice included)', async () => {
  expect(toSqlite('SELECT $1, $2, $10, $1')).toBe('SELECT @p1, @p2, @p10, @p1');
  const db = openDb({ path: ':memory:' });
  expect(await db.query('SELECT $1 AS a, $2 AS b, $1 AS c', ['x', 2])).toEqual([{ a: 'x', b: 2, c: 'x' }]);
  await db.close();
});

test('a transaction rolls back when its function throws; outside statements wait for it to end', async () => {
  const db = openDb({ path: ':memory:' });
  await db.exec('CREATE TABLE t (v INTEGER)');
  await expect(
    db.transaction(async (tx) => {
      await tx.query('INSERT INTO t (v) VALUES ($1)', [1]);
      throw new Error('no');
    }),
  ).rejects.toThrow('no');
  expect(await db.query('SELECT COUNT(*) AS n FROM t')).toEqual([{ n: 0 }]);

  const order: string[] = [];
  const tx = db.transaction(async (q) => {
    await q.query('INSERT INTO t (v) VALUES ($1)', [2]);
    await new Promise((r) => setTimeout(r, 20));
    order.push('tx');
    throw new Error('rolled back');
  });
  // Issued while the transaction is open: it must not be rolled back with it.
  const outside = db.query('INSERT INTO t (v) VALUES ($1)', [3]).then(() => order.push('outside'));
  await expect(tx).rejects.toThrow('rolled back');
  await outside;
  expect(order).toEqual(['tx', 'outside']);
  expect(await db.query('SELECT v FROM t')).toEqual([{ v: 3 }]);
  await db.close();
});

test('migrations are versioned and applied once', async () => {
  const db = openDb({ path: ':memory:' });
  const m = [{ version: 1, name: 'one', sql: () => 'CREATE TABLE one (x TEXT)' }];
  expect(await migrate(db, m)).toEqual([1]);
  expect(await migrate(db, m)).toEqual([]);
  expect(await migrate(db, [...m, { version: 2, name: 'two', sql: () => 'CREATE TABLE two (x TEXT)' }])).toEqual([2]);
  expect((await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).map((r) => r.version)).toEqual([1, 2]);
  await db.close();
});

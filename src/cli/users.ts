// Users for `beepwire listen --sasl`: one from --user NAME:PASSWORD, or a file of such lines.
import { readFileSync } from 'node:fs';

/** User name to password. */
export type UserTable = Map<string, string>;

/** Splits NAME:PASSWORD (the password may contain colons). */
export function userPass(s: string): [string, string] {
  const i = s.indexOf(':');
  if (i <= 0) throw new Error(`expected NAME:PASSWORD, got "${s}"`);
  return [s.slice(0, i), s.slice(i + 1)];
}

/** Users from --user and/or --users FILE; without either, the single user beepwire:beepwire. */
export function credentials(user: string | undefined, file: string | undefined): UserTable {
  const m: UserTable = new Map();
  if (file !== undefined) {
    for (const line of readFileSync(file, 'utf8').split(/\r?\n/)) {
      const t = line.trim();
      if (t === '' || t.startsWith('#')) continue;
      m.set(...userPass(t));
    }
  }
  if (user !== undefined) m.set(...userPass(user));
  if (m.size === 0) m.set('beepwire', 'beepwire');
  return m;
}

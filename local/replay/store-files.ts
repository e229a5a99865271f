/**
 * The local store's directory: held by one command at a time, emptied without starting the
 * embedded DynamoDB. No SDK here: a command that needs no store loads none.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A store that cannot be used: one line for the user, never a stack trace. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
}

/** A store whose LevelDB does not open: corrupt, or held by a process that is not one of ours. */
export function unopenableStore(path: string, error: unknown): StoreError {
  const cause = (error as { cause?: Error }).cause?.message ?? (error as Error).message;
  return new StoreError(`the store ${path} cannot be opened (${cause}): it is corrupt or in use; remove it to start afresh`);
}

const LOCK_FILE = 'ai-visibility.lock';
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Make sure a store directory can be used, and hold it: it must be a directory (or be creatable
 * as one), and no other command may be using it (a lock file with the holder's process id; a
 * stale one is taken over). Returns the lock's release.
 */
export function lockStore(path: string): () => void {
  if (existsSync(path)) {
    if (!statSync(path).isDirectory()) throw new StoreError(`the store ${path} is not a directory: give --store a directory (it is made if missing)`);
  } else {
    try {
      mkdirSync(path, { recursive: true });
    } catch (error) {
      throw new StoreError(`cannot make the store ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}${(error as NodeJS.ErrnoException).code === 'ENOTDIR' ? ` (${dirname(path)} or a folder above it is a file)` : ''}`);
    }
  }
  const lock = join(path, LOCK_FILE);
  let fd: number | undefined;
  for (let attempt = 0; fd === undefined && attempt < 2; attempt++) {
    try {
      fd = openSync(lock, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new StoreError(`cannot lock the store ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      const holder = Number(readFileSync(lock, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && alive(holder)) {
        throw new StoreError(`the store ${path} is in use by another ai-visibility command (process ${holder}): wait for it to finish, or give another --store`);
      }
      rmSync(lock, { force: true }); // left by a command that did not finish: take it over
    }
  }
  if (fd === undefined) throw new StoreError(`cannot lock the store ${path}`);
  writeSync(fd, String(process.pid));
  closeSync(fd);
  const release = () => rmSync(lock, { force: true });
  return release;
}

/** The files of a LevelDB database (what dynalite keeps in a store), and nothing else. */
const LEVELDB_FILE = /^(CURRENT|LOCK|LOG|LOG\.old|MANIFEST-\d+|\d+\.(log|ldb|sst))$/;

/**
 * Leave a store empty, as a replay that records nothing leaves it: its LevelDB files removed
 * under the store's lock (other files in the directory are not touched). A store that does not
 * exist is left so.
 */
export async function clearStore(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const release = lockStore(path);
  try {
    for (const name of readdirSync(path)) if (LEVELDB_FILE.test(name)) rmSync(join(path, name), { force: true });
  } finally {
    release();
  }
}

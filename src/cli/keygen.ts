/**
 * `dbo keygen --out FILE`: a new agent identity (an Ed25519 private key and
 * its libp2p peer id, see src/runtime/libp2p/keys.ts), written with file mode
 * 0600; the peer id is printed for the peers file. `--psk` writes a
 * pre-shared key for a private network instead. An existing file is never
 * overwritten.
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import { DboError, environmentError } from '../errors.ts';

/** Creates `path` with `text`, readable by its owner only; refuses an existing path (file, folder or link). */
export function writeSecretFile(path: string, text: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new DboError(`${path}: already exists; a key file is never overwritten (choose another --out)`);
    throw environmentError(e, path) ?? e;
  }
  try {
    writeSync(fd, text);
    closeSync(fd);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {}
    rmSync(path, { force: true });
    throw environmentError(e, path) ?? e;
  }
}

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('make an agent identity (Ed25519 key file, mode 0600) and print its peer id; --psk makes a private-network key')
    .requiredOption('--out <file>', 'key file to create (an existing file is refused)')
    .option('--psk', 'write a pre-shared key for a libp2p private network instead (share it with every agent, use --psk FILE)')
    .action(async (opts: { out: string; psk?: boolean }) => {
      const { generateKeyFile, generatePskText } = await import('../runtime/libp2p/keys.ts');
      if (opts.psk) {
        writeSecretFile(opts.out, generatePskText());
        console.log(`wrote pre-shared key ${opts.out} (mode 0600): copy it to every host and pass --psk ${opts.out}`);
        return;
      }
      const key = await generateKeyFile();
      writeSecretFile(opts.out, `${JSON.stringify(key, null, 2)}\n`);
      console.log(key.peerId);
      console.error(`wrote ${opts.out} (mode 0600); list the peer id above with this agent's id and address in the peers file`);
    });
}

// A worker on the other side of a network link that the suite can cut: a network namespace joined to the host by a
// veth pair (addresses in 10.231.0.0/16, a /30 of its own), and a small TCP proxy in the host namespace, bound to the
// host side's address, that passes connections on to the PostgreSQL on 127.0.0.1 (which stays bound there). The
// partition takes the host side of the link down: packets stop both ways, connections stall as on a real network,
// new ones time out; healing brings it up again. The namespace and the links are removed at the end, on Ctrl-C too.
import net from 'node:net';
import { onCleanup, run, runSync } from './cleanup';

const PREFIX = 'ocrchaos-';

export interface Proxy {
  host: string;
  port: number;
  /** connections accepted so far */
  connections: number;
  close(): Promise<void>;
}

/** A TCP proxy on host:0 (a free port) to target; every connection gets its own connection to the target. */
export function startProxy(host: string, target: { host: string; port: number }): Promise<Proxy> {
  const sockets = new Set<net.Socket>();
  const stats = { connections: 0 };
  const server = net.createServer((downstream) => {
    stats.connections++;
    const upstream = net.connect(target.port, target.host);
    for (const s of [downstream, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('close', () => sockets.delete(s));
    }
    downstream.pipe(upstream);
    upstream.pipe(downstream);
    // either side going away ends the other: a restarted server ends its clients' connections too
    const end = () => {
      downstream.destroy();
      upstream.destroy();
    };
    downstream.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        host,
        port,
        get connections() {
          return stats.connections;
        },
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

export class Partitionable {
  private down = false;
  private constructor(
    readonly namespace: string,
    readonly hostLink: string,
    readonly nsLink: string,
    readonly hostAddress: string,
    readonly nsAddress: string,
    private readonly remove: () => Promise<void>,
  ) {}

  /** Namespaces and links left by an earlier run of the suite that did not get to clean up (its process is gone). */
  static async removeLeftovers(say: (line: string) => void): Promise<void> {
    const namespaces = (await run('ip', ['netns', 'list'])).split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(PREFIX));
    for (const ns of namespaces) {
      const pid = Number(ns.slice(PREFIX.length));
      if (pid && alive(pid)) continue;
      say(`removing the network namespace ${ns} left by an earlier run`);
      await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    }
    const links = (await run('ip', ['-o', 'link', 'show'])).split('\n').map((l) => /^\d+: (ocx\d+h)[@:]/.exec(l)?.[1]).filter((l): l is string => Boolean(l));
    for (const link of links) {
      const pid = Number(link.slice(3, -1));
      if (pid && alive(pid)) continue;
      say(`removing the link ${link} left by an earlier run`);
      await run('ip', ['link', 'del', link]).catch(() => undefined);
    }
  }

  /** Creates the namespace and the veth pair, both sides up and addressed. */
  static async create(): Promise<Partitionable> {
    const namespace = `${PREFIX}${process.pid}`;
    const hostLink = `ocx${process.pid}h`;
    const nsLink = `ocx${process.pid}n`;
    const used = await run('ip', ['-4', '-o', 'addr', 'show']);
    let third = process.pid % 256;
    while (used.includes(` 10.231.${third}.`)) third = (third + 1) % 256;
    const hostAddress = `10.231.${third}.1`;
    const nsAddress = `10.231.${third}.2`;
    const removeNow = () => {
      runSync('ip', ['netns', 'del', namespace]);
      runSync('ip', ['link', 'del', hostLink]);
    };
    const remove = onCleanup(
      `network namespace ${namespace}`,
      async () => {
        await run('ip', ['netns', 'del', namespace]).catch(() => undefined);
        // deleting the namespace deletes its side of the pair, and with it the host's side; this is in case it did not
        await run('ip', ['link', 'del', hostLink]).catch(() => undefined);
      },
      removeNow,
    );
    const inNs = (...args: string[]) => run('ip', ['netns', 'exec', namespace, 'ip', ...args]);
    await run('ip', ['netns', 'add', namespace]);
    await run('ip', ['link', 'add', hostLink, 'type', 'veth', 'peer', 'name', nsLink]);
    await run('ip', ['link', 'set', nsLink, 'netns', namespace]);
    await run('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', hostLink]);
    await run('ip', ['link', 'set', hostLink, 'up']);
    await inNs('link', 'set', 'lo', 'up');
    await inNs('addr', 'add', `${nsAddress}/30`, 'dev', nsLink);
    await inNs('link', 'set', nsLink, 'up');
    return new Partitionable(namespace, hostLink, nsLink, hostAddress, nsAddress, remove);
  }

  /** The command line that runs `argv` inside the namespace. */
  wrap(argv: string[]): string[] {
    return ['ip', 'netns', 'exec', this.namespace, ...argv];
  }

  get partitioned(): boolean {
    return this.down;
  }

  async cut(): Promise<void> {
    await run('ip', ['link', 'set', this.hostLink, 'down']);
    this.down = true;
  }

  async heal(): Promise<void> {
    await run('ip', ['link', 'set', this.hostLink, 'up']);
    this.down = false;
  }

  /** The link's state as `ip` reports it, for the record. */
  async state(): Promise<string> {
    const line = await run('ip', ['-o', 'link', 'show', this.hostLink]);
    return /state (\S+)/.exec(line)?.[1] ?? 'unknown';
  }

  destroy(): Promise<void> {
    return this.remove();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

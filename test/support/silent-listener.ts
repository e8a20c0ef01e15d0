/**
 * A loopback port whose connections are never answered, for connect-timeout tests: a child
 * process listens with a backlog of one and never accepts (its event loop is blocked). Once the
 * backlog is filled ({@link SilentListener.fill}), new SYNs go unanswered and a connect there can
 * only time out.
 */
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';

export interface SilentListener {
  readonly port: number;
  /** Opens `count` connections that fill the backlog (they are never accepted). */
  fill(count: number): void;
  /** Destroys the filling connections and kills the listener. */
  close(): void;
}

export async function startSilentListener(): Promise<SilentListener> {
  const child = spawn(process.execPath, [
    '-e',
    "const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1',backlog:1},()=>{console.log(s.address().port);Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,20000)})",
  ]);
  const port = await new Promise<number>((resolve) =>
    child.stdout.once('data', (d: Buffer) => resolve(Number(String(d)))),
  );
  const fillers: Socket[] = [];
  return {
    port,
    fill(count) {
      for (let i = 0; i < count; i++) fillers.push(connect(port, '127.0.0.1').on('error', () => {}));
    },
    close() {
      for (const socket of fillers) socket.destroy();
      child.kill();
    },
  };
}

/** 4. Payloads: 8 MiB buffers to a thread and back, copied (structured clone) or transferred. */
import { from, lastValueFrom, toArray } from 'rxjs';
import { offloadToThread } from 'rxthreads';
import { type Bench, fmt, median, nowMs, type Section } from './harness';
import { openRxthreads, peers, raw, rxTask } from './peers';

const size = 8 * 1024 * 1024;
type Mode = 'copy' | 'move';

interface Row {
  readonly label: string;
  readonly mode: Mode;
  readonly times: number[];
}

type Send = (buffers: Uint8Array[]) => Promise<Uint8Array[]>;

export const payload: Bench = {
  name: 'payload',
  title: 'Payloads: 8 MiB buffers',
  steps: () => 12,
  async run(config, progress) {
    const count = config.quick ? 4 : 16;
    const rows: Row[] = [];
    const measure = async (label: string, mode: Mode, send: Send) => {
      let buffers: Uint8Array[] = [];
      const fresh = () => {
        buffers = Array.from({ length: count }, () => new Uint8Array(size).fill(1));
      };
      const once = async () => {
        const out = await send(buffers);
        const ok = out.length === count && out.every((b) => b.byteLength === size && b[0] === (size / 4096) % 256);
        if (!ok) throw new Error(`${label} (${mode}): wrong results`);
        if (mode === 'move' && buffers.some((b) => b.byteLength !== 0)) throw new Error(`${label}: not transferred`);
      };
      const times: number[] = [];
      for (let r = -1; r < config.repeats; r++) {
        fresh(); // allocating the inputs is not timed; repeat -1 is the warm-up
        const start = nowMs();
        await once();
        if (r >= 0) times.push(nowMs() - start);
      }
      rows.push({ label, mode, times });
      progress.tick(`${label} (${mode})`);
    };

    for (const mode of ['copy', 'move'] as const) {
      const pool = await openRxthreads(config.threads);
      await measure('rxthreads offloadToThread', mode, (buffers) =>
        lastValueFrom(
          from(buffers).pipe(
            offloadToThread(rxTask<Uint8Array, Uint8Array>(mode), {
              pool,
              transfer: mode === 'move' ? (b) => [b.buffer as ArrayBuffer] : undefined,
            }),
            toArray(),
          ),
        ),
      );
      await pool.close();
      for (const lib of peers) {
        const peer = await lib.open(config.threads);
        await measure(lib === raw ? 'raw worker_threads' : lib.name, mode, (buffers) =>
          Promise.all(
            buffers.map((b) =>
              peer.call<Uint8Array>(mode, b, mode === 'move' ? { transfer: [b.buffer as ArrayBuffer] } : {}),
            ),
          ),
        );
        await peer.close();
      }
    }
    return report(rows, count);
  },
};

function report(rows: Row[], count: number): Section {
  const labels = [...new Set(rows.map((row) => row.label))];
  const rate = (label: string, mode: Mode) => {
    const row = rows.find((r) => r.label === label && r.mode === mode)!;
    return (count * size) / 1e6 / (median(row.times) / 1000);
  };
  return {
    name: 'payload',
    title: 'Payloads: 8 MiB buffers',
    notes: [
      `${count} buffers of 8 MiB per repeat, all submitted at once; each goes to a thread, which reads it and sends it back. MB/s = MB sent to the threads (10^6 bytes) per second of the whole round trip. "move" transfers the buffer both ways (rxthreads: \`transfer\` option and \`ctx.transfer\`; piscina: \`transferList\` and \`Piscina.move\`; workerpool and threads.js: their \`Transfer\`).`,
    ],
    tables: [
      {
        head: ['library', 'copy MB/s', 'move MB/s', 'move / copy'],
        rows: labels.map((label) => [
          label,
          fmt(rate(label, 'copy')),
          fmt(rate(label, 'move')),
          `${fmt(rate(label, 'move') / rate(label, 'copy'), 1)}×`,
        ]),
      },
    ],
    targets: [],
  };
}

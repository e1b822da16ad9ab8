import type { Transferable } from '../task/context';
import type { TaskDefinition } from '../task/definition';
import { SerializationError } from '../util/errors';
import { type BatchItems, type PostTarget, postBatch } from '../wire/batch';
import { describeUnclonable } from '../wire/clone';
import { Header, jobCode, Kind, type RunMessage, type RunNumbersMessage, Stride, unzipNumbers } from '../wire/thread';
import { checkNotDetached } from '../wire/transfer';
import { batchBytes, type HeldJob } from './slot-holder';

/**
 * The transfer list of a batch, or `null` if one of its buffers is detached or listed twice: posting
 * it would deliver a buffer empty or silently drop the message, so each job is then sent alone.
 */
function batchTransfers(jobs: readonly HeldJob[]): Transferable[] | null {
  const list = new Set<Transferable>();
  for (const job of jobs) {
    if (job.transfer === undefined) continue;
    if (checkNotDetached(job.transfer) !== undefined) return null;
    for (const item of job.transfer) {
      if (list.has(item)) return null;
      list.add(item);
    }
  }
  return [...list];
}

/** A run message whose inputs are all numbers, packed (numbers always clone). */
function packNumbers(message: RunMessage): RunNumbersMessage {
  return [Kind.RunNumbers, message[1], ...unzipNumbers(message, Float64Array)];
}

/**
 * The jobs assigned to a thread since its last message, sent together in one `run` message: the
 * per-message cost is shared by every job in it. If the message cannot be cloned, each job is
 * sent alone, so that only the jobs whose input cannot be cloned fail.
 */
export class RunBatch<J extends HeldJob> {
  private message: RunMessage = [Kind.Run, 0];
  private defs: TaskDefinition[] = [];
  private jobs: J[] = [];
  private bytes = 0;
  private hasTransfers = false;
  /** Every input is a number: the batch goes packed (`RunNumbers`). */
  private numbers = true;

  get isEmpty(): boolean {
    return this.jobs.length === 0;
  }

  /** Whether the batch is one job of one value (a lone value, or one `run()` call). */
  get isLone(): boolean {
    return this.jobs.length === 1 && this.jobs[0]!.values === 0;
  }

  /** True once it holds a batch's worth of buffer input: it goes now, not at the end of the turn. */
  get full(): boolean {
    return this.bytes >= batchBytes;
  }

  /**
   * Adds a job in its slot; the task's definition goes along the first time (`known`: the task
   * keys the thread has been sent). Returns the bytes of buffer input the job carries.
   */
  add(job: J, known: Set<number>): number {
    const def = job.def;
    if (!known.has(def.key)) {
      known.add(def.key);
      this.defs.push(def);
      this.message[1] = this.defs;
    }
    const input = job.input;
    this.message.push(jobCode(job.slot, def.key), input);
    this.jobs.push(job);
    if (typeof input !== 'number') this.numbers = false;
    if (job.transfer !== undefined) this.hasTransfers = true;
    // Cloning many large buffers in one message is far slower than in several: big inputs count
    // towards sending the batch early.
    if (!(input instanceof ArrayBuffer || ArrayBuffer.isView(input))) return 0;
    this.bytes += input.byteLength;
    return input.byteLength;
  }

  clear(): void {
    this.message = [Kind.Run, 0];
    this.defs = [];
    this.jobs = [];
    this.bytes = 0;
    this.hasTransfers = false;
    this.numbers = true;
  }

  /**
   * Sends the batch and empties it. Returns the jobs that could not be sent (their input cannot be
   * cloned, or a buffer it moves is detached), each with its error, after `release` freed its slot.
   */
  send(thread: PostTarget, release: (job: J) => void): [J, SerializationError][] {
    const { message, defs, jobs, hasTransfers, numbers } = this;
    this.clear();
    if (jobs.length === 0) return [];
    if (numbers && !hasTransfers && jobs.length > 1) {
      thread.postMessage(packNumbers(message));
      return [];
    }
    const failures: [J, SerializationError][] = [];
    const fail = (job: J, error: SerializationError): true => {
      release(job);
      failures.push([job, error]);
      return true;
    };
    // If the message cannot be cloned, the jobs go one by one (their definitions first), so that
    // only those whose input cannot be cloned fail.
    const oneByOne: BatchItems = {
      header: Header,
      stride: Stride,
      alone: [Kind.Run, 0],
      before: () => {
        if (defs.length > 0) thread.postMessage([Kind.Run, defs] satisfies RunMessage);
      },
      take: (n) => {
        const detached = checkNotDetached(jobs[n]!.transfer);
        return detached === undefined || !fail(jobs[n]!, detached);
      },
      sent: (n) => {
        if (jobs[n]!.transfer !== undefined) jobs[n]!.moved = true;
      },
      failed: (n, _whole, error) => {
        const reason = describeUnclonable('input', jobs[n]!.input, error);
        return fail(
          jobs[n]!,
          new SerializationError(`The task's input could not be cloned to the thread: ${reason}`, { cause: error }),
        );
      },
    };
    const transfers = hasTransfers ? batchTransfers(jobs) : undefined;
    const whole = postBatch(thread, message, transfers, hasTransfers ? jobs.map((job) => job.transfer) : [], oneByOne);
    if (whole && hasTransfers) for (const job of jobs) if (job.transfer !== undefined) job.moved = true;
    return failures;
  }
}

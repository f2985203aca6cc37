/**
 * The live progress of runs, read once per run however many streams watch it: the first
 * subscriber of a run starts one poller (its view every `intervalMs`), the last one to leave stops
 * it. Each tick gives every subscriber the same event: `progress` (the view changed), `ping` (it
 * did not) or `end` (the run is no longer active; the run's subscribers are dropped after it).
 * A failed read (Redis away) skips the tick; the next one tries again.
 *
 * @example
 * const feed = new RunProgressFeed((id) => service.view(id), 1000);
 * const off = feed.subscribe('r1', (ev) => stream.write(`event: ${ev.event}\ndata: ${ev.data}\n\n`));
 */
import type { RunView } from '../api/http-contract';

export interface RunProgressEvent {
  event: 'progress' | 'ping' | 'end';
  /** The view as JSON (empty for `ping`). */
  data: string;
}

type Listener = (ev: RunProgressEvent) => void;

interface Watched {
  listeners: Set<Listener>;
  timer: NodeJS.Timeout;
  last?: string;
  busy: boolean;
}

export class RunProgressFeed {
  private readonly runs = new Map<string, Watched>();

  constructor(
    private readonly view: (runId: string) => Promise<RunView>,
    private readonly intervalMs = 1000,
  ) {}

  /** Runs with a poller now (for tests and diagnostics). */
  get pollers(): number {
    return this.runs.size;
  }

  /** Calls `listener` on each tick of `runId`; returns the unsubscribe function. */
  subscribe(runId: string, listener: Listener, lastJson?: string): () => void {
    let w = this.runs.get(runId);
    if (!w) {
      const timer = setInterval(() => void this.tick(runId), this.intervalMs);
      timer.unref();
      w = { listeners: new Set(), timer, last: lastJson, busy: false };
      this.runs.set(runId, w);
    }
    const watched = w;
    watched.listeners.add(listener);
    return () => {
      watched.listeners.delete(listener);
      if (watched.listeners.size === 0) this.drop(runId, watched);
    };
  }

  /** Stops every poller (shutdown). */
  close(): void {
    for (const [id, w] of this.runs) this.drop(id, w);
  }

  private drop(runId: string, w: Watched): void {
    clearInterval(w.timer);
    if (this.runs.get(runId) === w) this.runs.delete(runId);
  }

  private async tick(runId: string): Promise<void> {
    const w = this.runs.get(runId);
    if (!w || w.busy) return;
    w.busy = true;
    let ev: RunProgressEvent;
    try {
      const v = await this.view(runId);
      const json = JSON.stringify(v);
      ev =
        v.state !== 'active'
          ? { event: 'end', data: json }
          : json !== w.last
            ? { event: 'progress', data: json }
            : { event: 'ping', data: '' };
      w.last = json;
    } catch {
      return;
    } finally {
      w.busy = false;
    }
    if (ev.event === 'end') this.drop(runId, w);
    for (const l of [...w.listeners]) {
      try {
        l(ev);
      } catch {
        // One broken stream must not starve the others.
      }
    }
  }
}

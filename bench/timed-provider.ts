/**
 * An observing decorator around a real {@link LlmProvider}: it times every call with
 * `performance.now()` and delegates unchanged, so the pipeline and the direct loop are measured
 * at the same boundary (the provider call) with the same clock.
 */
import type { LlmCall, LlmProvider, LlmReply } from '../providers/llm-provider';
import type { Side } from '../conversation/model';

/** One provider call: which conversation and turn, when it started and ended (performance.now ms). */
export interface CallTiming {
  side: Side;
  conversationId: string;
  turn: number;
  start: number;
  end: number;
  ok: boolean;
}

/** Wraps `inner`; every finished call is pushed to `sink` and counted in `inFlight` while running. */
export class TimedProvider implements LlmProvider {
  /** Calls running now. */
  inFlight = 0;
  /** Calls finished successfully. */
  completed = 0;
  /** Set to false to stop recording timings (counting goes on). */
  recording = true;

  constructor(
    private readonly inner: LlmProvider,
    readonly side: Side,
    readonly sink: CallTiming[] = [],
  ) {}

  async generate(call: LlmCall): Promise<LlmReply> {
    const start = performance.now();
    this.inFlight++;
    let ok = false;
    try {
      const reply = await this.inner.generate(call);
      ok = true;
      this.completed++;
      return reply;
    } finally {
      this.inFlight--;
      if (this.recording) {
        this.sink.push({
          side: this.side,
          conversationId: call.conversationId ?? '',
          turn: call.turn ?? 0,
          start,
          end: performance.now(),
          ok,
        });
      }
    }
  }
}

// Coalesces work into animation frames: however many log batches arrive between two frames, each key's callback
// runs once, in the next frame. That is what bounds a lane to one render per frame.

export type RequestFrame = (callback: () => void) => unknown;

export class FrameScheduler {
  private readonly due = new Map<string, () => void>();
  private scheduled = false;

  constructor(private readonly requestFrame: RequestFrame = defaultRequestFrame()) {}

  /** Runs the callback in the next frame, once per call (the inbox of host messages). */
  next(callback: () => void): void {
    this.requestFrame(callback);
  }

  schedule(key: string, callback: () => void): void {
    this.due.set(key, callback);
    if (this.scheduled) return;
    this.scheduled = true;
    this.requestFrame(() => this.flush());
  }

  /** Runs what is due now (tests, and a page that is about to be hidden). */
  flush(): void {
    this.scheduled = false;
    const due = [...this.due.values()];
    this.due.clear();
    for (const callback of due) callback();
  }
}

function defaultRequestFrame(): RequestFrame {
  // A hidden page gets no animation frames; a timer keeps buffers draining so nothing piles up until it is shown.
  if (typeof requestAnimationFrame !== 'function') return (cb) => setTimeout(cb, 16);
  return (cb) => {
    let done = false;
    const once = () => {
      if (done) return;
      done = true;
      cb();
    };
    requestAnimationFrame(once);
    if (typeof document !== 'undefined' && document.visibilityState === 'hidden') setTimeout(once, 100);
  };
}

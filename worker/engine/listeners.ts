// A small list of callbacks: the worker's events (run started, run finished, status) for the CLI and the editor.
import type { Disposable } from '../store/store';

type Listener<A extends unknown[]> = (...args: A) => void;

export class Listeners<A extends unknown[]> {
  private readonly set = new Set<Listener<A>>();

  add(listener: Listener<A>): Disposable {
    this.set.add(listener);
    return { dispose: () => this.set.delete(listener) };
  }

  get size(): number {
    return this.set.size;
  }

  emit(...args: A): void {
    if (this.set.size === 0) return;
    for (const listener of [...this.set]) {
      try {
        listener(...args);
      } catch {
        // a listener's failure is its own; the worker goes on
      }
    }
  }
}

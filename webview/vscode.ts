// The page's one door to VS Code: `acquireVsCodeApi()` may be called once per load, so everything goes through here.
// Tests and the dev harness pass their own implementation of the same three methods.

export interface WebviewApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare global {
  // Provided by VS Code inside a webview.
  function acquireVsCodeApi(): WebviewApi;
}

let acquired: WebviewApi | undefined;

export function vscodeApi(): WebviewApi {
  acquired ??= acquireVsCodeApi();
  return acquired;
}

/** A WebviewApi that keeps its state in memory and hands posted messages to `onMessage`. */
export function memoryWebviewApi(options: { state?: unknown; onMessage?: (message: unknown) => void } = {}): WebviewApi & { posted: unknown[] } {
  let state = options.state;
  const posted: unknown[] = [];
  return {
    posted,
    postMessage(message) {
      // Like VS Code, the receiver gets a structured clone, never the sender's object.
      const copy = structuredClone(message);
      posted.push(copy);
      options.onMessage?.(copy);
    },
    getState: () => state,
    setState(next) {
      state = structuredClone(next);
    },
  };
}

// The dev harness's stand-in for what VS Code puts into a webview before the page's own script: acquireVsCodeApi
// (messages go to the parent frame, where the harness's host listens; state lives in sessionStorage, so a reload of
// the frame keeps it like a window reload keeps VS Code's) and the theme variables. With ?probe=N it also measures
// how long the page takes to show line N of every lane (the benchmark).
import type { WebviewApi } from '../vscode';
import { applyTheme, themeName } from './themes';

const params = new URLSearchParams(location.search);
const stateKey = 'runboard-harness-state';
let acquired = false;
let memory: string | null = null;

// Chromium may deny storage to a frame of another site (third-party storage blocking): keep the state in memory then.
function storage(): Pick<Storage, 'getItem' | 'setItem'> {
  try {
    return window.sessionStorage;
  } catch {
    return { getItem: () => memory, setItem: (_key, value) => void (memory = value) };
  }
}

(window as unknown as { acquireVsCodeApi(): WebviewApi }).acquireVsCodeApi = () => {
  if (acquired) throw new Error('acquireVsCodeApi may be called once per page, as in VS Code');
  acquired = true;
  return {
    postMessage: (message) => window.parent.postMessage(message, '*'),
    getState: () => {
      const saved = storage().getItem(stateKey);
      return saved === null ? undefined : (JSON.parse(saved) as unknown);
    },
    setState: (state) => storage().setItem(stateKey, JSON.stringify(state)),
  };
};

document.addEventListener('DOMContentLoaded', () => applyTheme(themeName(params.get('theme'))));

const violations: string[] = [];
document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.violatedDirective} ${e.blockedURI}`));

/** Epoch milliseconds with sub-millisecond precision, comparable across the harness's frames. */
const now = () => performance.timeOrigin + performance.now();

const probeLine = Number(params.get('probe') ?? 0);
const probeLanes = Number(params.get('lanes') ?? 1);
if (probeLine > 0) {
  let firstLog = 0;
  let lastShown = 0;
  const frames: number[] = [];
  window.addEventListener('message', (e: MessageEvent) => {
    if (!firstLog && (e.data as { method?: string } | null)?.method === 'log') firstLog = now();
  });
  const tick = () => {
    if (firstLog) frames.push(now());
    if (firstLog && document.querySelectorAll(`.log-line[data-seq="${probeLine}"]`).length >= probeLanes) {
      // this frame shows the last line: it was committed before this callback and is painted after it
      lastShown = now();
      const intervals = frames.slice(1).map((t, i) => t - frames[i]!);
      window.parent.postMessage({ benchResult: { firstLog, lastShown, intervals, violations } }, '*');
      return;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

// Lets the harness see CSP violations in a demo too.
(window as unknown as { cspViolations: string[] }).cspViolations = violations;

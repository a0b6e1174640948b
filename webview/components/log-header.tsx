// Above a log: which lines it shows (every line, or one runbook step's, with the way back to all), and how many of
// them there are by level.
import type { Run } from '../../domain';
import { useRunboard } from '../hooks';
import type { LevelCounts } from '../run-lines';
import { Icon } from './icon';

export function LogHeader({ run, lane, step, counts }: { run: Run; lane: string; step: string | null; counts: LevelCounts | undefined }) {
  const runboard = useRunboard();
  const c = counts ?? { total: 0, success: 0, warn: 0, error: 0 };
  return (
    <div className="log-header">
      {step !== null && (
        <span className="log-filter" role="status">
          <Icon name="filter" /> Step <code>{step}</code>
          <vscode-button secondary className="log-filter-clear" onClick={() => runboard.pickStep(lane, run.id, null)}>
            Show all lines
          </vscode-button>
        </span>
      )}
      <span className="log-counts" aria-label="Lines by level">
        <Count className="log-count-total" label="Total" title="Lines" n={c.total} />
        <Count className="log-count-success" label="Success" title="Lines of level success" n={c.success} />
        <Count className="log-count-warn" label="Warnings" title="Lines of level warn" n={c.warn} />
        <Count className="log-count-error" label="Errors" title="Lines of level error" n={c.error} />
      </span>
    </div>
  );
}

function Count({ className, label, title, n }: { className: string; label: string; title: string; n: number }) {
  return (
    <span className={`${className}${n > 0 ? ' some' : ''}`} title={title}>
      {label} <b>{n.toLocaleString('en-US')}</b>
    </span>
  );
}

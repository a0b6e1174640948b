// A runbook run's plan: each step with its state, how long it took and how often it was tried. Picking a step shows
// only its lines in the log below; picking it again shows them all.
import { formatDuration, type Run, type RunStep } from '../../domain';
import { useHostNow, useRunboard } from '../hooks';
import { stepDurationMs, stepIcons } from '../run';
import { Icon } from './icon';

export function RunSteps({ run, steps, lane, selected }: { run: Run; steps: readonly RunStep[] | undefined; lane: string; selected: string | null }) {
  const runboard = useRunboard();
  const live = steps?.some((s) => s.status === 'running' || s.status === 'waiting') ?? false;
  const now = useHostNow(live);
  if (!steps || steps.length === 0) {
    return <p className="run-steps-none">{run.status === 'queued' ? 'The steps show once a worker starts the run.' : 'No steps recorded.'}</p>;
  }
  const done = steps.filter((s) => s.status === 'succeeded').length;
  return (
    <div className="run-steps-box">
      <p className="run-steps-summary">
        Steps <span className="count">{done} of {steps.length} succeeded</span>
      </p>
      <ol className="run-steps" aria-label={`Steps of run #${run.seq}`}>
        {steps.map((step) => (
          <StepItem key={step.idx} step={step} now={now} selected={step.step_id === selected} onPick={() => runboard.pickStep(lane, run.id, step.step_id === selected ? null : step.step_id)} />
        ))}
      </ol>
    </div>
  );
}

function StepItem({ step, now, selected, onPick }: { step: RunStep; now: number; selected: boolean; onPick(): void }) {
  const duration = stepDurationMs(step, now);
  const why = step.error ? ` — ${step.error}` : '';
  return (
    <li className={`run-step status-${step.status}${selected ? ' selected' : ''}`} data-step={step.step_id} data-status={step.status}>
      <button
        type="button"
        className="run-step-pick"
        aria-pressed={selected}
        title={`${selected ? 'Show every line' : `Show only the lines of step ${step.step_id}`} (${step.kind}, ${step.status}${why})`}
        onClick={onPick}
      >
        <Icon name={stepIcons[step.status]} spin={step.status === 'running'} label={step.status} />
        <span className="run-step-title">{step.title}</span>
        {step.title.toLowerCase() !== step.step_id.toLowerCase() && <span className="run-step-id">{step.step_id}</span>}
        {step.tries > 1 && (
          <span className="run-step-tries" title={`Tried ${step.tries} times`}>
            {step.tries} tries
          </span>
        )}
        {duration !== null && <span className="run-step-duration">{formatDuration(duration)}</span>}
      </button>
    </li>
  );
}

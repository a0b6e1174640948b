// What a finished runbook run left besides its diff: files and logs (opened read-only in an editor), links (opened in
// the browser), its manifest (opened as JSON). The diff keeps its own summary above.
import { useAction, useRunboard } from '../hooks';
import type { ArtifactInfo } from '../protocol';
import { artifactIcons } from '../run';
import { formatBytes } from '../../domain';
import { Icon } from './icon';

const verbs: Record<ArtifactInfo['kind'], string> = {
  diff: 'Open the diff of',
  file: 'Open',
  link: 'Open in the browser:',
  log: 'Open',
  manifest: 'Open the manifest',
};

export function RunArtifacts({ artifacts }: { artifacts: readonly ArtifactInfo[] }) {
  const runboard = useRunboard();
  const open = useAction();
  const shown = artifacts.filter((a) => a.kind !== 'diff');
  if (shown.length === 0) return null;
  return (
    <div className="run-artifacts">
      <p className="run-artifacts-title">
        Artifacts <span className="count">{shown.length}</span>
      </p>
      <ul aria-label="Artifacts">
        {shown.map((a) => (
          <li key={a.artifact_id} className={`artifact kind-${a.kind}`} data-kind={a.kind}>
            <button
              type="button"
              className="artifact-open"
              title={`${verbs[a.kind]} ${a.name}`}
              disabled={open.busy}
              onClick={() => void open.run(() => runboard.openArtifact(a.run_id, a.artifact_id))}
            >
              <Icon name={artifactIcons[a.kind]} />
              <span className="artifact-name">{a.name}</span>
            </button>
            <span className="artifact-kind">{a.kind}</span>
            {a.kind !== 'link' && <span className="artifact-size">{formatBytes(a.size)}</span>}
          </li>
        ))}
      </ul>
      {open.error && (
        <p className="error" role="alert">
          {open.error}
        </p>
      )}
    </div>
  );
}

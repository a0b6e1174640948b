// What a run changed: files and lines, with the way to look at it (VS Code's diff editor) and to take it.
import { useState } from 'react';
import { useAction, useRunboard } from '../hooks';
import type { DiffInfo } from '../protocol';

const shownFiles = 8;

export function RunDiff({ diff }: { diff: DiffInfo }) {
  const runboard = useRunboard();
  const open = useAction();
  const apply = useAction();
  const [applied, setApplied] = useState<boolean | null>(null);
  const more = diff.entries.length - shownFiles;

  if (diff.files === 0) return <p className="diff-none">No changes.</p>;
  return (
    <div className="diff-summary" aria-label="Changes">
      <p className="diff-totals">
        <span>
          {diff.files} {diff.files === 1 ? 'file' : 'files'}
        </span>
        <span className="insertions">+{diff.insertions}</span>
        <span className="deletions">−{diff.deletions}</span>
        {diff.binary_files > 0 && <span>{diff.binary_files} binary</span>}
      </p>
      <ul className="diff-files">
        {diff.entries.slice(0, shownFiles).map((f) => (
          <li key={f.path} className={`diff-file ${f.status}`}>
            <span className="diff-path" title={f.path}>
              {f.path}
            </span>
            {f.binary ? (
              <span className="diff-binary">binary</span>
            ) : (
              <>
                <span className="insertions">+{f.insertions}</span>
                <span className="deletions">−{f.deletions}</span>
              </>
            )}
          </li>
        ))}
        {more > 0 && <li className="diff-more">and {more} more</li>}
      </ul>
      {diff.omitted && <p className="diff-note">The patch was too large to keep; only this summary exists.</p>}
      <div className="diff-actions">
        <vscode-button secondary icon="diff" disabled={diff.omitted || open.busy} onClick={() => void open.run(() => runboard.openDiff(diff.run_id))}>
          Open Diff
        </vscode-button>
        <vscode-button
          icon="check-all"
          disabled={diff.omitted || apply.busy}
          onClick={() =>
            void apply.run(async () => {
              setApplied(await runboard.applyDiff(diff.run_id));
            })
          }
        >
          Apply
        </vscode-button>
        {applied === true && <span role="status">Applied to the workspace.</span>}
      </div>
      {(open.error ?? apply.error) && (
        <p className="error" role="alert">
          {open.error ?? apply.error}
        </p>
      )}
    </div>
  );
}

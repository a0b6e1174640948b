import { useState } from 'react';
import { useAction, useRunboard } from '../hooks';

export function NewSessionForm({ onDone }: { onDone: () => void }) {
  const runboard = useRunboard();
  const [title, setTitle] = useState('');
  const [intent, setIntent] = useState('');
  const create = useAction();
  const submit = async () => {
    if (!title.trim()) return;
    if (await create.run(() => runboard.createSession(title.trim(), intent))) onDone();
  };
  return (
    <form
      className="new-session"
      aria-label="New session"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
      onKeyDown={(e) => {
        if (e.key === 'Escape') onDone();
      }}
    >
      <vscode-textfield
        className="new-session-title"
        label="Title"
        placeholder="Title, such as “Fix flaky tests”"
        value={title}
        autoFocus
        onInput={(e) => setTitle(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            void submit();
          }
        }}
      />
      <vscode-textarea
        className="new-session-intent"
        label="Intent"
        placeholder="What should this session achieve?"
        rows={2}
        value={intent}
        onInput={(e) => setIntent(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
            e.preventDefault();
            void submit();
          }
        }}
      />
      <div className="form-actions">
        <vscode-button icon="check" disabled={!title.trim() || create.busy} onClick={() => void submit()}>
          Create
        </vscode-button>
        <vscode-button secondary onClick={onDone}>
          Cancel
        </vscode-button>
      </div>
      {create.error && (
        <p className="error" role="alert">
          Could not create the session: {create.error}
        </p>
      )}
    </form>
  );
}

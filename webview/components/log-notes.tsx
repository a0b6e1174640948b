// What the log has to say under its toolbar: an action that failed, how many lines were copied, lines not kept.
export function LogNotes({ error, copied, dropped }: { error: string | null; copied: number | null; dropped: number }) {
  return (
    <>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {copied !== null && (
        <p className="log-note" role="status">
          Copied {copied} {copied === 1 ? 'line' : 'lines'}.
        </p>
      )}
      {dropped > 0 && <p className="log-note">{dropped.toLocaleString()} earlier lines are not kept here: Open as document shows the whole log.</p>}
    </>
  );
}

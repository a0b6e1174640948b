// What the log has to say under its toolbar: an action that failed, how many lines were copied or exported, lines not
// kept.
export function LogNotes({
  error,
  copied,
  exported,
  dropped,
}: {
  error: string | null;
  copied: number | null;
  exported: { lines: number; name: string | null } | null;
  dropped: number;
}) {
  const lines = (n: number) => `${n.toLocaleString('en-US')} ${n === 1 ? 'line' : 'lines'}`;
  return (
    <>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {copied !== null && (
        <p className="log-note" role="status">
          Copied {lines(copied)}.
        </p>
      )}
      {exported !== null && (
        <p className="log-note" role="status">
          Exported {lines(exported.lines)}
          {exported.name ? ` to ${exported.name}` : ''}.
        </p>
      )}
      {dropped > 0 && <p className="log-note">{dropped.toLocaleString()} earlier lines are not kept here: Open as document shows the whole log.</p>}
    </>
  );
}

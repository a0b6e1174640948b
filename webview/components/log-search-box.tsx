// The log's search box: the query, where the current match is among how many, previous and next.
import { modifierKey } from './icon';
import type { LogSearchState } from './use-log-search';

function countText({ needle, matches, current, capped }: LogSearchState): string {
  if (!needle) return '';
  return matches === 0 ? 'No results' : `${current >= 0 ? current + 1 : '?'} of ${matches}${capped ? '+' : ''}`;
}

export function LogSearchBox({ search, onEscape }: { search: LogSearchState; onEscape(): void }) {
  const { query, setQuery, step } = search;
  return (
    <>
      <vscode-textfield
        className="log-search"
        label="Search the log"
        placeholder={`Search log (${modifierKey}+F)`}
        value={query}
        onInput={(e) => setQuery(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' || e.key === 'F3') {
            e.preventDefault();
            step(e.shiftKey ? -1 : 1);
          } else if (e.key === 'Escape') {
            e.preventDefault();
            setQuery('');
            onEscape();
          }
        }}
      />
      <span className="log-count" role="status" aria-live="polite">
        {countText(search)}
      </span>
      <vscode-toolbar-button icon="arrow-up" label="Previous match (Shift+Enter)" title="Previous match (Shift+Enter)" onClick={() => step(-1)} />
      <vscode-toolbar-button icon="arrow-down" label="Next match (Enter)" title="Next match (Enter)" onClick={() => step(1)} />
    </>
  );
}

// The log's toolbar: search, copy, export (text or JSON, through the editor's save dialog), the whole log as a
// document, and whether new lines scroll into view.
import type { Run } from '../../domain';
import { LogSearchBox } from './log-search-box';
import { PopupMenu } from './popup-menu';
import type { LogSearchState } from './use-log-search';

interface LogToolbarProps {
  run: Run;
  search: LogSearchState;
  follow: boolean;
  /** Escape in the search box: the focus goes back to the log */
  onSearchEscape(): void;
  onCopy(): void;
  onOpen(): void;
  onExport(format: 'text' | 'json'): void;
  onJumpToEnd(): void;
}

export function LogToolbar({ run, search, follow, onSearchEscape, onCopy, onOpen, onExport, onJumpToEnd }: LogToolbarProps) {
  return (
    <div className="log-toolbar" role="toolbar" aria-label={`Log of run #${run.seq}`}>
      <LogSearchBox search={search} onEscape={onSearchEscape} />
      <span className="toolbar-gap" />
      <vscode-toolbar-button icon="copy" label="Copy log" title="Copy log" onClick={onCopy} />
      <PopupMenu
        className="log-export"
        icon="export"
        label="Export log"
        items={[
          { label: 'As Text…', run: () => onExport('text') },
          { label: 'As JSON…', run: () => onExport('json') },
        ]}
      />
      <vscode-toolbar-button icon="go-to-file" label="Open as document" title="Open as document" onClick={onOpen} />
      {follow ? (
        <span className="log-following" title="New lines scroll into view; scroll up to stop">
          following
        </span>
      ) : (
        <vscode-button secondary icon="fold-down" className="log-jump" onClick={onJumpToEnd}>
          Jump to end
        </vscode-button>
      )}
    </div>
  );
}

// A small menu behind a toolbar button (a lane's "…", the log's Export): the page's own, drawn with the editor's menu
// colors, walked with the keyboard (arrows, Enter, Escape) and closed by a click elsewhere.
import { useEffect, useRef, useState } from 'react';

export interface MenuItem {
  label: string;
  run(): void;
}

export function PopupMenu({ icon, label, items, className }: { icon: string; label: string; items: MenuItem[]; className?: string }) {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLSpanElement>(null);

  useEffect(() => {
    if (!open) return;
    root.current?.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
    const away = (e: MouseEvent) => {
      if (!root.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', away);
    return () => document.removeEventListener('mousedown', away);
  }, [open]);

  const choose = (item: MenuItem) => {
    setOpen(false);
    item.run();
  };

  return (
    <span className={`popup-menu${className ? ` ${className}` : ''}`} ref={root}>
      <vscode-toolbar-button icon={icon} label={label} title={label} aria-haspopup="menu" aria-expanded={open} onClick={() => setOpen((o) => !o)} />
      {open && (
        <ul
          className="popup-menu-items"
          role="menu"
          aria-label={label}
          onKeyDown={(e) => {
            const entries = Array.from(e.currentTarget.querySelectorAll<HTMLElement>('[role="menuitem"]'));
            const at = entries.indexOf(document.activeElement as HTMLElement);
            if (e.key === 'Escape') {
              e.preventDefault();
              setOpen(false);
            } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
              e.preventDefault();
              entries[(at + (e.key === 'ArrowDown' ? 1 : entries.length - 1)) % entries.length]?.focus();
            }
          }}
        >
          {items.map((item) => (
            <li
              key={item.label}
              role="menuitem"
              tabIndex={-1}
              onClick={() => choose(item)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' || e.key === ' ') {
                  e.preventDefault();
                  choose(item);
                }
              }}
            >
              {item.label}
            </li>
          ))}
        </ul>
      )}
    </span>
  );
}

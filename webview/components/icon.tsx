// A codicon in the page's own DOM (the codicon stylesheet is loaded by the page).
export function Icon({ name, spin = false, label }: { name: string; spin?: boolean; label?: string }) {
  const className = `codicon codicon-${name}${spin ? ' codicon-modifier-spin' : ''}`;
  return label ? <span className={className} role="img" aria-label={label} title={label} /> : <span className={className} aria-hidden="true" />;
}

/** "Ctrl" or "⌘", as the user's keyboard says it. */
export const modifierKey = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform) ? '⌘' : 'Ctrl';

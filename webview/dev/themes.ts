// A few of VS Code's theme variables for the dev harness, which has no editor to inject them. Values follow VS Code's
// Light Modern, Dark Modern and High Contrast themes; VS Code itself sets several hundred.
export type ThemeName = 'light' | 'dark' | 'high-contrast';

const shared = {
  'font-family': 'system-ui, -apple-system, "Segoe UI", "Ubuntu", sans-serif',
  'font-size': '13px',
  'font-weight': 'normal',
  'editor-font-family': '"Droid Sans Mono", "monospace", monospace',
  'editor-font-size': '12px',
};

const themes: Record<ThemeName, Record<string, string>> = {
  light: {
    foreground: '#3b3b3b', descriptionForeground: '#717171', errorForeground: '#f85149', disabledForeground: '#a0a0a0',
    focusBorder: '#005fb8', 'editor-background': '#ffffff', 'editor-foreground': '#3b3b3b', 'sideBar-background': '#f8f8f8',
    'panel-border': '#e5e5e5', 'widget-border': '#e5e5e5', 'input-background': '#ffffff', 'input-foreground': '#3b3b3b',
    'input-border': '#cecece', 'input-placeholderForeground': '#767676', 'button-background': '#005fb8', 'button-foreground': '#ffffff',
    'button-hoverBackground': '#0258a8', 'button-secondaryBackground': '#e5e5e5', 'button-secondaryForeground': '#3b3b3b',
    'button-secondaryHoverBackground': '#cccccc', 'button-border': '#0000001a', 'dropdown-background': '#ffffff', 'dropdown-border': '#cecece',
    'dropdown-foreground': '#3b3b3b', 'dropdown-listBackground': '#ffffff', 'badge-background': '#cccccc', 'badge-foreground': '#3b3b3b',
    'list-hoverBackground': '#f2f2f2', 'list-inactiveSelectionBackground': '#e4e6f1', 'list-activeSelectionBackground': '#e8e8e8',
    'checkbox-background': '#f8f8f8', 'checkbox-border': '#cecece', 'progressBar-background': '#005fb8',
    'terminal-background': '#ffffff', 'terminal-foreground': '#3b3b3b', 'toolbar-hoverBackground': '#b8b8b850',
    'editor-findMatchBackground': '#a8ac94', 'editor-findMatchHighlightBackground': '#ea5c0055', 'editorWarning-foreground': '#bf8803',
    'testing-iconPassed': '#388a34', 'testing-iconFailed': '#f14c4c', 'textLink-foreground': '#005fb8',
    'gitDecoration-addedResourceForeground': '#587c0c', 'gitDecoration-deletedResourceForeground': '#ad0707', 'gitDecoration-modifiedResourceForeground': '#895503',
    'terminal-ansiBlack': '#000000', 'terminal-ansiRed': '#cd3131', 'terminal-ansiGreen': '#107c10', 'terminal-ansiYellow': '#949800',
    'terminal-ansiBlue': '#0451a5', 'terminal-ansiMagenta': '#bc05bc', 'terminal-ansiCyan': '#0598bc', 'terminal-ansiWhite': '#555555',
    'terminal-ansiBrightBlack': '#666666', 'terminal-ansiBrightRed': '#cd3131', 'terminal-ansiBrightGreen': '#14ce14',
    'terminal-ansiBrightYellow': '#b5ba00', 'terminal-ansiBrightBlue': '#0451a5', 'terminal-ansiBrightMagenta': '#bc05bc',
    'terminal-ansiBrightCyan': '#0598bc', 'terminal-ansiBrightWhite': '#a5a5a5',
  },
  dark: {
    foreground: '#cccccc', descriptionForeground: '#9d9d9d', errorForeground: '#f85149', disabledForeground: '#6e7681',
    focusBorder: '#0078d4', 'editor-background': '#1f1f1f', 'editor-foreground': '#cccccc', 'sideBar-background': '#181818',
    'panel-border': '#2b2b2b', 'widget-border': '#313131', 'input-background': '#313131', 'input-foreground': '#cccccc',
    'input-border': '#3c3c3c', 'input-placeholderForeground': '#989898', 'button-background': '#0078d4', 'button-foreground': '#ffffff',
    'button-hoverBackground': '#026ec1', 'button-secondaryBackground': '#313131', 'button-secondaryForeground': '#cccccc',
    'button-secondaryHoverBackground': '#3c3c3c', 'button-border': '#ffffff12', 'dropdown-background': '#313131', 'dropdown-border': '#3c3c3c',
    'dropdown-foreground': '#cccccc', 'dropdown-listBackground': '#1f1f1f', 'badge-background': '#616161', 'badge-foreground': '#f8f8f8',
    'list-hoverBackground': '#2a2d2e', 'list-inactiveSelectionBackground': '#37373d', 'list-activeSelectionBackground': '#04395e',
    'checkbox-background': '#313131', 'checkbox-border': '#3c3c3c', 'progressBar-background': '#0078d4',
    'terminal-background': '#181818', 'terminal-foreground': '#cccccc', 'toolbar-hoverBackground': '#5a5d5e50',
    'editor-findMatchBackground': '#9e6a03', 'editor-findMatchHighlightBackground': '#ea5c0055', 'editorWarning-foreground': '#cca700',
    'testing-iconPassed': '#73c991', 'testing-iconFailed': '#f14c4c', 'textLink-foreground': '#4daafc',
    'gitDecoration-addedResourceForeground': '#81b88b', 'gitDecoration-deletedResourceForeground': '#c74e39', 'gitDecoration-modifiedResourceForeground': '#e2c08d',
    'terminal-ansiBlack': '#000000', 'terminal-ansiRed': '#cd3131', 'terminal-ansiGreen': '#0dbc79', 'terminal-ansiYellow': '#e5e510',
    'terminal-ansiBlue': '#2472c8', 'terminal-ansiMagenta': '#bc3fbc', 'terminal-ansiCyan': '#11a8cd', 'terminal-ansiWhite': '#e5e5e5',
    'terminal-ansiBrightBlack': '#666666', 'terminal-ansiBrightRed': '#f14c4c', 'terminal-ansiBrightGreen': '#23d18b',
    'terminal-ansiBrightYellow': '#f5f543', 'terminal-ansiBrightBlue': '#3b8eea', 'terminal-ansiBrightMagenta': '#d670d6',
    'terminal-ansiBrightCyan': '#29b8db', 'terminal-ansiBrightWhite': '#e5e5e5',
  },
  'high-contrast': {
    foreground: '#ffffff', descriptionForeground: '#ffffffb3', errorForeground: '#f48771', disabledForeground: '#a5a5a5',
    focusBorder: '#f38518', contrastBorder: '#6fc3df', contrastActiveBorder: '#f38518', 'editor-background': '#000000',
    'editor-foreground': '#ffffff', 'sideBar-background': '#000000', 'panel-border': '#6fc3df', 'input-background': '#000000',
    'input-foreground': '#ffffff', 'input-border': '#6fc3df', 'input-placeholderForeground': '#ffffffb3', 'button-background': '#000000',
    'button-foreground': '#ffffff', 'button-border': '#6fc3df', 'button-secondaryBackground': '#000000', 'button-secondaryForeground': '#ffffff',
    'dropdown-background': '#000000', 'dropdown-border': '#6fc3df', 'dropdown-foreground': '#ffffff', 'dropdown-listBackground': '#000000',
    'badge-background': '#000000', 'badge-foreground': '#ffffff', 'list-hoverBackground': '#000000', 'list-inactiveSelectionBackground': '#000000',
    'checkbox-background': '#000000', 'checkbox-border': '#6fc3df', 'progressBar-background': '#6fc3df', 'terminal-background': '#000000',
    'terminal-foreground': '#ffffff', 'editor-findMatchBackground': '#00000000', 'editor-findMatchBorder': '#f38518',
    'editor-findMatchHighlightBackground': '#00000000', 'editor-findMatchHighlightBorder': '#f38518', 'editorWarning-foreground': '#ffd370',
    'testing-iconPassed': '#73c991', 'testing-iconFailed': '#f48771', 'textLink-foreground': '#21a6ff',
    'gitDecoration-addedResourceForeground': '#a1e3ad', 'gitDecoration-deletedResourceForeground': '#c74e39', 'gitDecoration-modifiedResourceForeground': '#e2c08d',
    'terminal-ansiBlack': '#000000', 'terminal-ansiRed': '#cd0000', 'terminal-ansiGreen': '#00cd00', 'terminal-ansiYellow': '#cdcd00',
    'terminal-ansiBlue': '#0000ee', 'terminal-ansiMagenta': '#cd00cd', 'terminal-ansiCyan': '#00cdcd', 'terminal-ansiWhite': '#e5e5e5',
    'terminal-ansiBrightBlack': '#7f7f7f', 'terminal-ansiBrightRed': '#ff0000', 'terminal-ansiBrightGreen': '#00ff00',
    'terminal-ansiBrightYellow': '#ffff00', 'terminal-ansiBrightBlue': '#5c5cff', 'terminal-ansiBrightMagenta': '#ff00ff',
    'terminal-ansiBrightCyan': '#00ffff', 'terminal-ansiBrightWhite': '#ffffff',
  },
};

const bodyClasses: Record<ThemeName, string> = { light: 'vscode-light', dark: 'vscode-dark', 'high-contrast': 'vscode-high-contrast' };

/** Sets the theme the way VS Code does: variables on the root element (through CSSOM, which the CSP allows), a body class. */
export function applyTheme(name: ThemeName): void {
  const root = document.documentElement.style;
  const t = themes[name];
  // VS Code derives these settings-editor colors from the input and dropdown ones; @vscode-elements reads them.
  const derived = {
    'settings-textInputBackground': t['input-background'],
    'settings-textInputForeground': t['input-foreground'],
    'settings-textInputBorder': t['input-border'],
    'settings-dropdownBackground': t['dropdown-background'],
    'settings-dropdownForeground': t['dropdown-foreground'],
    'settings-dropdownBorder': t['dropdown-border'],
    'settings-dropdownListBorder': t['dropdown-border'],
    'checkbox-foreground': t['foreground'],
    'list-activeSelectionForeground': t['foreground'],
  };
  for (const [key, value] of Object.entries({ ...shared, ...t, ...derived })) if (value) root.setProperty(`--vscode-${key}`, value);
  document.body.classList.add(bodyClasses[name]);
}

export function themeName(value: string | null): ThemeName {
  return value === 'light' || value === 'high-contrast' ? value : 'dark';
}

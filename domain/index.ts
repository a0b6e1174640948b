// The vocabulary every part of Ops Control Room shares: the engine, the CLI, the extension and the Runboard import it
// from here. Pure: no DOM, no `vscode`, no Node built-ins.
export * from './agent';
export * from './agent-cost';
export * from './agent-prices';
export * from './artifact';
export * from './event';
export * from './format';
export * from './run';
export * from './session';
export * from './step';
export * from './text';
export * from './worker';
export * from './runbook';
export * from './compare';
export * from './conflict';

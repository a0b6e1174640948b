// The tools other agents get, in the order they are listed: look first (sessions, runs, logs), then act.
import { cancelRunTool } from './cancel-run';
import { getRunTool } from './get-run';
import { listSessionsTool } from './list-sessions';
import { queueRunTool } from './queue-run';
import { readLogTool } from './read-log';
import type { AgentTool } from './tool';

export const agentTools: readonly AgentTool[] = [listSessionsTool, getRunTool, readLogTool, queueRunTool, cancelRunTool];

export type { AgentTool, Confirmation } from './tool';
export { errorText, inputJsonSchema } from './tool';

// Asking a person for what a runbook run needs, with VS Code's quick inputs: its inputs one by one (text and numbers in
// input boxes checked as they are typed, booleans and enums as picks, secrets in a password box, defaults filled in,
// required ones refusing empty), its lane, and for a run that acts on prod a modal confirmation.
import * as vscode from 'vscode';
import { type InputValues, type Runbook, type Session } from '../../domain';
import { laneState } from '../sessions/sessions-tree';
import type { SessionsModel } from '../sessions/sessions-model';
import { describeValues, initialText, inputChoices, inputName, inputTextProblem, inputTextValue } from './input-text';

/** The values a person gives for the runbook's inputs, or undefined when they backed out. */
export async function askInputValues(runbook: Runbook): Promise<InputValues | undefined> {
  const values: InputValues = {};
  const total = runbook.inputs.length;
  for (const [i, input] of runbook.inputs.entries()) {
    const title = `Run "${runbook.title}" (${i + 1}/${total}): ${inputName(input)}`;
    const prompt = [input.description, input.required ? 'required' : 'optional: leave it empty for none'].filter(Boolean).join(' · ');
    if (input.type === 'boolean' || input.type === 'enum') {
      const picked = await vscode.window.showQuickPick(inputChoices(input), { title, placeHolder: input.description ?? `Choose ${inputName(input)}`, ignoreFocusOut: true });
      if (!picked) return undefined;
      values[input.key] = picked.value;
      continue;
    }
    const text = await vscode.window.showInputBox({
      title,
      prompt,
      value: initialText(input),
      password: input.secret,
      placeHolder: input.type === 'number' ? 'a number' : undefined,
      ignoreFocusOut: true,
      validateInput: (t) => inputTextProblem(input, t),
    });
    if (text === undefined) return undefined;
    values[input.key] = inputTextValue(input, text);
  }
  return values;
}

/** A lane of the session: the runbook's own first. */
export async function pickRunbookLane(model: SessionsModel, session: Session, runbook: Runbook): Promise<string | undefined> {
  const lanes = runbook.lane && session.lanes.includes(runbook.lane) ? [runbook.lane, ...session.lanes.filter((l) => l !== runbook.lane)] : session.lanes;
  const items = lanes.map((lane) => ({
    label: `Lane ${lane}`,
    description: [lane === runbook.lane ? "the runbook's lane" : '', laneState(model.runs(session.id, lane))].filter(Boolean).join(' · '),
    lane,
  }));
  const picked = await vscode.window.showQuickPick(items, { title: `Run "${runbook.title}"`, placeHolder: `In which lane of "${session.title}"?`, ignoreFocusOut: true });
  return picked?.lane;
}

/** A modal that names the runbook, the lane and the inputs; true when the person goes ahead. */
export async function confirmProdRun(runbook: Runbook, session: Session, lane: string, values: InputValues): Promise<boolean> {
  const go = 'Run in Prod';
  const answer = await vscode.window.showWarningMessage(
    `Run "${runbook.title}" in prod?`,
    { modal: true, detail: `Runbook ${runbook.name}, lane ${lane} of "${session.title}".\nInputs: ${describeValues(runbook, values)}` },
    go,
  );
  return answer === go;
}

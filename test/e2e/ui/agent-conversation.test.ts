/// <reference types="mocha" />
// A coding agent's run on the Runboard, in a real VS Code: a run of the claude profile queued from a lane (the
// profile points at the fake claude CLI, which replays claude's stream-json and writes the file it is asked to edit)
// shows as a conversation — the agent's message, its tool call with the output, the file it edited as a link that
// opens that file's diff in VS Code's diff editor, the tokens and cost — and the Raw toggle shows the JSON lines the
// CLI printed. Runs in two more lanes end needing the person: one denied a tool, one asking a question. The extension's own worker runs it. The screenshot docs/runboard-agent.png is taken here.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../harness/paths';
import { until } from '../until';
import { expectText } from './expect';
import { Runboard } from './pages/runboard';
import { useTestDatabase } from './test-database';
import { extensionId, useVsCode } from './vscode-session';

const docsDir = path.join(repoRoot, 'docs');
const fakeClaude = path.join(repoRoot, 'worker', 'agents', 'fixtures', 'fake-cli', 'claude');

describe('Runboard: a coding agent’s run as a conversation', function () {
  this.timeout(240_000);
  useTestDatabase('ocr_ui_agent');
  const vscode = useVsCode('agent-conversation', {
    settings: {
      'ocr.agents.profiles': { claude: { cli: 'claude', program: fakeClaude } },
      'ocr.defaultExecutor': 'claude',
    },
  });

  let runboard: Runboard;

  it('queues "edit notes.md" with the claude profile from a lane, and shows the run as a conversation', async () => {
    const { page, workbench } = vscode();
    await page.setViewportSize({ width: 1440, height: 900 });
    await workbench.commandPalette.run('View: Close Primary Side Bar');
    await workbench.commandPalette.run('OCR: Open Runboard');
    await workbench.editorTab('Runboard').waitFor({ timeout: 30_000 });
    runboard = new Runboard(await workbench.webview(extensionId, 'Runboard'));
    await runboard.newSession('Release notes', 'Let a coding agent write the notes');
    await until('the lanes', async () => (await runboard.lanes().count()) === 4);

    const a = runboard.lane('A');
    // the claude profile is the lanes' executor: the setting puts it first
    await a.run('edit notes.md');
    await expectText(a.card().locator('.run-meta'), 'claude', 30_000);
    // two more for the picture: an agent denied a tool, and one that ends with a question
    await runboard.lane('B').run('deny Bash');
    await runboard.lane('C').run('ask');
    for (const lane of ['A', 'B', 'C']) {
      await until(`lane ${lane}'s agent run to succeed`, async () => (await runboard.lane(lane).status()) === 'succeeded', 120_000);
    }

    const conversation = a.conversation();
    await expectText(conversation.locator('.agent-message.assistant'), 'Done.', 30_000);
    const tool = conversation.locator('.agent-tool', { hasText: 'Write: notes.md' });
    await tool.locator('button.agent-toggle').click();
    await expectText(tool.locator('.agent-output'), /File created successfully at: .*notes\.md/);
    await expectText(conversation.locator('.agent-usage'), /tokens in .* out · \$0\.01/);
    await expectText(a.agentFigures().locator('.agent-cost'), '$0.01 reported', 30_000);
    await expectText(a.laneCost(), '$0.01');

    // what the others need from the person: on the card, and highlighted in the conversation
    const b = runboard.lane('B');
    await expectText(b.card().locator('.agent-needs-input'), /needs input\s+denied Bash/, 30_000);
    await expectText(b.conversation().locator('.agent-denied'), /Denied Bash/);
    await expectText(runboard.lane('C').card().locator('.agent-needs-input'), 'Which of the two cart modules should I change?', 30_000);
    // three runs at the fake's $0.0123 each
    await expectText(runboard.webview.locator('.session-cost'), '$0.04');

    // the picture for the README: the conversation with the tool's output open
    await workbench.commandPalette.run('Notifications: Clear All Notifications');
    mkdirSync(docsDir, { recursive: true });
    await page.waitForTimeout(300);
    await page.locator('.part.editor').screenshot({ path: path.join(docsDir, 'runboard-agent.png') });
    console.log(`      screenshot: ${path.relative(process.cwd(), path.join(docsDir, 'runboard-agent.png'))}`);
  });

  it('opens the diff of the edited file from its link', async () => {
    const { page } = vscode();
    await runboard.lane('A').conversation().locator('.agent-file-edit a', { hasText: 'notes.md' }).click();
    await page.locator('.part.editor .tab', { hasText: /^notes\.md \(Lane A — run [0-9a-f]{8}\)/ }).waitFor({ timeout: 30_000 });
    await expectText(page.locator('.part.editor .monaco-diff-editor .editor.modified .view-lines').first(), /edited\sby\sfake\sclaude/, 30_000); // the editor renders spaces as non-breaking ones
  });

  it('shows the raw JSON lines the CLI printed one click away', async () => {
    const { page, workbench } = vscode();
    await workbench.editorTab('Runboard').click();
    await page.locator('.part.editor .tab.active', { hasText: 'Runboard' }).waitFor({ timeout: 15_000 });
    runboard = new Runboard(await workbench.webview(extensionId, 'Runboard'));
    const a = runboard.lane('A');
    await a.showAs('Raw');
    await until('the raw stream-json lines', async () => {
      const texts = await a.logTexts();
      return texts.some((t) => t.startsWith('{"type":"system","subtype":"init"')) && texts.some((t) => t.startsWith('{"type":"result","subtype":"success"'));
    }, 30_000);
    assert.equal(await a.conversation().count(), 0);
    await a.showAs('Conversation');
    await expectText(a.conversation().locator('.agent-message.assistant'), 'Done.');
  });

  it('shows in the Sessions tree what each agent run cost, and marks the ones that need input', async () => {
    const { workbench } = vscode();
    await workbench.activityBar.open('Ops Control Room');
    const sessions = workbench.sideBar.view('Sessions');
    await expectText(sessions.rows().filter({ hasText: 'edit notes.md' }).first(), /succeeded · \$0\.01 reported/, 60_000);
    const denied = sessions.rows().filter({ hasText: 'deny Bash' }).first();
    await expectText(denied, /needs input · denied Bash · \$0\.01 reported/);
    assert.equal(await denied.locator('.codicon-bell-dot').count(), 1);
    await expectText(sessions.rows().filter({ hasText: /^\s*ask/ }).first(), /needs input · Which of the two cart modules/);
    await expectText(sessions.rows().filter({ hasText: 'Lane B' }).first(), /idle · last needs input/);
  });
});

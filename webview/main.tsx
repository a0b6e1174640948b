// The Runboard page: register the elements, connect to the editor, render.
import './zod-config';
import './elements';
import './styles/runboard.css';
import { createRoot } from 'react-dom/client';
import { RunboardApp } from './components/app';
import { Runboard } from './runboard';
import { vscodeApi } from './vscode';

const runboard = new Runboard(vscodeApi(), window);
const root = document.getElementById('root') ?? document.body.appendChild(document.createElement('div'));
createRoot(root).render(<RunboardApp runboard={runboard} />);
// Save the scroll positions before a reload takes the page away.
window.addEventListener('pagehide', () => runboard.view.flush());
runboard.start();

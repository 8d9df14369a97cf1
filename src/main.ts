// Mounts the app, and warns before the page goes while a stage trains (its newest steps may not be autosaved yet).
import { mount } from 'svelte';
import App from './ui/App.svelte';
import { engine } from './ui/engine.svelte';
import './ui/app.css';

mount(App, { target: document.getElementById('app')! });

window.addEventListener('beforeunload', (event) => {
  if (!engine.unsavedRun) return;
  event.preventDefault();
  event.returnValue = ''; // older browsers need it set to show the prompt
});

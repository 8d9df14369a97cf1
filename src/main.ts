import { mount } from 'svelte';
import App from './ui/App.svelte';
import { engine } from './ui/engine.svelte';
import './ui/app.css';

// The engine client, for the browser console and the browser tests: `await playground.api.status()`.
(window as unknown as { playground: typeof engine }).playground = engine;

mount(App, { target: document.getElementById('app')! });

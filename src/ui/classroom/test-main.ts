// Entry of classroom-test.html: the lecturer's ClassroomPanel on a fake engine with canned tasks, for the browser
// test until the real engine is wired in. `window.classroomTest` exposes the engine and the host.
import { mount } from 'svelte';
import ClassroomPanel from './ClassroomPanel.svelte';
import { FakeClassroomEngine } from '../../classroom/fakeEngine';
import type { ClassroomHost } from '../../classroom/host';
import '../app.css';

const engine = new FakeClassroomEngine(50);
const state: { engine: FakeClassroomEngine; host: ClassroomHost | null } = { engine, host: null };
(window as unknown as { classroomTest: typeof state }).classroomTest = state;

mount(ClassroomPanel, {
  target: document.getElementById('app')!,
  props: { engine, k: 3, onhost: (h: ClassroomHost | null) => (state.host = h) },
});

/**
 * The UI's side of the lessons: the list (from the engine, at the sizes for its model), the lesson open in
 * the worker as its 'lesson' events tell, and run / stop / step on it. The open lesson's status also goes
 * into the engine's stage statuses under `lesson:<id>`, so that the runs panel and the leave-page guard see it.
 */
import type { LessonInfo, LessonSizeName, LessonView } from '../../lib/types';
import { engine } from '../engine.svelte';

const SIZES: readonly LessonSizeName[] = ['tiny', 'mini', 'mini-cpu', 'quick'];

export class LessonsClient {
  list = $state<LessonInfo[]>([]);
  view = $state<LessonView | null>(null);
  /** Sizes asked for in the address (`?lessonSizes=quick`, for tests); else the engine's choice for the model. */
  sizes = $state<LessonSizeName | undefined>(undefined);
  busy = $state(false);

  constructor() {
    engine.listen((e) => {
      if (e.type === 'lesson') this.show(e.lesson);
      if (e.type === 'model') void this.load();
    });
  }

  setSizes(name: string | null): void {
    this.sizes = SIZES.includes(name as LessonSizeName) ? (name as LessonSizeName) : undefined;
  }

  /** The list and the open lesson, read again (when the view opens, and after a new model). */
  async load(): Promise<void> {
    const sizes = this.sizes;
    const [list, view] = await Promise.all([engine.attempt((api) => api.lessons(sizes)), engine.attempt((api) => api.lesson())]);
    if (list.ok) this.list = list.value;
    if (view.ok) this.view = view.value;
  }

  /** The open lesson's view when it is lesson `id`. */
  viewOf(id: string): LessonView | null {
    return this.view?.id === id ? this.view : null;
  }

  run(id: string): Promise<void> {
    return this.act(() => engine.call((api) => api.runLesson(id, this.sizes)));
  }

  step(id: string): Promise<void> {
    return this.act(() => engine.call((api) => api.stepLesson(id, this.sizes)));
  }

  stop(): Promise<void> {
    return this.act(() => engine.call((api) => api.pauseLesson()));
  }

  private async act(action: () => Promise<unknown>): Promise<void> {
    this.busy = true;
    await action();
    this.busy = false;
  }

  private show(view: LessonView): void {
    this.view = view;
    if (engine.status) engine.status.stages[view.stage] = view.status;
  }
}

export const lessons = new LessonsClient();

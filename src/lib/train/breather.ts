/**
 * Lets the event loop run during long work: a worker answers the page (a task, a stored ranking, a pause)
 * only between macrotasks, and tfjs kernels on wasm or cpu never yield on their own.
 */

/** The longest a long phase holds the event loop before it lets messages through (a setTimeout costs ~1-4 ms). */
export const BREATHE_MS = 50;

/** A function to await often: it yields (setTimeout 0) once `everyMs` have passed since it last did, else returns at once. */
export function breather(everyMs = BREATHE_MS): () => Promise<void> {
  let last = performance.now();
  return async () => {
    if (performance.now() - last < everyMs) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
    last = performance.now();
  };
}

/**
 * How long one part of a training step may hold the thread when the step is split (gradient accumulation, in the
 * app): a pause and a ranking then get through within about this long, at a small cost in speed on wasm.
 */
export const PART_MS = 250;

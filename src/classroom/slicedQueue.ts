/**
 * A work queue drained in short slices (a few ms each, then the event loop gets a turn), so a burst of student
 * messages or a flood of garbage never holds the lecturer's main thread for long.
 */

export class SlicedQueue<T> {
  private readonly items: T[] = [];
  private head = 0;
  private scheduled = false;
  private held = false;
  /** ms spent handling items, all slices together */
  busyMs = 0;

  constructor(
    private readonly handle: (item: T) => void,
    private readonly sliceMs = 8,
    private readonly onSliceDone: () => void = () => {},
    /** runs each slice, e.g. inside one Yjs transaction so a slice's writes go out as one update */
    private readonly runSlice: (work: () => void) => void = (work) => work(),
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
    this.schedule();
  }

  /** Stops draining (items wait) until release(). */
  hold(): void {
    this.held = true;
  }

  release(): void {
    this.held = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.held || this.length === 0) return;
    this.scheduled = true;
    setTimeout(() => this.drainSlice(), 0);
  }

  private drainSlice(): void {
    this.scheduled = false;
    const start = performance.now();
    const end = start + this.sliceMs;
    this.runSlice(() => {
      while (!this.held && this.length > 0 && performance.now() < end) this.handle(this.items[this.head++]);
    });
    this.busyMs += performance.now() - start;
    this.compact();
    this.onSliceDone();
    this.schedule();
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
  }
}

/** A counting semaphore: at most `size` holders at once, waiters served in order. */
export class Semaphore {
  #free: number;
  readonly #size: number;
  readonly #waiters: Array<() => void> = [];

  constructor(size: number) {
    this.#size = size;
    this.#free = size;
  }

  /** Number of holders now. */
  get held(): number {
    return this.#size - this.#free;
  }

  /** Free slots now. */
  get available(): number {
    return this.#free;
  }

  /** Resolves once a slot is free, without taking it. */
  async whenAvailable(): Promise<void> {
    if (this.#free > 0) return;
    await this.acquire();
    this.release();
  }

  acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#free++;
  }
}

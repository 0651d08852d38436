/** Where an outbox delivers: a MessagePort, a Worker. */
export interface MessageTarget {
  postMessage(value: unknown, transferList?: readonly ArrayBuffer[]): void;
}

/**
 * Collects the messages of one event-loop turn and posts them together. Each postMessage wakes
 * the other thread; with many small files in flight, the messages of one turn (a batch of socket
 * reads finishing several transfers) would otherwise cost a wake-up each. The batch leaves in the
 * same turn's check phase (setImmediate), so nothing waits longer than the turn it was made in.
 */
export class MessageOutbox<M> {
  readonly #target: MessageTarget;
  #messages: M[] = [];
  #transfer: ArrayBuffer[] = [];
  #scheduled = false;
  readonly #flush = () => this.flush();

  constructor(target: MessageTarget) {
    this.#target = target;
  }

  post(message: M, transfer?: readonly ArrayBuffer[]): void {
    this.#messages.push(message);
    if (transfer !== undefined) this.#transfer.push(...transfer);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#flush);
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#messages.length === 0) return;
    const messages = this.#messages;
    const transfer = this.#transfer;
    this.#messages = [];
    this.#transfer = [];
    this.#target.postMessage(messages, transfer);
  }
}

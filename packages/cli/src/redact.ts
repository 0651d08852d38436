import type { Redactor } from '@nectar/core/backend';
import { printable } from './format.js';

// What is secret — URL passwords, token query parameters, the literal secrets of a command line —
// is core's to say (its Redactor and redactText); the CLI makes sure every line goes through it.
export { redactText } from '@nectar/core';

export type LineWriter = (line: string) => void;

/** Writes whole lines to a stream: masked, and printable (a hostile name cannot move the cursor). */
export function lineWriter(stream: NodeJS.WritableStream, redactor: Redactor): LineWriter {
  return (line) => {
    stream.write(`${printable(redactor.text(line))}\n`);
  };
}

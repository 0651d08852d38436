import type { Redactor } from '@nectar/core/backend';
import { printable } from './format.js';
import { type LineStyle, styled } from './style.js';

// What is secret — URL passwords, token query parameters, the literal secrets of a command line —
// is core's to say (its Redactor and redactText); the CLI makes sure every line goes through it.
export { redactText } from '@nectar/core';

export type LineWriter = (line: string, style?: LineStyle) => void;

/**
 * Writes whole lines to a stream: masked, and printable (a hostile name cannot move the cursor);
 * then styled, when `colours` (a terminal that takes them).
 */
export function lineWriter(stream: NodeJS.WritableStream, redactor: Redactor, colours = false): LineWriter {
  return (line, style) => {
    stream.write(`${styled(printable(redactor.text(line)), style, colours)}\n`);
  };
}

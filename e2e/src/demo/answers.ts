// What the demo expects of the verifier's two answers; a different answer fails the demo.

/** An answer that is not the one the demo explains: the demo fails with this message. */
export class UnexpectedAnswer extends Error {}

export interface Answer {
  readonly status: number;
  readonly body: string;
}

/** The signed image: 200 and one patch pinning the tag to the digest that was signed. */
export function checkSigned(answer: Answer, pinned: string): void {
  let results: unknown;
  try {
    results = (JSON.parse(answer.body) as { results?: unknown }).results;
  } catch {
    results = undefined;
  }
  const expected = [{ op: 'replace', path: '/spec/containers/0/image', value: pinned }];
  if (answer.status !== 200 || JSON.stringify(results) !== JSON.stringify(expected)) {
    throw new UnexpectedAnswer(
      `expected HTTP 200 with the patch ${JSON.stringify(expected)} for the signed image, got HTTP ${answer.status}: ${answer.body.trim()}`,
    );
  }
}

/** The unsigned image: 406 saying that there is no signature. */
export function checkUnsigned(answer: Answer): void {
  if (answer.status !== 406 || !answer.body.includes('no notation signature found')) {
    throw new UnexpectedAnswer(`expected HTTP 406 "no notation signature found" for the unsigned image, got HTTP ${answer.status}: ${answer.body.trim()}`);
  }
}

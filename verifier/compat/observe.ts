// What a Kyverno policy observes of a /checkimages answer (Kyverno's apiCall: a status outside 200–299
// fails the rule with the body as its message; a 200 body's `results` become the JSON patches).
export interface Observation {
  /** The HTTP status, or `reset` when the connection was dropped without an answer. */
  readonly status: number | 'reset';
  readonly admitted: boolean;
  /** The `results` patches of a 200, sorted by path (the original's order within a group is random). */
  readonly patches: readonly Patch[];
  /** The body of a non-200 (the message Kyverno reports), trimmed. */
  readonly message: string;
}

export interface Patch {
  readonly op: string;
  readonly path: string;
  readonly value: string;
}

export interface Call {
  readonly method?: string;
  /** A value is sent as JSON with Kyverno's trailing newline; a string is sent as it is. */
  readonly body?: unknown;
  /** Authorization header: Kyverno's token (default), none, or this exact value. */
  readonly authorization?: string | null;
}

export async function observe(url: string, call: Call, kyvernoToken: string): Promise<Observation> {
  const method = call.method ?? 'POST';
  const headers: Record<string, string> = {};
  const authorization = call.authorization === undefined ? `Bearer ${kyvernoToken}` : call.authorization;
  if (authorization !== null) headers.authorization = authorization;
  const body = method === 'GET' || method === 'HEAD' ? undefined : typeof call.body === 'string' ? call.body : `${JSON.stringify(call.body)}\n`;
  let res: Response;
  try {
    res = await fetch(`${url}/checkimages`, { method, headers, ...(body !== undefined && { body }), signal: AbortSignal.timeout(120_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === 'UND_ERR_SOCKET' || cause?.code === 'ECONNRESET' || /other side closed|socket/i.test(cause?.message ?? '')) {
      return { status: 'reset', admitted: false, patches: [], message: '' };
    }
    throw err;
  }
  const text = await res.text();
  if (res.status !== 200) return { status: res.status, admitted: false, patches: [], message: text.trim() };
  const json = JSON.parse(text) as { verified?: boolean; results?: Patch[] };
  const patches = [...(json.results ?? [])].map((p) => ({ op: p.op, path: p.path, value: p.value })).sort((a, b) => a.path.localeCompare(b.path));
  return { status: 200, admitted: json.verified === true, patches, message: '' };
}

// Kubernetes MicroTime (metav1.MicroTime: Lease acquireTime/renewTime, Event eventTime) on the wire.
// The API server parses it with the layout 2006-01-02T15:04:05.000000Z07:00, which takes exactly six
// fractional digits, while @kubernetes/client-node 1.x serialises a Date with toISOString() (three):
// "cannot parse .123Z as .000000", a 400 (kubernetes-client/javascript#828, docs/architecture.md "Test tiers").
// client-node passes strings through unchanged, so callers put this string in the object instead of
// a Date.

/** `instant` (a Date or epoch milliseconds; now by default) as a MicroTime: `2026-01-02T03:04:05.123000Z`. */
export function toMicroTime(instant: Date | number = Date.now()): string {
  // toISOString throws a RangeError for an invalid date; years past 9999 come out as "+010000-…",
  // which no Kubernetes time field accepts either, so both are refused here rather than by the server.
  const iso = new Date(instant).toISOString();
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(iso)) throw new RangeError(`${iso} is outside the years 0000-9999 of a MicroTime`);
  // Date has millisecond resolution, so the three extra digits are always zero.
  return `${iso.slice(0, -1)}000Z`;
}

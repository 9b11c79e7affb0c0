// Load shedding (--maxEventLoopDelay, --maxEventLoopUtilization, --maxHeapUsedBytes): under-pressure
// answers 503 + Retry-After, in the verifier's own words, while a limit is crossed. A plugin for the
// whole listener: a shed request is answered before anything else runs for it.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import underPressure from '@fastify/under-pressure';
import type { VerifierMetrics } from '../metrics.js';
import { sendText } from './reply.js';

export interface PressureLimits {
  readonly maxEventLoopDelayMs: number;
  /** A fraction of the last sample interval, 0-1. */
  readonly maxEventLoopUtilization: number;
  readonly maxHeapUsedBytes: number;
  /** How often under-pressure samples (ms); default 1000. Tests make it short. */
  readonly sampleIntervalMs?: number;
}

export interface LoadSheddingOptions {
  /** 0 disables one limit; all 0 or absent registers no shedding at all. */
  readonly limits?: PressureLimits | undefined;
  readonly metrics?: VerifierMetrics | undefined;
}

/** The reason of a shed request, in the words and units of the flag that set the limit. */
function pressureReason(type: string, value: number | undefined, limits: PressureLimits): string {
  const v = value ?? 0;
  switch (type) {
    case underPressure.TYPE_EVENT_LOOP_DELAY:
      return `event loop delay ${Math.round(v)} ms is above --maxEventLoopDelay=${limits.maxEventLoopDelayMs}`;
    case underPressure.TYPE_EVENT_LOOP_UTILIZATION:
      return `event loop utilisation ${v.toFixed(2)} is above --maxEventLoopUtilization=${limits.maxEventLoopUtilization}`;
    case underPressure.TYPE_HEAP_USED_BYTES:
      return `heap in use ${v} bytes is above --maxHeapUsedBytes=${limits.maxHeapUsedBytes}`;
    default:
      return `${type} ${v}`;
  }
}

/**
 * Whether under-pressure's value is a measurement above the limit. It reports an event-loop delay of
 * Infinity when its last sample interval held no sample at all (one block longer than the interval, e.g. a
 * slow start-up on a loaded node): that says the loop was blocked for about the interval (1 s by default),
 * not that the delay is above --maxEventLoopDelay (3 s by default), so such a request is not shed; the
 * next interval measures again.
 */
export function isMeasuredPressure(type: string, value: number | undefined): boolean {
  return !(type === underPressure.TYPE_EVENT_LOOP_DELAY && (value === undefined || !Number.isFinite(value)));
}

async function loadSheddingPlugin(app: FastifyInstance, { limits, metrics }: LoadSheddingOptions): Promise<void> {
  if (!limits || (limits.maxEventLoopDelayMs <= 0 && limits.maxEventLoopUtilization <= 0 && limits.maxHeapUsedBytes <= 0)) return;
  await app.register(underPressure, {
    maxEventLoopDelay: limits.maxEventLoopDelayMs,
    maxEventLoopUtilization: limits.maxEventLoopUtilization,
    maxHeapUsedBytes: limits.maxHeapUsedBytes,
    // Utilisation of the last sample interval, not since start-up (under-pressure's default), so a
    // busy start does not shed for minutes afterwards.
    eventLoopUtilizationMode: 'interval',
    ...(limits.sampleIntervalMs !== undefined && { sampleInterval: limits.sampleIntervalMs }),
    // Our own answer instead of under-pressure's error: the caller and the log see which limit was
    // crossed, and the answer has the same shape as every other 503 (text, Retry-After).
    pressureHandler: (request, reply, type, value) => {
      // Returning without an answer lets the request go on (under-pressure calls the next hook).
      if (!isMeasuredPressure(type, value)) return;
      const reason = `the verifier is overloaded (${pressureReason(type, value, limits)}); retry shortly`;
      metrics?.observeRequest(503, 0, []);
      request.log.warn({ status: 503, shed: type, value }, reason);
      sendText(reply, 503, reason);
    },
  });
}

/** Sheds load on every route of the instance it is registered on. */
export const loadShedding = fp(loadSheddingPlugin, { name: 'kna-load-shedding', fastify: '5.x' });

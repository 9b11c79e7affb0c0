import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { operatorHandler } from './operators.js';

type Case = [key: unknown, operator: string, value: unknown, expected: boolean];

// The cases of Kyverno's pkg/engine/variables/evaluate_test.go TestEvaluate (JSON-decoded, so
// Go's int/int64/float64 variants of a number are one case here) and of the operator package's
// *_test.go files. Expected values are Kyverno's.
const KYVERNO_CASES: Case[] = [
  // Equals
  ['string', 'Equals', 'string', true],
  [1, 'Equals', 1, true],
  [1.0, 'Equals', 1.0, true],
  [true, 'Equals', true, true],
  [false, 'Equals', false, true],
  ['1024', 'Equals', '1Ki', true],
  ['1Ki', 'Equals', '1024', true],
  ['1Gi', 'Equals', '1Gi', true],
  ['1Gi', 'Equals', '1024Mi', true],
  ['1h', 'Equals', '1h', true],
  ['1h', 'Equals', '60m', true],
  [{ foo: 'bar' }, 'Equals', { foo: 'bar' }, true],
  [['foo', 'bar'], 'Equals', ['foo', 'bar'], true],
  [[{ foo: 'bar' }], 'Equals', [{ foo: 'bar' }], true],
  ['string', 'Equals', 'not string', false],
  [1, 'Equals', 2, false],
  [1.0, 'Equals', 2.0, false],
  [true, 'Equals', false, false],
  [false, 'Equals', true, false],
  ['1Gi', 'Equals', '10Gi', false],
  ['10Gi', 'Equals', '1024Mi', false],
  ['1h', 'Equals', '5h', false],
  ['1h', 'Equals', '30m', false],
  ['string', 'Equals', 1, false],
  [1, 'Equals', '2', false],
  [1.0, 'Equals', '2.0', false],
  [true, 'Equals', 'false', false],
  [false, 'Equals', 'true', false],
  [{ foo: 'bar' }, 'Equals', { bar: 'foo' }, false],
  [['foo', 'bar'], 'Equals', ['bar', 'foo'], false],
  [[{ foo: 'bar' }], 'Equals', [{ bar: 'foo' }], false],
  ['1h', 'Equals', 3600, true],
  ['2h', 'Equals', 3600, false],
  ['1.5.2', 'Equals', '1.5.2', true],
  ['1.5.2', 'Equals', '1.5.*', true],
  ['1.5.0', 'Equals', '1.5.5', false],
  // equal_test.go
  [true, 'Equals', 'true', false],
  [42, 'Equals', 42.5, false],
  [42, 'Equals', '42', true],
  [42, 'Equals', 'invalid', false],
  [3.14, 'Equals', '3.14', true],
  [3.14, 'Equals', 'invalid', false],
  ['hello-world', 'Equals', 'hello-*', true],
  ['goodbye-world', 'Equals', 'hello-*', false],
  ['hello', 'Equals', 123, false],
  ['100Mi', 'Equals', '100Mi', true],
  ['100Mi', 'Equals', '200Mi', false],
  [{ foo: 'bar' }, 'Equals', 'not a map', false],
  [['a', 'b', 'c'], 'Equals', ['a', 'b'], false],
  [['a', 'b', 'c'], 'Equals', 'not a slice', false],
  [3.14, 'Equals', true, false],
  // NotEquals
  ['string', 'NotEquals', 'string', false],
  [1, 'NotEquals', 1, false],
  [true, 'NotEquals', false, true],
  [false, 'NotEquals', false, false],
  ['1024', 'NotEquals', '1Ki', false],
  ['1Ki', 'NotEquals', '1024', false],
  ['1023', 'NotEquals', '1Ki', true],
  ['1Ki', 'NotEquals', '1023', true],
  ['1Gi', 'NotEquals', '1Gi', false],
  ['10Gi', 'NotEquals', '1024Mi', true],
  ['1h', 'NotEquals', '1h', false],
  ['1h', 'NotEquals', '60m', false],
  [{ foo: 'bar' }, 'NotEquals', { foo: 'bar' }, false],
  [['foo', 'bar'], 'NotEquals', ['foo', 'bar'], false],
  [[{ foo: 'bar' }], 'NotEquals', [{ foo: 'bar' }], false],
  ['string', 'NotEquals', 'not string', true],
  [1, 'NotEquals', 2, true],
  [true, 'NotEquals', true, false],
  [false, 'NotEquals', true, true],
  ['1Gi', 'NotEquals', '10Gi', true],
  ['1Gi', 'NotEquals', '1024Mi', false],
  ['1h', 'NotEquals', '5h', true],
  ['1h', 'NotEquals', '30m', true],
  ['string', 'NotEquals', 1, true],
  [1, 'NotEquals', '2', true],
  [1.0, 'NotEquals', '2.0', true],
  [true, 'NotEquals', 'false', true],
  [false, 'NotEquals', 'true', true],
  [{ foo: 'bar' }, 'NotEquals', { bar: 'foo' }, true],
  [['foo', 'bar'], 'NotEquals', ['bar', 'foo'], true],
  [[{ foo: 'bar' }], 'NotEquals', [{ bar: 'foo' }], true],
  ['1h', 'NotEquals', 3600, false],
  ['2h', 'NotEquals', 3600, true],
  ['1.5.2', 'NotEquals', '1.5.5', true],
  ['1.5.2', 'NotEquals', '1.5.*', false],
  ['1.5.0', 'NotEquals', '1.5.0', false],
  // notequal_test.go
  [5, 'NotEquals', 5.5, true],
  [3.14, 'NotEquals', 2.71, true],
  ['hello', 'NotEquals', 'world', true],
  ['abc', 'NotEquals', 5, true],
  ['100Mi', 'NotEquals', 'not-a-quantity', true],
  ['1h', 'NotEquals', '30m', true],
  [{ foo: 'bar' }, 'NotEquals', { foo: 'baz' }, true],
  [['a', 'b'], 'NotEquals', ['a', 'c'], true],
  // GreaterThan
  [10, 'GreaterThan', 1, true],
  [1.5, 'GreaterThan', 1.0, true],
  [1.5, 'GreaterThan', 1, true],
  [1, 'GreaterThan', 10, false],
  [1.0, 'GreaterThan', 1.5, false],
  [1, 'GreaterThan', 1.5, false],
  [1, 'GreaterThan', 1, false],
  ['1025', 'GreaterThan', '1Ki', true],
  ['1Ki', 'GreaterThan', '1023', true],
  ['10Gi', 'GreaterThan', '1Gi', true],
  ['1Gi', 'GreaterThan', '1Mi', true],
  ['1Gi', 'GreaterThan', '10Gi', false],
  ['10Mi', 'GreaterThan', '10Mi', false],
  ['10h', 'GreaterThan', '1h', true],
  ['1h', 'GreaterThan', '30m', true],
  ['1h', 'GreaterThan', '1h', false],
  ['1Gi', 'GreaterThan', '1Gi', false],
  ['10', 'GreaterThan', 1, true],
  [100, 'GreaterThan', '10', true],
  ['100', 'GreaterThan', '10', true],
  ['10', 'GreaterThan', '10', false],
  ['1', 'GreaterThan', '10', false],
  ['1', 'GreaterThan', 10, false],
  [1, 'GreaterThan', '10', false],
  ['1h', 'GreaterThan', 3600, false],
  ['2h', 'GreaterThan', 3600, true],
  [3600, 'GreaterThan', '1h', false],
  [3600, 'GreaterThan', '30m', true],
  [-5, 'GreaterThan', 1, false],
  [-5, 'GreaterThan', -10, true],
  [1, 'GreaterThan', -10, true],
  ['1.5.5', 'GreaterThan', '1.5.0', true],
  ['1.5.0', 'GreaterThan', '1.5.5', false],
  // LessThan
  [10, 'LessThan', 1, false],
  [1.5, 'LessThan', 1.0, false],
  [1, 'LessThan', 10, true],
  [1.0, 'LessThan', 1.5, true],
  [1, 'LessThan', 1, false],
  ['1023', 'LessThan', '1Ki', true],
  ['1Ki', 'LessThan', '1025', true],
  ['10Gi', 'LessThan', '1Gi', false],
  ['1Gi', 'LessThan', '10Gi', true],
  ['1Gi', 'LessThan', '1Mi', false],
  ['1Mi', 'LessThan', '1Gi', true],
  ['10h', 'LessThan', '1h', false],
  ['1h', 'LessThan', '30m', false],
  ['1h', 'LessThan', '1h', false],
  ['10', 'LessThan', 1, false],
  [100, 'LessThan', '10', false],
  ['100', 'LessThan', '10', false],
  ['1', 'LessThan', '10', true],
  ['1', 'LessThan', 10, true],
  [1, 'LessThan', '10', true],
  ['1h', 'LessThan', 3600, false],
  ['30m', 'LessThan', 3600, true],
  [3600, 'LessThan', '1h', false],
  [3600, 'LessThan', '30m', false],
  [-5, 'LessThan', 1, true],
  [-5, 'LessThan', -10, false],
  ['1.5.5', 'LessThan', '1.5.0', false],
  ['1.5.0', 'LessThan', '1.5.5', true],
  // GreaterThanOrEquals
  [10, 'GreaterThanOrEquals', 1, true],
  [1, 'GreaterThanOrEquals', 1, true],
  [1.0, 'GreaterThanOrEquals', 1, true],
  [1, 'GreaterThanOrEquals', 1.5, false],
  ['1025', 'GreaterThanOrEquals', '1Ki', true],
  ['1024', 'GreaterThanOrEquals', '1Ki', true],
  ['1Ki', 'GreaterThanOrEquals', '1023', true],
  ['1Ki', 'GreaterThanOrEquals', '1024', true],
  ['1Gi', 'GreaterThanOrEquals', '10Gi', false],
  ['1h', 'GreaterThanOrEquals', '1h', true],
  ['1h', 'GreaterThanOrEquals', '30m', true],
  ['10', 'GreaterThanOrEquals', '10', true],
  ['1', 'GreaterThanOrEquals', 10, false],
  ['1h', 'GreaterThanOrEquals', 3600, true],
  ['2h', 'GreaterThanOrEquals', 3600, true],
  ['1.5.5', 'GreaterThanOrEquals', '1.5.5', true],
  ['1.5.5', 'GreaterThanOrEquals', '1.5.0', true],
  ['1.5.0', 'GreaterThanOrEquals', '1.5.5', false],
  // LessThanOrEquals
  [10, 'LessThanOrEquals', 1, false],
  [1, 'LessThanOrEquals', 1, true],
  [1, 'LessThanOrEquals', 1.5, true],
  ['1Ki', 'LessThanOrEquals', '1024', true],
  ['1024', 'LessThanOrEquals', '1Ki', true],
  ['1Ki', 'LessThanOrEquals', '1025', true],
  ['1023', 'LessThanOrEquals', '1Ki', true],
  ['10Gi', 'LessThanOrEquals', '1Gi', false],
  ['1Mi', 'LessThanOrEquals', '1Gi', true],
  ['1h', 'LessThanOrEquals', '30m', false],
  ['1h', 'LessThanOrEquals', '1h', true],
  ['100', 'LessThanOrEquals', '10', false],
  ['1h', 'LessThanOrEquals', 3600, true],
  ['2h', 'LessThanOrEquals', 3600, false],
  ['1.5.5', 'LessThanOrEquals', '1.5.5', true],
  ['1.5.0', 'LessThanOrEquals', '1.5.5', true],
  ['1.5.5', 'LessThanOrEquals', '1.5.0', false],
  // In
  [1, 'In', [1, 2, 3], true],
  [1.5, 'In', [1, 1.5, 2, 3], true],
  ['1', 'In', ['1', '2', '3'], true],
  [['1.1.1.1', '2.2.2.2'], 'In', ['1.1.1.1', '2.2.2.2', '3.3.3.3'], true],
  [5, 'In', [1, 2, 3], false],
  [5.5, 'In', [1, 1.5, 2, 3], false],
  ['5', 'In', ['1', '2', '3'], false],
  ['1.1.1.1', 'In', ['1*'], true],
  [['1.1.1.1', '4.4.4.4'], 'In', ['1.1.1.1', '2.2.2.2', '3.3.3.3'], false],
  // NotIn
  [1, 'NotIn', [1, 2, 3], false],
  [1.5, 'NotIn', [1, 1.5, 2, 3], false],
  ['1', 'NotIn', ['1', '2', '3'], false],
  [['1.1.1.1', '2.2.2.2'], 'NotIn', ['1.1.1.1', '2.2.2.2', '3.3.3.3'], false],
  [5, 'NotIn', [1, 2, 3], true],
  [5.5, 'NotIn', [1, 1.5, 2, 3], true],
  ['5', 'NotIn', ['1', '2', '3'], true],
  [['1.1.1.1', '4.4.4.4'], 'NotIn', ['1.1.1.1', '2.2.2.2', '3.3.3.3'], true],
  // AnyIn
  [['1.1.1.1', '5.5.5.5'], 'AnyIn', ['1.1.1.1', '2.2.2.2', '3.3.3.3'], true],
  [['1.1.1.1', '5.5.5.5'], 'AnyIn', '1.1.1.1', true],
  [['4.4.4.4', '5.5.5.5'], 'AnyIn', ['1.1.1.1', '2.2.2.2', '3.3.3.3'], false],
  [['1.1.1.1', '5.5.5.5'], 'AnyIn', ['1.1.1.1'], true],
  [[1, 2], 'AnyIn', [1, 2, 3, 4], true],
  [[1, 5], 'AnyIn', [1, 2, 3, 4], true],
  [[5], 'AnyIn', [1, 2, 3, 4], false],
  [['1*'], 'AnyIn', ['1.1.1.1', '2.2.2.2', '3.3.3.3'], true],
  [['5*'], 'AnyIn', ['1.1.1.1', '2.2.2.2', '3.3.3.3'], false],
  [['1.1.1.1', '2.2.2.2', '5.5.5.5'], 'AnyIn', ['2*'], true],
  [['1.1.1.1', '2.2.2.2', '5.5.5.5'], 'AnyIn', ['4*'], false],
  [['5'], 'AnyIn', '1-3', false],
  ['1.1.1.1', 'AnyIn', ['1*'], true],
  ['5', 'AnyIn', '1-10', true],
  [5, 'AnyIn', '1-10', true],
  [[1, 5], 'AnyIn', '7-10', false],
  [[1, 5], 'AnyIn', '0-10', true],
  [[1.002, 1.222], 'AnyIn', '1.001-10', true],
  // anyin_test.go
  ['kyverno', 'AnyIn', 'kyverno', true],
  ['kube-system', 'AnyIn', ['default', 'kube-*'], true],
  ['kyverno', 'AnyIn', 'default', false],
  [64, 'AnyIn', '64', true],
  [1, 'AnyIn', [1, 2, 3], true],
  [64, 'AnyIn', 'default', false],
  [3.14, 'AnyIn', '3.14', true],
  [2.2, 'AnyIn', [1.1, 2.2, 3.3], true],
  [3.14, 'AnyIn', 'default', false],
  [true, 'AnyIn', 'true', true],
  [['kube-system', 'kube-public'], 'AnyIn', 'kube-*', true],
  [['kube-system', 'default'], 'AnyIn', 'kube-system', true],
  [['default', 'kyverno'], 'AnyIn', 'kube-*', false],
  [['default', 'kyverno'], 'AnyIn', ['kube-*', 'ky*'], true],
  [['default', 'kyverno'], 'AnyIn', ['kube-*', 'kube-system'], false],
  [[], 'AnyIn', ['default', 'kyverno'], false],
  ['', 'AnyIn', ['default', 'kyverno'], false],
  [{ foo: 'bar' }, 'AnyIn', 'test', false],
  // AllIn
  [['1.1.1.1', '2.2.2.2'], 'AllIn', ['1.1.1.1', '2.2.2.2', '3.3.3.3'], true],
  [['1.1.1.1', '5.5.5.5'], 'AllIn', ['1.1.1.1', '2.2.2.2', '3.3.3.3'], false],
  [['4.4.4.4', '5.5.5.5'], 'AllIn', ['1.1.1.1', '2.2.2.2', '3.3.3.3'], false],
  [['1.1.1.1', '5.5.5.5'], 'AllIn', ['1.1.1.1'], false],
  [[1, 2], 'AllIn', [1, 2, 3, 4], true],
  [[1, 5], 'AllIn', [1, 2, 3, 4], false],
  [[5], 'AllIn', [1, 2, 3, 4], false],
  [['1*'], 'AllIn', ['1.1.1.1', '2.2.2.2', '3.3.3.3'], true],
  [['5*'], 'AllIn', ['1.1.1.1', '2.2.2.2', '3.3.3.3'], false],
  [['2.1.1.1', '2.2.2.2', '2.5.5.5'], 'AllIn', ['2*'], true],
  [['1.1.1.1', '2.2.2.2', '5.5.5.5'], 'AllIn', ['4*'], false],
  [['1.1.1.1', '5.5.5.5'], 'AllIn', '5.5.5.5', false],
  [5, 'AllIn', '1-10', true],
  [[3, 2], 'AllIn', '1-10', true],
  [[3, 2], 'AllIn', '5-10', false],
  // AllNotIn
  [1, 'AllNotIn', [1, 2, 3], false],
  [1.5, 'AllNotIn', [1, 1.5, 2, 3], false],
  ['1', 'AllNotIn', ['1', '2', '3'], false],
  [['1.1.1.1', '2.2.2.2'], 'AllNotIn', ['1.1.1.1', '2.2.2.2', '3.3.3.3'], false],
  [5, 'AllNotIn', [1, 2, 3], true],
  [5.5, 'AllNotIn', [1, 1.5, 2, 3], true],
  ['5', 'AllNotIn', ['1', '2', '3'], true],
  [['1.1.1.1', '4.4.4.4'], 'AllNotIn', ['1.1.1.1', '2.2.2.2', '3.3.3.3'], false],
  [['1.1.1.1', '4.4.4.4'], 'AllNotIn', ['1.1.1.1', '2.2.2.2', '3.3.3.3', '1.1.1.1'], false],
  [['1.1.1.1', '4.4.4.4', '1.1.1.1'], 'AllNotIn', ['1.1.1.1', '2.2.2.2', '3.3.3.3', '1.1.1.1', '4.4.4.4'], false],
  [['5.5.5.5', '4.4.4.4'], 'AllNotIn', ['1.1.1.1', '2.2.2.2', '3.3.3.3'], true],
  [['7*', '6*', '5*'], 'AllNotIn', ['1.1.1.1', '2.2.2.2', '3.3.3.3'], true],
  [['1*', '2*'], 'AllNotIn', ['1.1.1.1', '2.2.2.2', '3.3.3.3'], false],
  [['1.1.1.1', '3.3.3.3', '5.5.5.5'], 'AllNotIn', ['2*'], true],
  [['4.1.1.1', '4.2.2.2', '4.5.5.5'], 'AllNotIn', ['4*'], false],
  [['1.1.1.1', '4.4.4.4'], 'AllNotIn', '2.2.2.2', true],
  [5.5, 'AllNotIn', '6-10', true],
  ['5', 'AllNotIn', '1-6', false],
  [[3, 2], 'AllNotIn', '5-10', true],
  [[2, 6], 'AllNotIn', '5-10', false],
  // AnyNotIn
  [1, 'AnyNotIn', [1, 2, 3], false],
  [1.5, 'AnyNotIn', [1, 1.5, 2, 3], false],
  ['1', 'AnyNotIn', ['1', '2', '3'], false],
  [['1.1.1.1', '2.2.2.2'], 'AnyNotIn', ['1.1.1.1', '2.2.2.2', '3.3.3.3'], false],
  [5, 'AnyNotIn', [1, 2, 3], true],
  [5.5, 'AnyNotIn', [1, 1.5, 2, 3], true],
  ['5', 'AnyNotIn', ['1', '2', '3'], true],
  [['1.1.1.1', '4.4.4.4'], 'AnyNotIn', ['1.1.1.1', '2.2.2.2', '3.3.3.3'], true],
  [['5.5.5.5', '4.4.4.4'], 'AnyNotIn', '4.4.4.4', true],
  [['5.5.5.5', '4.4.4.4'], 'AnyNotIn', ['1.1.1.1', '2.2.2.2', '3.3.3.3'], true],
  [['1*', '3*', '5*'], 'AnyNotIn', ['1.1.1.1', '2.2.2.2', '3.3.3.3'], true],
  [['1.1.1.1', '2.2.2.2', '5.5.5.5'], 'AnyNotIn', ['2*'], true],
  [['2.2*'], 'AnyNotIn', ['2.2.2.2'], false],
  ['5', 'AnyNotIn', '1-3', true],
  [[1, 5, 11], 'AnyNotIn', '0-10', true],
  [[1, 5, 7], 'AnyNotIn', '0-10', false],
];

// Durations (duration_test.go and the deprecated operators), null keys and values, type
// mismatches, and the quirks Kyverno's code has.
const EDGE_CASES: Case[] = [
  ['1h', 'DurationGreaterThan', '30m', true],
  ['30m', 'DurationGreaterThan', '1h', false],
  ['1h', 'DurationGreaterThanOrEquals', 3600, true],
  [3600, 'DurationLessThanOrEquals', '1h', true],
  [3599, 'DurationLessThan', '1h', true],
  [1.9, 'DurationLessThan', 2, true], // numbers are whole seconds: 1.9 counts as 1
  ['1h', 'DurationLessThan', 'soon', false],
  ['later', 'DurationGreaterThan', '1h', false],
  [true, 'DurationGreaterThan', '1h', false],
  // A duration against a number of seconds, in both directions, with every comparison.
  ['35h2m1.5s', 'LessThanOrEquals', '168h', true],
  ['200h', 'LessThanOrEquals', '168h', false],
  [7200, 'GreaterThan', '1h', true],
  // "0" is not read as a duration (operator.go parseDuration), so it falls to quantities, and
  // "0s" is not a quantity: false, although both mean zero.
  ['0', 'Equals', '0s', false],
  ['0s', 'Equals', '0', false],
  ['0s', 'Equals', '0m', true],
  ['0', 'Equals', 0, false], // string key, number value: not a duration pair, not a quantity pair
  // Null keys and values never match and never throw.
  [null, 'Equals', null, false],
  [null, 'NotEquals', null, true],
  [null, 'GreaterThan', 1, false],
  [null, 'AnyIn', ['a'], false],
  [null, 'AnyNotIn', ['a'], false],
  ['a', 'Equals', null, false],
  ['a', 'AnyIn', null, false],
  ['a', 'AnyNotIn', null, false], // an unusable value is "invalid", not "not in"
  [1, 'GreaterThan', null, false],
  // Quantity quirk: a quantity key does not fall back to wildcards.
  ['3.17', 'Equals', '3.*', false],
  ['3.17', 'Equals', '3.170', true],
  // Semver only when both sides are strict versions.
  ['1.2.3', 'GreaterThan', '1.2', false],
  ['v1.2.3', 'GreaterThan', 'v1.2.0', false],
  ['1.10.0', 'GreaterThan', '1.9.0', true],
  ['1.0.0-rc.1', 'LessThan', '1.0.0', true],
  // Objects and booleans are not ordered.
  [true, 'GreaterThan', false, false],
  [{ a: 1 }, 'GreaterThan', { a: 0 }, false],
  // Wildcards go both ways in the membership operators.
  ['nginx', 'AnyIn', ['ngi*'], true],
  ['ngi*', 'AnyIn', ['nginx'], true],
  ['ghcr.io/org/app', 'AnyIn', ['ghcr.io/*'], true],
  // A JSON-array string value, and a string value that is not JSON.
  ['b', 'AnyIn', '["a", "b"]', true],
  ['b', 'AnyIn', 'b', true],
  ['b', 'AnyIn', '"b"', false], // valid JSON but not an array of strings: unusable
  [['a', 'b'], 'AllIn', '["a", "b", "c"]', true],
  ['c', 'In', '["a", "b"]', false],
  ['c', 'In', 'not-json', false], // In insists on a JSON array string
  ['c', 'NotIn', 'not-json', false],
  // Ranges: complement, quantities, negative bounds.
  ['5', 'AnyNotIn', '1-3', true],
  ['512Mi', 'AnyIn', '1Mi-1Gi', true],
  ['2Gi', 'AnyIn', '1Mi-1Gi', false],
  [-3, 'AnyIn', '-5-10', true],
  [[15], 'AnyNotIn', '1-10', true],
];

describe('Kyverno condition operators', () => {
  for (const [key, operator, value, expected] of [...KYVERNO_CASES, ...EDGE_CASES]) {
    it(`${JSON.stringify(key)} ${operator} ${JSON.stringify(value)} is ${String(expected)}`, () => {
      const handler = operatorHandler(operator);
      assert.ok(handler, `unknown operator ${operator}`);
      assert.equal(handler(key, value), expected);
    });
  }

  it('matches operator names case-insensitively and knows the aliases', () => {
    for (const name of ['equals', 'EQUALS', 'Equal', 'notequal', 'anyin', 'ALLNOTIN', 'greaterthanorequals', 'durationlessthan', 'in', 'NotIn']) {
      assert.ok(operatorHandler(name), name);
    }
    assert.equal(operatorHandler('Equalz'), undefined);
    assert.equal(operatorHandler('Contains'), undefined);
    assert.equal(operatorHandler(''), undefined);
  });

  const json = fc.jsonValue({ maxDepth: 2 });
  it('NotEquals is the negation of Equals for any JSON', () => {
    const eq = operatorHandler('Equals');
    const ne = operatorHandler('NotEquals');
    assert.ok(eq && ne);
    fc.assert(fc.property(json, json, (k, v) => assert.equal(ne(k, v), !eq(k, v))));
  });

  it('no operator throws on arbitrary JSON', () => {
    const names = ['Equals', 'NotEquals', 'In', 'NotIn', 'AnyIn', 'AllIn', 'AnyNotIn', 'AllNotIn', 'GreaterThan', 'LessThanOrEquals', 'DurationGreaterThan'];
    fc.assert(
      fc.property(fc.constantFrom(...names), json, json, (name, k, v) => {
        const handler = operatorHandler(name);
        assert.ok(handler);
        assert.equal(typeof handler(k, v), 'boolean');
      }),
    );
  });

  it('GreaterThan and LessThanOrEquals are complements on numbers', () => {
    const gt = operatorHandler('GreaterThan');
    const le = operatorHandler('LessThanOrEquals');
    assert.ok(gt && le);
    fc.assert(fc.property(fc.double({ noNaN: true }), fc.double({ noNaN: true }), (a, b) => assert.equal(gt(a, b), !le(a, b))));
  });

  it('AnyIn and AllNotIn are complements on string lists', () => {
    const anyIn = operatorHandler('AnyIn');
    const allNotIn = operatorHandler('AllNotIn');
    assert.ok(anyIn && allNotIn);
    const word = fc.stringMatching(/^[ab*?]{0,4}$/);
    fc.assert(fc.property(fc.array(word, { maxLength: 4 }), fc.array(word, { maxLength: 4 }), (k, v) => assert.equal(allNotIn(k, v), !anyIn(k, v))));
  });
});

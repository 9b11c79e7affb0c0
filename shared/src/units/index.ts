export { DurationUnit, clampDuration, durationFromNumberOfSeconds, durationSeconds, formatGoDuration, isGoDuration, parseGoDuration } from './duration.js';
export { Quantity, QuantityFormat, isQuantity, parseQuantity, quantityFromInteger } from './quantity.js';
export { compareSemVer, parseSemVer, parseSemVerRange, type SemVer, type SemVerRange } from './semver.js';
export { goFormatFloat, goFormatFloat32, goParseFloat, goParseInt, goSprint } from './goNumber.js';

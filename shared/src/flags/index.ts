export {
  ERR_BAD_FLAG,
  flagHelpLines,
  flagsMarkdown,
  parseFlagArgs,
  withGeneratedSection,
  type FlagSpec,
  type FlagTable,
  type FlagType,
  type FlagValue,
  type FlagValues,
  type ParseFlagsOptions,
  type ParsedFlags,
} from './flags.js';

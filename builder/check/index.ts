/** `rbuild check`'s public API: check an image or a Dockerfile, format the report, decide the exit code. */
export { checkBuiltImage, checkImage, checkDockerfile, configResolver, type CheckImageOptions } from './check-image.js';
export { formatTable, formatJson, reportFails, summarize, type FailOn } from './format.js';
export { formatSarif, toSarif } from './sarif.js';
export { RULES, allRules, type RuleId } from './rules.js';
export type { CheckReport, Finding, Severity } from './types.js';

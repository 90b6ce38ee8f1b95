/** The grants' name patterns: governance's, shared with the servers' call rules. */
export { matchesAny, matchesPattern, type NamePattern, readPatterns } from '../../governance/name-pattern.ts';

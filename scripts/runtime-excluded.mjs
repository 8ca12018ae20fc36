// Test files that cannot run under a runtime for a reason outside beepwire, with that reason.
// They are reported as "skipped: <file> — <reason>", never counted as passed.

/** runtime -> compiled file -> reason (none today: every file runs under both). */
export const excluded = {
  bun: {},
  deno: {},
};

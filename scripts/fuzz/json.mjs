// Server frames and pod log lines may be anything: a parse failure is an answer to count, not an error.

export function parseJsonOrNull(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

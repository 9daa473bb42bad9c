// Every wait on the pod or on the fuzzers has an end, and its error says what was waited for.

export function withTimeout(promise, ms, message) {
  let timer;
  const expiry = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

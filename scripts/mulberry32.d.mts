/** mulberry32: small, fast, and the same sequence on every platform for one seed (see mulberry32.mjs). */
export function mulberry32(seed: number): () => number;

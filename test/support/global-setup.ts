/** Vitest global setup: nothing shared yet. */
export default function setup(): void {}

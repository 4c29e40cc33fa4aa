/** Starts the real registry (Debian's docker-registry) for tests. Filled in by the registry work. */
export interface TestRegistry {
  /** host:port on loopback. */
  host: string;
  stop(): Promise<void>;
}

/**
 * The shapes `rbuild check` works with: what the image walker gathers from
 * the layers (facts), what a rule reports (findings) and the report itself.
 * Rules are pure functions of these, so they are tested on fake facts.
 */

/** How bad a finding is; `--fail-on` compares against it. */
export type Severity = 'error' | 'warn' | 'info';

/** A rule's fixed description (SARIF `reportingDescriptor`). */
export interface RuleMeta {
  id: string;
  /** kebab-case short name. */
  name: string;
  severity: Severity;
  /** One sentence: what the rule looks for. */
  description: string;
  /** One sentence: how to fix a finding. */
  fix: string;
}

/** Where a finding is: any of a layer, a path in the image, a Dockerfile line. */
export interface FindingLocation {
  /** 0-based layer index in the manifest. */
  layer?: number;
  layerDigest?: string;
  path?: string;
  /** Dockerfile path and 1-based line, when known. */
  file?: string;
  line?: number;
}

/** One thing a rule found. */
export interface Finding {
  ruleId: string;
  severity: Severity;
  /** One line: what is wrong, naming where. */
  message: string;
  /** One line: how to fix it. */
  fix: string;
  location: FindingLocation;
  /** True when the finding comes from a base image's layer, not this image's own. */
  fromBase?: boolean;
  /** Bytes it costs (package caches). */
  bytes?: number;
}

/** One layer as the walker saw it. */
export interface LayerFacts {
  index: number;
  digest: string;
  /** True for layers of the base image. */
  base: boolean;
  /** The history entry's created_by, when the history lines up with the layers. */
  createdBy?: string;
  /** Tar entries read and bytes of content (uncompressed). */
  entries: number;
  bytes: number;
}

/** A file's metadata as of the layer that last wrote it. */
export interface FileFact {
  path: string;
  layer: number;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  size: number;
}

/** A secret-looking file, in the layer that added it and, if so, the layer that removed or replaced it. */
export interface SecretFact {
  path: string;
  kind: string;
  layer: number;
  removedIn?: number;
}

/** Bytes left under one package-manager cache directory in the final tree. */
export interface CacheFact {
  dir: string;
  manager: string;
  bytes: number;
  files: number;
  /** Layers that put files there. */
  layers: number[];
}

/** Everything the image rules need from the layers. */
export interface ImageFacts {
  layers: LayerFacts[];
  /** Setuid/setgid files of the final tree. */
  privileged: FileFact[];
  /** Files carrying a security.capability xattr in the final tree. */
  capabilities: FileFact[];
  /** World-writable files and dirs (dirs only without sticky bit) of the final tree. */
  worldWritable: FileFact[];
  secrets: SecretFact[];
  caches: CacheFact[];
  /** Metadata of paths asked for (WORKDIR), as of the final tree. */
  watched: Map<string, FileFact>;
  /** /etc/passwd and /etc/group of the final tree (undefined when absent). */
  passwd?: string;
  group?: string;
}

/** What `rbuild check` reports. */
export interface CheckReport {
  /** What was checked (image name or Dockerfile path). */
  target: string;
  /** Dockerfile path findings point at, if any. */
  dockerfile?: string;
  findings: Finding[];
  /** Layers read (empty for a Dockerfile-only check). */
  layers: LayerFacts[];
}

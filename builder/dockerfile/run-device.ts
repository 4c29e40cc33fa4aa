/** RUN --device=... values (BuildKit labs: CDI devices), parsed as BuildKit's ParseDevice does. */
import { RunMountError, splitCsv } from './run-mount.js';

/** One RUN device request: a CDI name (`vendor.com/class=name`), optional unless required. */
export interface RunDevice {
  name: string;
  required: boolean;
}

/** A malformed --device value. */
export class RunDeviceError extends Error {
  readonly code = 'DOCKERFILE_FLAG';
}

// Go's strconv.ParseBool.
function parseGoBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** Parses one --device value: `name`, `name=<n>`, `required[=<bool>]`, comma-separated. */
export function parseRunDevice(spec: string): RunDevice {
  let fields: string[];
  try {
    fields = splitCsv(spec);
  } catch (err) {
    if (err instanceof RunMountError) throw new RunDeviceError(`failed to parse csv devices: ${err.message}`, { cause: err });
    throw err;
  }
  const d: RunDevice = { name: '', required: false };
  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const value = eq < 0 ? '' : field.slice(eq + 1);
    if (eq < 0) {
      if (key === 'required') d.required = true;
      else if (d.name === '') d.name = field;
      else throw new RunDeviceError(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    if (key === 'name') {
      if (d.name !== '') throw new RunDeviceError(`device name already set to ${d.name}`);
      d.name = value;
    } else if (key === 'required') {
      const b = parseGoBool(value);
      if (b === undefined) throw new RunDeviceError(`invalid value for ${key}: ${value}`);
      d.required = b;
    } else if (d.name === '') {
      // A CDI name contains `=` (vendor.com/class=name): the first such field is the name.
      d.name = field;
    } else {
      throw new RunDeviceError(`unexpected key '${key}' in '${field}'`);
    }
  }
  return d;
}

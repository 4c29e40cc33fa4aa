/* The versioned protocol between rbuild (builder/sandbox/native-helper.ts) and rbuild-helper. See native/README.md. */
#ifndef RBUILD_PROTOCOL_H
#define RBUILD_PROTOCOL_H

/* Bumped on every incompatible change of the spec keys, status lines or commands; rbuild refuses a mismatch. */
#define RBUILD_HELPER_PROTOCOL 1

/* Exit code of the helper when it failed itself (not the step), as runc and docker use. */
#define RBUILD_HELPER_EXIT_ERROR 125

#endif

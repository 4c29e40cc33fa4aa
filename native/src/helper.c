/* rbuild-helper: creates namespaces and runs steps for rbuild. See native/README.md. */
#include <stdio.h>
#include <string.h>

#define RBUILD_HELPER_PROTOCOL 1

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "version") == 0) {
    printf("rbuild-helper %d\n", RBUILD_HELPER_PROTOCOL);
    return 0;
  }
  fprintf(stderr, "rbuild-helper: usage: rbuild-helper version|userns|run\n");
  return 2;
}

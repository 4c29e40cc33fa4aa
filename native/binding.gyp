{
  "targets": [
    {
      "target_name": "rbuild-helper",
      "type": "executable",
      "sources": ["src/helper.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "libraries": [],
      "variables": {
        "rbuild_have_seccomp": "<!(test -f /usr/include/seccomp.h && echo 1 || echo 0)"
      },
      "conditions": [
        ["rbuild_have_seccomp==1", {
          "defines": ["RBUILD_HAVE_SECCOMP"],
          "libraries": ["-lseccomp"]
        }]
      ]
    },
    {
      "target_name": "rbuild_fs",
      "sources": ["src/fsops.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"]
    },
    {
      "target_name": "rbuild_gzip",
      "sources": ["src/gzip.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "variables": {
        "rbuild_have_libdeflate%": "<!(test -f /usr/include/libdeflate.h && echo 1 || echo 0)"
      },
      "conditions": [
        ["rbuild_have_libdeflate==1", {
          "defines": ["RBUILD_HAVE_LIBDEFLATE"],
          "libraries": ["-ldeflate"]
        }]
      ]
    }
  ]
}

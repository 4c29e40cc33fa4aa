{
  "targets": [
    {
      "target_name": "rbuild-helper",
      "type": "executable",
      "sources": ["src/helper.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "libraries": []
    },
    {
      "target_name": "rbuild_fs",
      "sources": ["src/fsops.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"]
    }
  ]
}

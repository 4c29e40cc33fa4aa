/* rbuild_fs: the few file-system calls Node lacks (xattrs, mknod, mount), and
 * one batched call for the extractor's small files (createFile).
 * Every function is synchronous and throws an Error whose `code` is the errno
 * name (ENOENT, EPERM, ...) and whose `errno` is the number, like Node's fs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#define PATH_MAXLEN 4096
#define NAME_MAXLEN 256
#define DATA_MAXLEN 65536

static const char *errno_code(int e) {
  switch (e) {
  case EPERM: return "EPERM";
  case ENOENT: return "ENOENT";
  case EIO: return "EIO";
  case E2BIG: return "E2BIG";
  case EBADF: return "EBADF";
  case ENOMEM: return "ENOMEM";
  case EACCES: return "EACCES";
  case EFAULT: return "EFAULT";
  case EBUSY: return "EBUSY";
  case EEXIST: return "EEXIST";
  case EXDEV: return "EXDEV";
  case ENODEV: return "ENODEV";
  case ENOTDIR: return "ENOTDIR";
  case EISDIR: return "EISDIR";
  case EINVAL: return "EINVAL";
  case ENOSPC: return "ENOSPC";
  case EROFS: return "EROFS";
  case ERANGE: return "ERANGE";
  case ENAMETOOLONG: return "ENAMETOOLONG";
  case ENOSYS: return "ENOSYS";
  case ELOOP: return "ELOOP";
  case ENODATA: return "ENODATA";
  case EOPNOTSUPP: return "EOPNOTSUPP";
  case EDQUOT: return "EDQUOT";
  default: return "EUNKNOWN";
  }
}

/* Throws an Error like Node's fs errors: message "CODE: syscall path", code, errno, syscall. */
static napi_value throw_errno(napi_env env, int e, const char *syscall, const char *path) {
  char msg[PATH_MAXLEN + 128];
  const char *code = errno_code(e);
  snprintf(msg, sizeof msg, "%s: %s, %s '%s'", code, strerror(e), syscall, path ? path : "");
  napi_value m, c, err, num, sc;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
  napi_create_error(env, c, m, &err);
  napi_create_int32(env, -e, &num);
  napi_set_named_property(env, err, "errno", num);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc);
  napi_set_named_property(env, err, "syscall", sc);
  if (path) {
    napi_value p;
    napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &p);
    napi_set_named_property(env, err, "path", p);
  }
  napi_throw(env, err);
  return NULL;
}

/* Reads argument i as a UTF-8 string into buf; returns 0 and throws on failure. */
static int get_str(napi_env env, napi_value v, char *buf, size_t cap, const char *what) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, cap, &len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
    return 0;
  }
  if (len >= cap - 1) {
    napi_throw_range_error(env, "ENAMETOOLONG", what);
    return 0;
  }
  return 1;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < want) {
    for (size_t i = argc; i < want; i++) napi_get_undefined(env, &argv[i]);
  }
  return 1;
}

static int is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t == napi_undefined || t == napi_null;
}

/* lgetxattr(path, name): Buffer | null (null when the attribute is absent). */
static napi_value js_lgetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char path[PATH_MAXLEN], name[NAME_MAXLEN];
  get_args(env, info, 2, argv);
  if (!get_str(env, argv[0], path, sizeof path, "path") || !get_str(env, argv[1], name, sizeof name, "name"))
    return NULL;
  for (;;) {
    ssize_t n = lgetxattr(path, name, NULL, 0);
    if (n < 0) {
      if (errno == ENODATA) {
        napi_value nul;
        napi_get_null(env, &nul);
        return nul;
      }
      return throw_errno(env, errno, "lgetxattr", path);
    }
    void *data = NULL;
    napi_value buf;
    napi_create_buffer(env, (size_t)n, &data, &buf);
    ssize_t m = n == 0 ? 0 : lgetxattr(path, name, data, (size_t)n);
    if (m < 0 && errno == ERANGE) continue; /* grew in between: retry */
    if (m < 0) return throw_errno(env, errno, "lgetxattr", path);
    if (m != n) {
      napi_value out;
      napi_create_buffer_copy(env, (size_t)m, data, NULL, &out);
      return out;
    }
    return buf;
  }
}

/* llistxattr(path): string[] */
static napi_value js_llistxattr(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char path[PATH_MAXLEN];
  get_args(env, info, 1, argv);
  if (!get_str(env, argv[0], path, sizeof path, "path")) return NULL;
  for (;;) {
    ssize_t n = llistxattr(path, NULL, 0);
    if (n < 0) return throw_errno(env, errno, "llistxattr", path);
    char *list = malloc(n > 0 ? (size_t)n : 1);
    if (!list) return throw_errno(env, ENOMEM, "llistxattr", path);
    ssize_t m = n == 0 ? 0 : llistxattr(path, list, (size_t)n);
    if (m < 0) {
      int e = errno;
      free(list);
      if (e == ERANGE) continue;
      return throw_errno(env, e, "llistxattr", path);
    }
    napi_value arr;
    napi_create_array(env, &arr);
    uint32_t idx = 0;
    for (ssize_t off = 0; off < m;) {
      size_t len = strnlen(list + off, (size_t)(m - off));
      napi_value s;
      napi_create_string_utf8(env, list + off, len, &s);
      napi_set_element(env, arr, idx++, s);
      off += (ssize_t)len + 1;
    }
    free(list);
    return arr;
  }
}

/* lsetxattr(path, name, value: Buffer|string, flags = 0) */
static napi_value js_lsetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  char path[PATH_MAXLEN], name[NAME_MAXLEN];
  get_args(env, info, 4, argv);
  if (!get_str(env, argv[0], path, sizeof path, "path") || !get_str(env, argv[1], name, sizeof name, "name"))
    return NULL;
  void *data = NULL;
  size_t len = 0;
  char *tmp = NULL;
  bool isbuf = false;
  napi_is_buffer(env, argv[2], &isbuf);
  if (isbuf) {
    napi_get_buffer_info(env, argv[2], &data, &len);
  } else {
    tmp = malloc(DATA_MAXLEN + 1);
    if (!tmp) return throw_errno(env, ENOMEM, "lsetxattr", path);
    if (napi_get_value_string_utf8(env, argv[2], tmp, DATA_MAXLEN + 1, &len) != napi_ok) {
      free(tmp);
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "value must be a Buffer or string");
      return NULL;
    }
    data = tmp;
  }
  int32_t flags = 0;
  if (!is_nullish(env, argv[3])) napi_get_value_int32(env, argv[3], &flags);
  int rc = lsetxattr(path, name, data, len, flags);
  int e = errno;
  free(tmp);
  if (rc < 0) return throw_errno(env, e, "lsetxattr", path);
  return NULL;
}

/* lremovexattr(path, name) */
static napi_value js_lremovexattr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char path[PATH_MAXLEN], name[NAME_MAXLEN];
  get_args(env, info, 2, argv);
  if (!get_str(env, argv[0], path, sizeof path, "path") || !get_str(env, argv[1], name, sizeof name, "name"))
    return NULL;
  if (lremovexattr(path, name) < 0) return throw_errno(env, errno, "lremovexattr", path);
  return NULL;
}

/* mknod(path, mode, dev) where dev is makedev(major, minor) as a number (0 for whiteouts). */
static napi_value js_mknod(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  char path[PATH_MAXLEN];
  get_args(env, info, 3, argv);
  if (!get_str(env, argv[0], path, sizeof path, "path")) return NULL;
  uint32_t mode = 0;
  int64_t dev = 0;
  napi_get_value_uint32(env, argv[1], &mode);
  napi_get_value_int64(env, argv[2], &dev);
  if (mknod(path, (mode_t)mode, (dev_t)dev) < 0) return throw_errno(env, errno, "mknod", path);
  return NULL;
}

/* mount(source, target, fstype, flags, data) */
static napi_value js_mount(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  char source[PATH_MAXLEN], target[PATH_MAXLEN], fstype[NAME_MAXLEN];
  get_args(env, info, 5, argv);
  if (!get_str(env, argv[0], source, sizeof source, "source") ||
      !get_str(env, argv[1], target, sizeof target, "target") ||
      !get_str(env, argv[2], fstype, sizeof fstype, "fstype"))
    return NULL;
  int64_t flags = 0;
  napi_get_value_int64(env, argv[3], &flags);
  char *data = NULL;
  if (!is_nullish(env, argv[4])) {
    size_t len = 0;
    napi_get_value_string_utf8(env, argv[4], NULL, 0, &len);
    data = malloc(len + 1);
    if (!data) return throw_errno(env, ENOMEM, "mount", target);
    napi_get_value_string_utf8(env, argv[4], data, len + 1, &len);
  }
  int rc = mount(source, target, fstype, (unsigned long)flags, data);
  int e = errno;
  free(data);
  if (rc < 0) return throw_errno(env, e, "mount", target);
  return NULL;
}

/* umount2(target, flags) */
static napi_value js_umount2(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char target[PATH_MAXLEN];
  get_args(env, info, 2, argv);
  if (!get_str(env, argv[0], target, sizeof target, "target")) return NULL;
  int32_t flags = 0;
  if (!is_nullish(env, argv[1])) napi_get_value_int32(env, argv[1], &flags);
  if (umount2(target, flags) < 0) return throw_errno(env, errno, "umount2", target);
  return NULL;
}

/* createFile(path, data: Buffer, mode, uid, gid, mtime, setOwner: boolean, chmodTo):
 * a new regular file with its content and metadata in one call, for the
 * extractor's small files (one crossing instead of five fs calls, each with
 * Node's argument checks). open(O_CREAT|O_EXCL|O_NOFOLLOW) with mode & 0777,
 * write everything, fchown(uid, gid) when setOwner (before the chmod: chown
 * clears setuid), fchmod(chmodTo) when chmodTo >= 0, futimens(mtime) for
 * atime and mtime, close. Throws the errno (EEXIST when something is there). */
static napi_value js_createfile(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  char path[PATH_MAXLEN];
  get_args(env, info, 8, argv);
  if (!get_str(env, argv[0], path, sizeof path, "path")) return NULL;
  void *data = NULL;
  size_t len = 0;
  bool isbuf = false;
  napi_is_buffer(env, argv[1], &isbuf);
  if (!isbuf) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "data must be a Buffer");
    return NULL;
  }
  napi_get_buffer_info(env, argv[1], &data, &len);
  uint32_t mode = 0;
  int64_t uid = 0, gid = 0, chmod_to = -1;
  double mtime = 0;
  bool set_owner = false;
  napi_get_value_uint32(env, argv[2], &mode);
  napi_get_value_int64(env, argv[3], &uid);
  napi_get_value_int64(env, argv[4], &gid);
  napi_get_value_double(env, argv[5], &mtime);
  napi_get_value_bool(env, argv[6], &set_owner);
  napi_get_value_int64(env, argv[7], &chmod_to);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)(mode & 0777));
  if (fd < 0) return throw_errno(env, errno, "open", path);
  const char *syscall = NULL;
  for (size_t off = 0; off < len;) {
    ssize_t n = write(fd, (const char *)data + off, len - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      syscall = "write";
      goto fail;
    }
    off += (size_t)n;
  }
  if (set_owner && fchown(fd, (uid_t)uid, (gid_t)gid) < 0) {
    syscall = "fchown";
    goto fail;
  }
  if (chmod_to >= 0 && fchmod(fd, (mode_t)chmod_to) < 0) {
    syscall = "fchmod";
    goto fail;
  }
  struct timespec ts[2];
  ts[0].tv_sec = (time_t)mtime;
  ts[0].tv_nsec = 0;
  ts[1] = ts[0];
  if (futimens(fd, ts) < 0) {
    syscall = "futimens";
    goto fail;
  }
  if (close(fd) < 0) return throw_errno(env, errno, "close", path);
  return NULL;
fail: {
  int e = errno;
  close(fd);
  return throw_errno(env, e, syscall, path);
}
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"lgetxattr", NULL, js_lgetxattr, NULL, NULL, NULL, napi_default, NULL},
      {"llistxattr", NULL, js_llistxattr, NULL, NULL, NULL, napi_default, NULL},
      {"lsetxattr", NULL, js_lsetxattr, NULL, NULL, NULL, napi_default, NULL},
      {"lremovexattr", NULL, js_lremovexattr, NULL, NULL, NULL, napi_default, NULL},
      {"mknod", NULL, js_mknod, NULL, NULL, NULL, napi_default, NULL},
      {"mount", NULL, js_mount, NULL, NULL, NULL, napi_default, NULL},
      {"umount2", NULL, js_umount2, NULL, NULL, NULL, napi_default, NULL},
      {"createFile", NULL, js_createfile, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_value version;
  napi_create_uint32(env, 2, &version); /* 2: createFile */
  napi_set_named_property(env, exports, "abiVersion", version);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)

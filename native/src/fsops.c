/* rbuild_fs: the few file-system calls Node lacks (xattrs, mknod, mount), one
 * call for a small file with its metadata (createFile), and a file queue that
 * creates the extractor's small files on worker threads (createFileQueue).
 * Every function is synchronous and throws an Error whose `code` is the errno
 * name (ENOENT, EPERM, ...) and whose `errno` is the number, like Node's fs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

/* ---- The file queue: the extractor's small files, created on worker threads ----
 *
 * createFileQueue(root, threads) returns an object with submit/poll/drain/close.
 * submit(rels, bodies, meta) copies a batch of records (paths relative to root,
 * contents, and FQ_META numbers each: mode, uid, gid, mtime, setOwner, chmodTo)
 * and returns its id at once; the queue's threads create the files as
 * createFile does, in any order across batches: the caller only puts files in a
 * batch whose parent directories exist and that no other pending record names.
 * Each file is opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) below
 * root, so no component of its path can be a symlink and nothing outside root
 * can be created, whatever happens to the tree meanwhile; where openat2 is
 * missing (kernels before 5.6, seccomp filters) openat(O_NOFOLLOW), which
 * guards the last component only, as createFile does.
 * A record that fails is reported, not thrown: poll() (never blocks) and
 * drain() (waits until every submitted batch is done) return
 * { done: batch ids, failures: [{ batch, index, code, errno, syscall }] }.
 * submit blocks while FQ_MAX_BATCHES batches or FQ_MAX_BYTES bytes are
 * pending: the producer cannot run ahead of the disk by more than that. */

#define FQ_META 6
#define FQ_MAX_BATCHES 8
#define FQ_MAX_BYTES ((size_t)32 << 20)
#define FQ_MAX_THREADS 8

typedef struct {
  size_t path_off, data_off, data_len;
  uint32_t mode;
  int64_t uid, gid, chmod_to;
  double mtime;
  int set_owner;
  int err;
  const char *syscall;
} fq_rec;

typedef struct fq_batch {
  struct fq_batch *next;
  uint32_t id;
  size_t n, bytes;
  fq_rec *recs;
  char *arena;
} fq_batch;

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t work, done;
  fq_batch *head, *tail; /* submitted, not started */
  fq_batch *finished;    /* done, not yet reported */
  size_t pending, pending_bytes; /* submitted, not finished */
  int stop, nthreads, rootfd, openat2_ok;
  uint32_t next_id;
  pthread_t th[FQ_MAX_THREADS];
  char root[PATH_MAXLEN];
} fq_t;

static void fq_free_batch(fq_batch *b) {
  free(b->recs);
  free(b->arena);
  free(b);
}

static int fq_open(const fq_t *q, const char *rel, mode_t mode) {
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  if (!q->openat2_ok) return openat(q->rootfd, rel, flags, mode);
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)flags;
  how.mode = mode;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  for (int tries = 0;; tries++) {
    long fd = syscall(SYS_openat2, q->rootfd, rel, &how, sizeof how);
    /* EAGAIN: a concurrent rename somewhere below root; the kernel asks for a retry. */
    if (fd < 0 && errno == EAGAIN && tries < 8) continue;
    return (int)fd;
  }
}

/* One record: the same steps as createFile; sets r->err and r->syscall on failure. */
static void fq_create(const fq_t *q, const fq_batch *b, fq_rec *r) {
  const char *rel = b->arena + r->path_off;
  const char *data = b->arena + r->data_off;
  int fd = fq_open(q, rel, (mode_t)(r->mode & 0777));
  if (fd < 0) {
    r->err = errno;
    r->syscall = q->openat2_ok ? "openat2" : "openat";
    return;
  }
  const char *sc = NULL;
  for (size_t off = 0; off < r->data_len;) {
    ssize_t n = write(fd, data + off, r->data_len - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      sc = "write";
      goto fail;
    }
    off += (size_t)n;
  }
  if (r->set_owner && fchown(fd, (uid_t)r->uid, (gid_t)r->gid) < 0) {
    sc = "fchown";
    goto fail;
  }
  if (r->chmod_to >= 0 && fchmod(fd, (mode_t)r->chmod_to) < 0) {
    sc = "fchmod";
    goto fail;
  }
  struct timespec ts[2];
  ts[0].tv_sec = (time_t)r->mtime;
  ts[0].tv_nsec = 0;
  ts[1] = ts[0];
  if (futimens(fd, ts) < 0) {
    sc = "futimens";
    goto fail;
  }
  if (close(fd) < 0) {
    r->err = errno;
    r->syscall = "close";
  }
  return;
fail:
  r->err = errno;
  r->syscall = sc;
  close(fd);
}

static void *fq_worker(void *arg) {
  fq_t *q = arg;
  pthread_mutex_lock(&q->mu);
  for (;;) {
    while (q->head == NULL && !q->stop) pthread_cond_wait(&q->work, &q->mu);
    if (q->head == NULL) break;
    fq_batch *b = q->head;
    q->head = b->next;
    if (q->head == NULL) q->tail = NULL;
    pthread_mutex_unlock(&q->mu);
    for (size_t i = 0; i < b->n; i++) fq_create(q, b, &b->recs[i]);
    pthread_mutex_lock(&q->mu);
    b->next = q->finished;
    q->finished = b;
    q->pending--;
    q->pending_bytes -= b->bytes;
    pthread_cond_broadcast(&q->done);
  }
  pthread_mutex_unlock(&q->mu);
  return NULL;
}

/* Stops the threads after the batches they are running; drops the ones not started. */
static void fq_shutdown(fq_t *q) {
  if (q->nthreads == 0) return;
  pthread_mutex_lock(&q->mu);
  q->stop = 1;
  while (q->head != NULL) {
    fq_batch *b = q->head;
    q->head = b->next;
    q->pending--;
    q->pending_bytes -= b->bytes;
    fq_free_batch(b);
  }
  q->tail = NULL;
  pthread_cond_broadcast(&q->work);
  pthread_mutex_unlock(&q->mu);
  for (int i = 0; i < q->nthreads; i++) pthread_join(q->th[i], NULL);
  q->nthreads = 0;
  while (q->finished != NULL) {
    fq_batch *b = q->finished;
    q->finished = b->next;
    fq_free_batch(b);
  }
  if (q->rootfd >= 0) close(q->rootfd);
  q->rootfd = -1;
}

static void fq_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  fq_t *q = data;
  fq_shutdown(q);
  pthread_mutex_destroy(&q->mu);
  pthread_cond_destroy(&q->work);
  pthread_cond_destroy(&q->done);
  free(q);
}

static fq_t *fq_this(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  napi_value self;
  void *data = NULL;
  napi_get_cb_info(env, info, &argc, argv, &self, NULL);
  for (size_t i = argc; i < want; i++) napi_get_undefined(env, &argv[i]);
  if (napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_THIS", "not a file queue");
    return NULL;
  }
  fq_t *q = data;
  if (q->nthreads == 0) {
    napi_throw_error(env, "ERR_QUEUE_CLOSED", "the file queue is closed");
    return NULL;
  }
  return q;
}

/* submit(rels: string[], bodies: Buffer[], meta: Float64Array): batch id */
static napi_value fq_submit(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  fq_t *q = fq_this(env, info, 3, argv);
  if (q == NULL) return NULL;
  uint32_t n = 0, nb = 0;
  bool ok1 = false, ok2 = false, ta = false;
  napi_is_array(env, argv[0], &ok1);
  napi_is_array(env, argv[1], &ok2);
  napi_is_typedarray(env, argv[2], &ta);
  if (!ok1 || !ok2 || !ta) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "submit(rels: string[], bodies: Buffer[], meta: Float64Array)");
    return NULL;
  }
  napi_get_array_length(env, argv[0], &n);
  napi_get_array_length(env, argv[1], &nb);
  napi_typedarray_type tt;
  size_t mlen = 0;
  void *mdata = NULL;
  napi_get_typedarray_info(env, argv[2], &tt, &mlen, &mdata, NULL, NULL);
  if (nb != n || tt != napi_float64_array || mlen != (size_t)n * FQ_META) {
    napi_throw_range_error(env, "ERR_INVALID_ARG_VALUE", "rels, bodies and meta must describe the same records");
    return NULL;
  }
  const double *meta = mdata;
  fq_batch *b = calloc(1, sizeof *b);
  napi_value *vals = malloc(sizeof(napi_value) * 2 * (n ? n : 1));
  if (b == NULL || vals == NULL || (b->recs = calloc(n ? n : 1, sizeof(fq_rec))) == NULL) {
    free(vals);
    if (b) fq_free_batch(b);
    return throw_errno(env, ENOMEM, "submit", q->root);
  }
  b->n = n;
  /* First pass: sizes, so that the batch is one allocation. */
  size_t total = 0;
  for (uint32_t i = 0; i < n; i++) {
    napi_value s, d;
    size_t slen = 0, dlen = 0;
    void *ddata = NULL;
    bool isbuf = false;
    napi_get_element(env, argv[0], i, &s);
    napi_get_element(env, argv[1], i, &d);
    napi_is_buffer(env, d, &isbuf);
    if (napi_get_value_string_utf8(env, s, NULL, 0, &slen) != napi_ok || !isbuf) {
      free(vals);
      fq_free_batch(b);
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "rels must be strings and bodies Buffers");
      return NULL;
    }
    if (slen == 0 || slen >= PATH_MAXLEN) {
      free(vals);
      fq_free_batch(b);
      napi_throw_range_error(env, "ENAMETOOLONG", "a path is empty or too long");
      return NULL;
    }
    napi_get_buffer_info(env, d, &ddata, &dlen);
    vals[2 * i] = s;
    vals[2 * i + 1] = d;
    fq_rec *r = &b->recs[i];
    r->path_off = total;
    total += slen + 1;
    r->data_off = total;
    r->data_len = dlen;
    total += dlen;
  }
  b->arena = malloc(total ? total : 1);
  if (b->arena == NULL) {
    free(vals);
    fq_free_batch(b);
    return throw_errno(env, ENOMEM, "submit", q->root);
  }
  for (uint32_t i = 0; i < n; i++) {
    fq_rec *r = &b->recs[i];
    size_t got = 0;
    void *ddata = NULL;
    size_t dlen = 0;
    napi_get_value_string_utf8(env, vals[2 * i], b->arena + r->path_off, r->data_off - r->path_off, &got);
    if (strlen(b->arena + r->path_off) != got) {
      /* A NUL inside the path would name another file. */
      free(vals);
      fq_free_batch(b);
      napi_throw_range_error(env, "ERR_INVALID_ARG_VALUE", "a path contains a NUL byte");
      return NULL;
    }
    napi_get_buffer_info(env, vals[2 * i + 1], &ddata, &dlen);
    if (dlen) memcpy(b->arena + r->data_off, ddata, dlen);
    const double *m = meta + (size_t)i * FQ_META;
    r->mode = (uint32_t)m[0];
    r->uid = (int64_t)m[1];
    r->gid = (int64_t)m[2];
    r->mtime = m[3];
    r->set_owner = m[4] != 0;
    r->chmod_to = (int64_t)m[5];
  }
  free(vals);
  b->bytes = total;
  pthread_mutex_lock(&q->mu);
  while (q->pending > 0 && (q->pending >= FQ_MAX_BATCHES || q->pending_bytes + total > FQ_MAX_BYTES))
    pthread_cond_wait(&q->done, &q->mu);
  b->id = ++q->next_id;
  q->pending++;
  q->pending_bytes += total;
  if (q->tail) q->tail->next = b;
  else q->head = b;
  q->tail = b;
  pthread_cond_signal(&q->work);
  uint32_t id = b->id;
  pthread_mutex_unlock(&q->mu);
  napi_value out;
  napi_create_uint32(env, id, &out);
  return out;
}

/* The report of the batches in `list` (freed): { done, failures }. */
static napi_value fq_report(napi_env env, fq_batch *list) {
  napi_value out, done, failures;
  napi_create_object(env, &out);
  napi_create_array(env, &done);
  napi_create_array(env, &failures);
  uint32_t nd = 0, nf = 0;
  while (list != NULL) {
    fq_batch *b = list;
    list = b->next;
    napi_value id;
    napi_create_uint32(env, b->id, &id);
    napi_set_element(env, done, nd++, id);
    for (size_t i = 0; i < b->n; i++) {
      const fq_rec *r = &b->recs[i];
      if (r->err == 0) continue;
      napi_value f, v;
      napi_create_object(env, &f);
      napi_set_named_property(env, f, "batch", id);
      napi_create_uint32(env, (uint32_t)i, &v);
      napi_set_named_property(env, f, "index", v);
      napi_create_string_utf8(env, errno_code(r->err), NAPI_AUTO_LENGTH, &v);
      napi_set_named_property(env, f, "code", v);
      napi_create_int32(env, -r->err, &v);
      napi_set_named_property(env, f, "errno", v);
      napi_create_string_utf8(env, r->syscall ? r->syscall : "", NAPI_AUTO_LENGTH, &v);
      napi_set_named_property(env, f, "syscall", v);
      napi_set_element(env, failures, nf++, f);
    }
    fq_free_batch(b);
  }
  napi_set_named_property(env, out, "done", done);
  napi_set_named_property(env, out, "failures", failures);
  return out;
}

/* poll(): the batches finished since the last report, without waiting. */
static napi_value fq_poll(napi_env env, napi_callback_info info) {
  fq_t *q = fq_this(env, info, 0, NULL);
  if (q == NULL) return NULL;
  pthread_mutex_lock(&q->mu);
  fq_batch *list = q->finished;
  q->finished = NULL;
  pthread_mutex_unlock(&q->mu);
  return fq_report(env, list);
}

/* drain(): waits until every submitted batch is done, then reports. */
static napi_value fq_drain(napi_env env, napi_callback_info info) {
  fq_t *q = fq_this(env, info, 0, NULL);
  if (q == NULL) return NULL;
  pthread_mutex_lock(&q->mu);
  while (q->pending > 0) pthread_cond_wait(&q->done, &q->mu);
  fq_batch *list = q->finished;
  q->finished = NULL;
  pthread_mutex_unlock(&q->mu);
  return fq_report(env, list);
}

/* close(): drops the batches not started, waits for the running ones, stops the threads. Idempotent. */
static napi_value fq_close(napi_env env, napi_callback_info info) {
  napi_value self;
  void *data = NULL;
  size_t argc = 0;
  napi_get_cb_info(env, info, &argc, NULL, &self, NULL);
  if (napi_unwrap(env, self, &data) == napi_ok && data != NULL) fq_shutdown(data);
  return NULL;
}

/* createFileQueue(root, threads): a queue whose `threads` threads create files below root. */
static napi_value js_createfilequeue(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  get_args(env, info, 2, argv);
  fq_t *q = calloc(1, sizeof *q);
  if (q == NULL) return throw_errno(env, ENOMEM, "createFileQueue", NULL);
  q->rootfd = -1;
  if (!get_str(env, argv[0], q->root, sizeof q->root, "root")) {
    free(q);
    return NULL;
  }
  int32_t threads = 2;
  if (!is_nullish(env, argv[1])) napi_get_value_int32(env, argv[1], &threads);
  if (threads < 1) threads = 1;
  if (threads > FQ_MAX_THREADS) threads = FQ_MAX_THREADS;
  q->rootfd = open(q->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (q->rootfd < 0) {
    int e = errno;
    napi_value err = throw_errno(env, e, "open", q->root);
    free(q);
    return err;
  }
  /* Probe openat2 once: missing (ENOSYS) or filtered (EPERM) means the openat fallback. */
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
  long pfd = syscall(SYS_openat2, q->rootfd, ".", &how, sizeof how);
  if (pfd >= 0) {
    close((int)pfd);
    q->openat2_ok = 1;
  }
  pthread_mutex_init(&q->mu, NULL);
  pthread_cond_init(&q->work, NULL);
  pthread_cond_init(&q->done, NULL);
  for (int i = 0; i < threads; i++) {
    if (pthread_create(&q->th[i], NULL, fq_worker, q) != 0) break;
    q->nthreads++;
  }
  if (q->nthreads == 0) {
    close(q->rootfd);
    free(q);
    return throw_errno(env, EAGAIN, "pthread_create", NULL);
  }
  napi_value obj, fn, v;
  napi_create_object(env, &obj);
  napi_wrap(env, obj, q, fq_finalize, NULL, NULL);
  napi_create_function(env, "submit", NAPI_AUTO_LENGTH, fq_submit, NULL, &fn);
  napi_set_named_property(env, obj, "submit", fn);
  napi_create_function(env, "poll", NAPI_AUTO_LENGTH, fq_poll, NULL, &fn);
  napi_set_named_property(env, obj, "poll", fn);
  napi_create_function(env, "drain", NAPI_AUTO_LENGTH, fq_drain, NULL, &fn);
  napi_set_named_property(env, obj, "drain", fn);
  napi_create_function(env, "close", NAPI_AUTO_LENGTH, fq_close, NULL, &fn);
  napi_set_named_property(env, obj, "close", fn);
  napi_get_boolean(env, q->openat2_ok, &v);
  napi_set_named_property(env, obj, "beneath", v);
  return obj;
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
      {"createFileQueue", NULL, js_createfilequeue, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_value version;
  napi_create_uint32(env, 3, &version); /* 2: createFile; 3: createFileQueue */
  napi_set_named_property(env, exports, "abiVersion", version);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)

// rbuild_gzip: one N-API call, gzipMember(input, level) -> Promise<Buffer>, which
// compresses a whole buffer into one complete gzip member with libdeflate on
// libuv's thread pool. libdeflate compresses whole buffers only (no streaming
// state), which is exactly what rbuild's block-parallel gzip needs, and it is
// 2-3x faster than zlib at the same level and a similar ratio.
//
// Its own addon rather than a function of rbuild_fs: the module's exports are
// defined in fsops.c's Init, and keeping gzip apart means a machine without
// libdeflate still gets the file-system calls (and a clear error for gzip).
// Built without libdeflate.h (binding.gyp leaves RBUILD_HAVE_LIBDEFLATE undefined),
// the addon exports only `missing`, which the loader turns into an error with the fix,
// so `npm install` itself never fails on it.
#include <node_api.h>
#include <stdlib.h>
#include <string.h>

// Bumped when the JS-visible interface changes (snapshotter/native-fs.ts checks it).
#define RBUILD_GZIP_ABI 1

#ifdef RBUILD_HAVE_LIBDEFLATE
#include <libdeflate.h>

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref input_ref;  // keeps the input Buffer alive while a pool thread reads it
  const void *in;
  size_t in_len;
  int level;
  void *out;
  size_t out_len;
  const char *error;  // static message, set by execute on failure
} job_t;

// libdeflate's compressors are not thread-safe, but each job gets its own, so any
// number can run at once. Allocation is ~0.5-1 MiB of tables for the higher
// levels: small next to a 1 MiB+ block, and cheaper than a pool keyed by level.
static void execute(napi_env env, void *data) {
  (void)env;
  job_t *j = data;
  struct libdeflate_compressor *c = libdeflate_alloc_compressor(j->level);
  if (c == NULL) {
    j->error = "libdeflate_alloc_compressor failed (out of memory or bad level)";
    return;
  }
  size_t bound = libdeflate_gzip_compress_bound(c, j->in_len);
  j->out = malloc(bound > 0 ? bound : 1);
  if (j->out == NULL) {
    j->error = "out of memory for the compressed block";
  } else {
    j->out_len = libdeflate_gzip_compress(c, j->in, j->in_len, j->out, bound);
    // With a buffer of the bound's size libdeflate cannot run out of room; 0 would be a bug.
    if (j->out_len == 0) j->error = "libdeflate_gzip_compress returned 0 with a bound-sized buffer";
  }
  libdeflate_free_compressor(c);
}

static void free_out(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static void complete(napi_env env, napi_status status, void *data) {
  job_t *j = data;
  napi_value result = NULL;
  const char *msg = j->error;
  if (status != napi_ok && msg == NULL) msg = "gzipMember was cancelled";
  if (msg == NULL) {
    // The Buffer takes over the malloc'd block: no copy on the way to JS.
    if (napi_create_external_buffer(env, j->out_len, j->out, free_out, NULL, &result) == napi_ok) {
      j->out = NULL;
    } else {
      // External buffers can be refused (e.g. under a sandbox policy): copy instead.
      void *copy;
      if (napi_create_buffer_copy(env, j->out_len, j->out, &copy, &result) != napi_ok) {
        msg = "cannot create the result Buffer";
        result = NULL;
      }
    }
  }
  if (msg != NULL) {
    napi_value m, code, err;
    napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
    napi_create_string_utf8(env, "ERR_RBUILD_GZIP", NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, m, &err);
    napi_reject_deferred(env, j->deferred, err);
  } else {
    napi_resolve_deferred(env, j->deferred, result);
  }
  free(j->out);
  napi_delete_reference(env, j->input_ref);
  napi_delete_async_work(env, j->work);
  free(j);
}

// gzipMember(input: Buffer | Uint8Array, level: integer 0-12): Promise<Buffer>
static napi_value js_gzip_member(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "gzipMember(input, level): two arguments expected");
    return NULL;
  }
  bool is_typed = false;
  napi_is_typedarray(env, argv[0], &is_typed);
  if (!is_typed) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "gzipMember: input must be a Buffer or Uint8Array");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length;
  void *bytes;
  napi_value ab;
  size_t offset;
  napi_get_typedarray_info(env, argv[0], &type, &length, &bytes, &ab, &offset);
  if (type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "gzipMember: input must be a Buffer or Uint8Array");
    return NULL;
  }
  int32_t level = -1;
  if (napi_get_value_int32(env, argv[1], &level) != napi_ok || level < 0 || level > 12) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "gzipMember: level must be an integer from 0 to 12");
    return NULL;
  }

  job_t *j = calloc(1, sizeof *j);
  if (j == NULL) {
    napi_throw_error(env, "ERR_RBUILD_GZIP", "out of memory");
    return NULL;
  }
  j->in = bytes;
  j->in_len = length;
  j->level = level;
  napi_value promise, name;
  napi_create_reference(env, argv[0], 1, &j->input_ref);
  napi_create_promise(env, &j->deferred, &promise);
  napi_create_string_utf8(env, "rbuild:gzipMember", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, execute, complete, j, &j->work) != napi_ok ||
      napi_queue_async_work(env, j->work) != napi_ok) {
    // Settle the promise so the caller is not left waiting, then clean up.
    napi_value m, err;
    napi_create_string_utf8(env, "cannot queue the compression job", NAPI_AUTO_LENGTH, &m);
    napi_create_error(env, NULL, m, &err);
    napi_reject_deferred(env, j->deferred, err);
    if (j->work != NULL) napi_delete_async_work(env, j->work);
    napi_delete_reference(env, j->input_ref);
    free(j);
  }
  return promise;
}

#endif  // RBUILD_HAVE_LIBDEFLATE

static napi_value Init(napi_env env, napi_value exports) {
  napi_value version;
  napi_create_uint32(env, RBUILD_GZIP_ABI, &version);
  napi_set_named_property(env, exports, "abiVersion", version);
#ifdef RBUILD_HAVE_LIBDEFLATE
  napi_property_descriptor props[] = {
      {"gzipMember", NULL, js_gzip_member, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_value libv;
  // The libdeflate headers' version this was built against, for `rbuild info` and bug reports.
  napi_create_string_utf8(env, LIBDEFLATE_VERSION_STRING, NAPI_AUTO_LENGTH, &libv);
  napi_set_named_property(env, exports, "libdeflateVersion", libv);
#else
  napi_value missing;
  napi_create_string_utf8(env, "the addon was built without libdeflate (/usr/include/libdeflate.h was absent)",
                          NAPI_AUTO_LENGTH, &missing);
  napi_set_named_property(env, exports, "missing", missing);
#endif
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)

/*
 * ebm_extents: the data extents of an open file, from lseek(SEEK_DATA /
 * SEEK_HOLE). Node has no binding for these whence values, and a block-mode
 * backup of a sparse VM image should not read (and hash) gigabytes of holes.
 *
 *   dataExtents(fd: number, size: number): number[]
 *     -> flat [start0, end0, start1, end1, ...], sorted, within [0, size),
 *        the ranges the filesystem reports as data. Everything else is a hole
 *        (reads as zeros). A filesystem without hole support reports one
 *        extent [0, size) — still correct, just not sparse-aware.
 *     throws Error with .code = errno name ("EINVAL", "ENOTSUP", ...) when
 *        lseek refuses SEEK_DATA itself; the caller falls back to reading.
 *
 * lseek moves the descriptor's file offset; callers use positioned reads
 * (pread), so that does not matter. Offsets are passed as doubles: exact up
 * to 2^53 bytes. Context-aware (NAPI_MODULE_INIT), so it loads in worker
 * threads. Plain C, Linux and other systems that define SEEK_DATA.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include <node_api.h>

static napi_value throw_errno(napi_env env, int err, const char *what) {
  const char *code = "EIO";
  switch (err) {
    case EINVAL: code = "EINVAL"; break;
    case EBADF: code = "EBADF"; break;
#if defined(ENOTSUP)
    case ENOTSUP: code = "ENOTSUP"; break;
#endif
    case ESPIPE: code = "ESPIPE"; break;
    case EOVERFLOW: code = "EOVERFLOW"; break;
    default: break;
  }
  napi_throw_error(env, code, what);
  return NULL;
}

static napi_value data_extents(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    napi_throw_type_error(env, NULL, "dataExtents(fd, size) needs two numbers");
    return NULL;
  }
  int32_t fd;
  double size_d;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_double(env, argv[1], &size_d) != napi_ok || size_d < 0) {
    napi_throw_type_error(env, NULL, "dataExtents(fd, size): fd must be an integer and size a non-negative number");
    return NULL;
  }
#if !defined(SEEK_DATA) || !defined(SEEK_HOLE)
  (void)fd;
  return throw_errno(env, EINVAL, "SEEK_DATA/SEEK_HOLE are not available on this system");
#else
  off_t size = (off_t)size_d;
  napi_value result;
  if (napi_create_array(env, &result) != napi_ok) return NULL;
  uint32_t n = 0;
  off_t pos = 0;
  while (pos < size) {
    off_t data = lseek(fd, pos, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break; /* no data at or after pos: the rest is a hole */
      return throw_errno(env, errno, strerror(errno));
    }
    if (data >= size) break;
    off_t hole = lseek(fd, data, SEEK_HOLE);
    if (hole < 0) return throw_errno(env, errno, strerror(errno));
    if (hole > size) hole = size;
    if (hole <= data) hole = size; /* defensive: never loop without progress */
    napi_value start_v, end_v;
    if (napi_create_double(env, (double)data, &start_v) != napi_ok) return NULL;
    if (napi_create_double(env, (double)hole, &end_v) != napi_ok) return NULL;
    if (napi_set_element(env, result, n++, start_v) != napi_ok) return NULL;
    if (napi_set_element(env, result, n++, end_v) != napi_ok) return NULL;
    pos = hole;
  }
  return result;
#endif
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "dataExtents", NAPI_AUTO_LENGTH, data_extents, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "dataExtents", fn) != napi_ok) return NULL;
  return exports;
}

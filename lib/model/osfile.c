/*
 * osfile.c -- the model module's platform-specific file operations: maps a
 * regular file read-only for tdiff_model_load_file (unmapped at free), and
 * replaces a file by another for tdiff_model_quantize's final rename.
 *   POSIX:   open + fstat + mmap on one descriptor (the descriptor is closed
 *            at once; the mapping keeps the file).
 *   Windows: the UTF-8 path converted to UTF-16, CreateFileW + a file mapping
 *            + MapViewOfFile (both handles closed at once; the view keeps them).
 * Both refuse what is not a regular file before reading it, and an empty file
 * (a zero-length mapping is an error on both). rename(3) replaces an existing
 * target on POSIX; Windows' CRT rename refuses to, so there MoveFileExW with
 * MOVEFILE_REPLACE_EXISTING.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "model.h"

/* what ends with ':' when no system reason follows ("empty file: 'x'"). */
static tdiff_status fail(tdiff__env *env, const char *what, const char *path, const char *reason)
{
    return tdiff__fail(env, TDIFF_E_IO, "%s '%s'%s%s", what, path, reason ? ": " : "", reason ? reason : "");
}

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

/* The few reasons a user can act on; the rest by number. buf holds >= 32 bytes. */
static const char *win_reason(DWORD code, char *buf, size_t cap)
{
    switch (code) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_NAME:
        return "No such file or directory";
    case ERROR_ACCESS_DENIED:
        return "Permission denied";
    case ERROR_SHARING_VIOLATION:
        return "the file is locked by another process";
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_COMMITMENT_LIMIT:
        return "not enough memory";
    default:
        snprintf(buf, cap, "Windows error %lu", (unsigned long)code);
        return buf;
    }
}

/* The UTF-8 path as UTF-16 (freed with tdiff__free); NULL when it is not UTF-8 or
 * memory runs out. */
static wchar_t *wide(tdiff__env *env, const char *path)
{
    const int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, NULL, 0);
    wchar_t *w = n > 0 ? tdiff__malloc(env, (size_t)n * sizeof *w) : NULL;
    if (w)
        MultiByteToWideChar(CP_UTF8, 0, path, -1, w, n);
    return w;
}

tdiff_status tdiff__map_file(tdiff__env *env, const char *path, void **out_addr, size_t *out_size)
{
    char reason[32];
    *out_addr = NULL;
    *out_size = 0;
    wchar_t *wpath = wide(env, path);
    if (!wpath)
        return fail(env, "cannot open", path, "the path is not valid UTF-8, or no memory");
    /* A directory or device is refused before it is opened, as on POSIX. */
    const DWORD attrs = GetFileAttributesW(wpath);
    HANDLE h = INVALID_HANDLE_VALUE;
    if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_DEVICE))) {
        tdiff__free(env, wpath);
        return fail(env, "not a regular file:", path, NULL);
    }
    h = CreateFileW(wpath, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    const DWORD open_error = GetLastError();
    tdiff__free(env, wpath);
    if (h == INVALID_HANDLE_VALUE)
        return fail(env, "cannot open", path, win_reason(open_error, reason, sizeof reason));
    /* the handle decides (a path swapped meanwhile, a console or pipe name such as NUL) */
    LARGE_INTEGER size;
    tdiff_status st = TDIFF_OK;
    if (GetFileType(h) != FILE_TYPE_DISK)
        st = fail(env, "not a regular file:", path, NULL);
    else if (!GetFileSizeEx(h, &size))
        st = fail(env, "cannot stat", path, win_reason(GetLastError(), reason, sizeof reason));
    else if (size.QuadPart <= 0)
        st = fail(env, "empty file:", path, NULL);
    else if ((uint64_t)size.QuadPart > SIZE_MAX)
        st = fail(env, "too large to map:", path, NULL);
    if (st != TDIFF_OK) {
        CloseHandle(h);
        return st;
    }
    HANDLE mapping = CreateFileMappingW(h, NULL, PAGE_READONLY, 0, 0, NULL);
    void *p = mapping ? MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0) : NULL;
    const DWORD map_error = GetLastError();
    if (mapping)
        CloseHandle(mapping);
    CloseHandle(h);
    if (!p)
        return fail(env, "cannot map", path, win_reason(map_error, reason, sizeof reason));
    *out_addr = p;
    *out_size = (size_t)size.QuadPart;
    return TDIFF_OK;
}

void tdiff__unmap_file(void *addr, size_t size)
{
    (void)size;
    if (addr)
        UnmapViewOfFile(addr);
}

tdiff_status tdiff__replace_file(tdiff__env *env, const char *from, const char *to)
{
    char reason[32];
    wchar_t *wfrom = wide(env, from), *wto = wide(env, to);
    const BOOL ok = wfrom && wto && MoveFileExW(wfrom, wto, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH);
    const DWORD code = GetLastError();
    tdiff__free(env, wfrom);
    tdiff__free(env, wto);
    if (!ok)
        return tdiff__fail(env, TDIFF_E_IO, "cannot rename %s to %s: %s", from, to,
                           wfrom && wto ? win_reason(code, reason, sizeof reason) : "not UTF-8, or no memory");
    return TDIFF_OK;
}

#else /* POSIX */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

tdiff_status tdiff__map_file(tdiff__env *env, const char *path, void **out_addr, size_t *out_size)
{
    *out_addr = NULL;
    *out_size = 0;
    /* A FIFO or device is refused before it is opened (opening a FIFO blocks
     * until a writer comes; opening a device may act on it). The open itself
     * cannot block either (O_NONBLOCK, which a regular file ignores), and fstat
     * on the descriptor we map decides, so a path swapped meanwhile is caught. */
    struct stat sb;
    const char *what = NULL;
    int fd = -1;
    errno = 0;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        what = "not a regular file:";
    else if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) < 0)
        what = "cannot open";
    else if (fstat(fd, &sb) != 0)
        what = "cannot stat";
    else if (!S_ISREG(sb.st_mode))
        what = "not a regular file:";
    else if (sb.st_size <= 0)
        what = "empty file:";
    else if ((uint64_t)sb.st_size > SIZE_MAX)
        what = "too large to map:";
    if (!what) {
        void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED)
            what = "cannot map";
        else {
            *out_addr = p;
            *out_size = (size_t)sb.st_size;
        }
    }
    int saved = errno;
    if (fd >= 0)
        close(fd); /* the mapping keeps the file */
    if (what)
        return fail(env, what, path, saved && what[strlen(what) - 1] != ':' ? strerror(saved) : NULL);
    return TDIFF_OK;
}

void tdiff__unmap_file(void *addr, size_t size)
{
    if (addr)
        munmap(addr, size);
}

tdiff_status tdiff__replace_file(tdiff__env *env, const char *from, const char *to)
{
    if (rename(from, to) != 0)
        return tdiff__fail(env, TDIFF_E_IO, "cannot rename %s to %s: %s", from, to, strerror(errno));
    return TDIFF_OK;
}
#endif

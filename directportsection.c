/*
 * directportsection.c - named sections: the one place one is created or opened and
 * mapped (control blocks, notify values, pixel sections, the discovery registry).
 * What a section holds is another process's to write: callers validate its contents.
 */
#include "directportint.h"

DP_RESULT dp_section_map(dp_section *s, const wchar_t *name, SECURITY_ATTRIBUTES *sa, uint64_t size, bool exclusive,
                         bool *existed, const char *what)
{
    MEMORY_BASIC_INFORMATION mbi;
    DWORD err;

    memset(s, 0, sizeof(*s));
    if (existed)
        *existed = false;
    if (sa) {
        s->handle = dp_track(CreateFileMappingW(INVALID_HANDLE_VALUE, sa, PAGE_READWRITE, (DWORD)(size >> 32),
                                                (DWORD)size, name));
        err = GetLastError();
        if (s->handle && err == ERROR_ALREADY_EXISTS) {
            if (existed)
                *existed = true;
            if (exclusive) {
                dp_close_handle(&s->handle);
                return dp_fail(DP_ERROR_NAME_IN_USE, "the %s section %ls exists already", what, name);
            }
        }
    } else {
        s->handle = dp_track(OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, name));
        err = GetLastError();
    }
    if (!s->handle) {
        if (!sa && (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND))
            return dp_fail(DP_ERROR_NOT_FOUND, "there is no %s section %ls", what, name);
        return dp_fail_win32(dp_result_from_win32(err), err, sa ? "CreateFileMapping" : "OpenFileMapping");
    }
    s->view = MapViewOfFile(s->handle, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
    if (!s->view) {
        err = GetLastError();
        dp_section_unmap(s);
        return dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, err, "MapViewOfFile");
    }
    /* Whoever made the section chose its size: what is mapped is what may be read. */
    s->size = VirtualQuery(s->view, &mbi, sizeof(mbi)) ? mbi.RegionSize : 0;
    if (s->size < size) {
        dp_section_unmap(s);
        return dp_fail(DP_ERROR_INCOMPATIBLE, "the %s section %ls is smaller than %llu bytes", what, name,
                       (unsigned long long)size);
    }
    return DP_OK;
}

void dp_section_unmap(dp_section *s)
{
    if (s->view)
        UnmapViewOfFile(s->view);
    s->view = NULL;
    s->size = 0;
    dp_close_handle(&s->handle);
}

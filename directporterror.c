/*
 * directporterror.c - the per-thread last error and the result names.
 *
 * Each thread's record is allocated on its first failure and freed when the thread
 * detaches from the DLL (DllMain), so a host's thread pool never accumulates records.
 */
#include "directportint.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef dp_error_state dp_error_record;

static INIT_ONCE dp_error_once = INIT_ONCE_STATIC_INIT;
static DWORD dp_error_slot = TLS_OUT_OF_INDEXES;

static BOOL CALLBACK dp_error_alloc_slot(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    (void)once;
    (void)param;
    (void)ctx;
    dp_error_slot = TlsAlloc();
    return dp_error_slot != TLS_OUT_OF_INDEXES;
}

/* The calling thread's record; NULL if it has none and create is false, or on OOM. */
static dp_error_record *dp_error_record_get(bool create)
{
    dp_error_record *rec;
    DWORD saved = GetLastError();
    if (!InitOnceExecuteOnce(&dp_error_once, dp_error_alloc_slot, NULL, NULL))
        return NULL;
    rec = TlsGetValue(dp_error_slot);
    if (!rec && create) {
        rec = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof(*rec));
        if (rec)
            TlsSetValue(dp_error_slot, rec);
    }
    SetLastError(saved);
    return rec;
}

void dp_error_thread_detach(void)
{
    dp_error_record *rec;
    if (dp_error_slot == TLS_OUT_OF_INDEXES)
        return;
    rec = TlsGetValue(dp_error_slot);
    if (rec) {
        TlsSetValue(dp_error_slot, NULL);
        HeapFree(GetProcessHeap(), 0, rec);
    }
}

void dp_error_process_detach(void)
{
    /* Other threads' records cannot be reached here; the process heap reclaims them
     * if the process is exiting, and an unloading DLL only loses its own TLS slot. */
    dp_error_thread_detach();
    if (dp_error_slot != TLS_OUT_OF_INDEXES) {
        TlsFree(dp_error_slot);
        dp_error_slot = TLS_OUT_OF_INDEXES;
    }
}

static DP_RESULT dp_fail_va(DP_RESULT r, const char *suffix, const char *fmt, va_list ap)
{
    dp_error_record *rec = dp_error_record_get(true);
    int n;
    if (!rec)
        return r;
    rec->result = r;
    n = vsnprintf(rec->message, sizeof(rec->message), fmt, ap);
    if (suffix && n >= 0 && (size_t)n < sizeof(rec->message))
        snprintf(rec->message + n, sizeof(rec->message) - (size_t)n, "%s", suffix);
    return r;
}

DP_RESULT dp_fail(DP_RESULT r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dp_fail_va(r, NULL, fmt, ap);
    va_end(ap);
    return r;
}

/* System text for a code, as UTF-8 without the trailing newline; "" if none. */
static void dp_system_text(DWORD code, char *out, size_t cap)
{
    wchar_t wide[256];
    DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                             code, 0, wide, DP_ARRAY_SIZE(wide), NULL);
    while (n && (wide[n - 1] == L'\n' || wide[n - 1] == L'\r' || wide[n - 1] == L' '))
        n--;
    int len = n ? WideCharToMultiByte(CP_UTF8, 0, wide, (int)n, out, (int)cap - 1, NULL, NULL) : 0;
    out[len > 0 ? len : 0] = 0;
}

DP_RESULT dp_fail_hr(DP_RESULT r, HRESULT hr, const char *step)
{
    char text[200];
    dp_system_text((DWORD)hr, text, sizeof(text));
    return dp_fail(r, "%s failed: hr 0x%08lx%s%s%s", step, (unsigned long)hr,
                   text[0] ? " (" : "", text, text[0] ? ")" : "");
}

DP_RESULT dp_fail_d3d(HRESULT hr, const char *step)
{
    return dp_fail_hr(dp_result_from_hr(hr), hr, step);
}

DP_RESULT dp_fail_share(HRESULT hr, const wchar_t *name, const char *step)
{
    if (hr == DXGI_ERROR_NAME_ALREADY_EXISTS || hr == HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS) ||
        hr == E_ACCESSDENIED)
        return dp_fail(DP_ERROR_NAME_IN_USE, "%s: the name %ls is taken (hr 0x%08lx)", step, name,
                       (unsigned long)hr);
    return dp_fail_d3d(hr, step);
}

DP_RESULT dp_fail_win32(DP_RESULT r, DWORD err, const char *step)
{
    char text[200];
    dp_system_text(err, text, sizeof(text));
    return dp_fail(r, "%s failed: Win32 error %lu%s%s%s", step, (unsigned long)err,
                   text[0] ? " (" : "", text, text[0] ? ")" : "");
}

bool dp_hr_is_unsupported(HRESULT hr)
{
    return hr == E_NOTIMPL || hr == DXGI_ERROR_UNSUPPORTED || hr == E_NOINTERFACE;
}

DP_RESULT dp_result_from_hr(HRESULT hr)
{
    if (hr == E_OUTOFMEMORY)
        return DP_ERROR_OUT_OF_MEMORY;
    if (hr == E_INVALIDARG)
        return DP_ERROR_INVALID_ARGUMENT;
    if (hr == E_ACCESSDENIED || hr == HRESULT_FROM_WIN32(ERROR_ACCESS_DENIED))
        return DP_ERROR_ACCESS_DENIED;
    if (hr == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) || hr == HRESULT_FROM_WIN32(ERROR_NOT_FOUND))
        return DP_ERROR_NOT_FOUND;
    if (hr == HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS) || hr == DXGI_ERROR_NAME_ALREADY_EXISTS)
        return DP_ERROR_NAME_IN_USE;
    if (dp_hr_is_unsupported(hr))
        return DP_ERROR_UNSUPPORTED;
    return DP_ERROR_DEVICE;
}

DP_RESULT dp_result_from_win32(DWORD err)
{
    switch (err) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
        return DP_ERROR_NOT_FOUND;
    case ERROR_ACCESS_DENIED:
        return DP_ERROR_ACCESS_DENIED;
    case ERROR_ALREADY_EXISTS:
        return DP_ERROR_NAME_IN_USE;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT:
        return DP_ERROR_OUT_OF_MEMORY;
    case ERROR_INVALID_NAME:
    case ERROR_INVALID_PARAMETER:
        return DP_ERROR_INVALID_ARGUMENT;
    default:
        return DP_ERROR_DEVICE;
    }
}

void dp_error_save(dp_error_state *out)
{
    dp_error_record *rec = dp_error_record_get(false);
    out->result = rec ? rec->result : DP_OK;
    strcpy(out->message, rec ? rec->message : "");
}

void dp_error_restore(const dp_error_state *saved)
{
    dp_error_record *rec = dp_error_record_get(saved->result != DP_OK);
    if (!rec)
        return;
    rec->result = saved->result;
    strcpy(rec->message, saved->message);
}

DP_RESULT dp_last_error(void)
{
    dp_error_record *rec = dp_error_record_get(false);
    return rec ? rec->result : DP_OK;
}

const char *dp_last_error_message(void)
{
    dp_error_record *rec = dp_error_record_get(false);
    return rec ? rec->message : "";
}

static const char *const dp_result_names[] = {
    "DP_OK",
    "DP_ERROR_INVALID_ARGUMENT",
    "DP_ERROR_NOT_INITIALIZED",
    "DP_ERROR_UNSUPPORTED",
    "DP_ERROR_NAME_IN_USE",
    "DP_ERROR_NOT_FOUND",
    "DP_ERROR_ACCESS_DENIED",
    "DP_ERROR_TIMEOUT",
    "DP_ERROR_DISCONNECTED",
    "DP_ERROR_BUSY",
    "DP_ERROR_DEVICE",
    "DP_ERROR_OUT_OF_MEMORY",
    "DP_ERROR_INCOMPATIBLE",
};
_Static_assert(DP_ARRAY_SIZE(dp_result_names) == DP_ERROR_INCOMPATIBLE + 1,
               "one name per DP_RESULT");

const char *dp_result_string(DP_RESULT r)
{
    if ((unsigned)r >= DP_ARRAY_SIZE(dp_result_names))
        return "DP_RESULT(?)";
    return dp_result_names[r];
}

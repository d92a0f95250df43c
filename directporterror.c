/*
 * directporterror.c - the per-thread last error and the result names.
 *
 * Each thread's record is allocated on its first failure and freed when the thread
 * detaches from the DLL (DllMain), so a host's thread pool never accumulates records.
 *
 * Every failure also carries an HRESULT, for dp12_last_hresult: the D3D or Win32 call's
 * own where one failed (dp_fail_hr, dp_fail_win32), otherwise the one its DP_RESULT
 * stands for (dp_hr_of_result: a refused argument is E_INVALIDARG).
 */
#include "directportint.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    dp_error_state last;
    HRESULT create_hr;      /* of the last dp12 create that failed on this thread */
} dp_error_record;

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

#define DP_HR_WIN32(code) MAKE_HRESULT(SEVERITY_ERROR, FACILITY_WIN32, code)

/* Per DP_RESULT: its name, and the HRESULT a failure without one of its own stands for. */
static const struct {
    const char *name;
    HRESULT hr;
} dp_results[] = {
    {"DP_OK", S_OK},
    {"DP_ERROR_INVALID_ARGUMENT", E_INVALIDARG},
    {"DP_ERROR_NOT_INITIALIZED", DP_HR_WIN32(ERROR_INVALID_STATE)},
    {"DP_ERROR_UNSUPPORTED", DXGI_ERROR_UNSUPPORTED},
    {"DP_ERROR_NAME_IN_USE", DP_HR_WIN32(ERROR_ALREADY_EXISTS)},
    {"DP_ERROR_NOT_FOUND", DP_HR_WIN32(ERROR_FILE_NOT_FOUND)},
    {"DP_ERROR_ACCESS_DENIED", E_ACCESSDENIED},
    {"DP_ERROR_TIMEOUT", DP_HR_WIN32(WAIT_TIMEOUT)},
    {"DP_ERROR_DISCONNECTED", RPC_E_DISCONNECTED},
    {"DP_ERROR_BUSY", DP_HR_WIN32(ERROR_BUSY)},
    {"DP_ERROR_DEVICE", E_FAIL},
    {"DP_ERROR_OUT_OF_MEMORY", E_OUTOFMEMORY},
    {"DP_ERROR_INCOMPATIBLE", DP_HR_WIN32(ERROR_INVALID_DATA)},
};
_Static_assert(DP_ARRAY_SIZE(dp_results) == DP_ERROR_INCOMPATIBLE + 1, "one entry per DP_RESULT");

static HRESULT dp_hr_of_result(DP_RESULT r)
{
    return (unsigned)r < DP_ARRAY_SIZE(dp_results) ? dp_results[r].hr : E_FAIL;
}

static DP_RESULT dp_fail_va(DP_RESULT r, HRESULT hr, const char *fmt, va_list ap)
{
    dp_error_record *rec = dp_error_record_get(true);
    if (!rec)
        return r;
    rec->last.result = r;
    rec->last.hr = hr;
    vsnprintf(rec->last.message, sizeof(rec->last.message), fmt, ap);
    return r;
}

static DP_RESULT dp_fail_with_hr(DP_RESULT r, HRESULT hr, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static DP_RESULT dp_fail_with_hr(DP_RESULT r, HRESULT hr, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dp_fail_va(r, hr, fmt, ap);
    va_end(ap);
    return r;
}

DP_RESULT dp_fail(DP_RESULT r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dp_fail_va(r, dp_hr_of_result(r), fmt, ap);
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
    return dp_fail_with_hr(r, hr, "%s failed: hr 0x%08lx%s%s%s", step, (unsigned long)hr,
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
    return dp_fail_with_hr(r, err ? HRESULT_FROM_WIN32(err) : dp_hr_of_result(r),
                           "%s failed: Win32 error %lu%s%s%s", step, (unsigned long)err,
                           text[0] ? " (" : "", text, text[0] ? ")" : "");
}

static volatile LONG dp_debug_count;

bool dp_debug_layers(void)
{
    char v[4] = {0};
    return GetEnvironmentVariableA("DIRECTPORT_D3D_DEBUG", v, sizeof(v)) == 1 && v[0] == '1';
}

void dp_debug_add(uint32_t n)
{
    if (n)
        InterlockedExchangeAdd(&dp_debug_count, (LONG)n);
}

uint32_t dp_debug_errors(void)
{
    dp_debug_add(dp12_debug_harvest());
    dp_debug_add(dp11_debug_harvest());
    return (uint32_t)InterlockedCompareExchange(&dp_debug_count, 0, 0);
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
    out->result = rec ? rec->last.result : DP_OK;
    out->hr = rec ? rec->last.hr : S_OK;
    strcpy(out->message, rec ? rec->last.message : "");
}

void dp_error_restore(const dp_error_state *saved)
{
    dp_error_record *rec = dp_error_record_get(saved->result != DP_OK);
    if (!rec)
        return;
    rec->last = *saved;
}

void dp_error_note_create_failed(void)
{
    dp_error_record *rec = dp_error_record_get(true);
    if (rec)
        rec->create_hr = rec->last.result != DP_OK && FAILED(rec->last.hr) ? rec->last.hr : E_FAIL;
}

HRESULT dp_error_create_hr(void)
{
    dp_error_record *rec = dp_error_record_get(false);
    return rec ? rec->create_hr : S_OK;
}

DP_RESULT dp_last_error(void)
{
    dp_error_record *rec = dp_error_record_get(false);
    return rec ? rec->last.result : DP_OK;
}

const char *dp_last_error_message(void)
{
    dp_error_record *rec = dp_error_record_get(false);
    return rec ? rec->last.message : "";
}

const char *dp_result_string(DP_RESULT r)
{
    if ((unsigned)r >= DP_ARRAY_SIZE(dp_results))
        return "DP_RESULT(?)";
    return dp_results[r].name;
}

/*
 * test_load.c - directport.dll loads, exports exactly the public API of directport.h,
 * carries its version resource, and the import library binds.
 *
 * When a function is added to directport.h, add it to PUBLIC_API below:
 * dll_exports_nothing_else fails until then.
 */
#include <windows.h>
#include <stdint.h>
#include <string.h>

#include "directport.h"
#include "adapters/gl/dpgl.h"
#include "dptest.h"

typedef void (*any_fn)(void); /* matches any function type in a cast */

/* Every public function of directport.h. */
#define PUBLIC_API(X) \
    X(dp_last_error) \
    X(dp_last_error_message) \
    X(dp_result_string) \
    X(dp_get_transport) \
    X(dp_get_port_info) \
    X(dp_get_stats) \
    X(dp_debug_errors) \
    X(dp_list_ports) \
    X(dp12_init) \
    X(dp12_shutdown) \
    X(dp12_create_shared_resource) \
    X(dp12_open_shared_resource) \
    X(dp12_map_memory) \
    X(dp12_unmap_memory) \
    X(dp12_signal_fence) \
    X(dp12_cpu_wait) \
    X(dp12_queue_wait) \
    X(dp12_get_completed_value) \
    X(dp12_get_resource_handle) \
    X(dp12_get_fence_handle) \
    X(dp12_close) \
    X(dp12_init_with_device) \
    X(dp12_get_device) \
    X(dp12_create_port) \
    X(dp12_open_port) \
    X(dp12_get_resource) \
    X(dp12_get_fence) \
    X(dp12_queue_signal) \
    X(dp12_cpu_wait_timeout) \
    X(dp12_begin_frame) \
    X(dp12_end_frame) \
    X(dp12_acquire_frame) \
    X(dp12_release_frame) \
    X(dp12_resize_port) \
    X(dp12_wait_fence) \
    X(dp12_get_adapter_luid) \
    X(dp12_last_hresult) \
    X(dp12_is_uma) \
    X(dp12_upload_bgra) \
    X(dp11_init) \
    X(dp11_shutdown) \
    X(dp11_create_shared_resource) \
    X(dp11_open_shared_resource) \
    X(dp11_signal_fence) \
    X(dp11_wait_fence) \
    X(dp11_close) \
    X(dp11_init_with_device) \
    X(dp11_get_device) \
    X(dp11_create_port) \
    X(dp11_open_port) \
    X(dp11_get_texture) \
    X(dp11_get_completed_value) \
    X(dp11_cpu_wait_timeout) \
    X(dpgl_create) \
    X(dpgl_open) \
    X(dpgl_publish_framebuffer) \
    X(dpgl_publish_texture) \
    X(dpgl_acquire) \
    X(dpgl_release) \
    X(dpgl_mode) \
    X(dpgl_port) \
    X(dpgl_close) \
    X(dp11_begin_frame) \
    X(dp11_end_frame) \
    X(dp11_acquire_frame) \
    X(dp11_release_frame) \
    X(dp11_resize_port)

#define API_NAME(f) #f,
static const char *const PUBLIC_API_NAMES[] = { PUBLIC_API(API_NAME) };
#define PUBLIC_API_COUNT (sizeof PUBLIC_API_NAMES / sizeof PUBLIC_API_NAMES[0])

/* An import library stub is "jmp qword ptr [rip + disp32]" (FF 25 disp32): returns the
 * address in the import table slot it jumps through, or fn itself if it is no stub. */
static any_fn follow_thunk(any_fn fn)
{
    const unsigned char *code = (const unsigned char *)(uintptr_t)fn;
    if (code[0] != 0xFF || code[1] != 0x25)
        return fn;
    int32_t disp;
    memcpy(&disp, code + 2, sizeof disp);
    any_fn target;
    memcpy(&target, code + 6 + disp, sizeof target);
    return target;
}

DP_TEST(dll_loads)
{
    HMODULE h = LoadLibraryW(L"directport.dll");
    if (!ok(h != NULL, "LoadLibraryW(directport.dll) failed: %lu", GetLastError()))
        return;
    wchar_t path[MAX_PATH];
    if (GetModuleFileNameW(h, path, MAX_PATH))
        dptest_diag("directport.dll: %ls", path);
    ok(FreeLibrary(h), "FreeLibrary failed: %lu", GetLastError());
}

DP_TEST(dll_exports_public_api)
{
    HMODULE h = LoadLibraryW(L"directport.dll");
    if (!ok(h != NULL, "LoadLibraryW(directport.dll) failed: %lu", GetLastError()))
        return;
    /* GCC takes the address of an imported function as the import library's jump
     * stub (jmp *__imp_f(%rip)); follow_thunk reads the import table slot behind it. */
#define API_ADDR(f) follow_thunk((any_fn)f),
    const any_fn imported[] = { PUBLIC_API(API_ADDR) };
    for (size_t i = 0; i < PUBLIC_API_COUNT; i++) {
        FARPROC p = GetProcAddress(h, PUBLIC_API_NAMES[i]);
        if (ok(p != NULL, "GetProcAddress(%s) failed", PUBLIC_API_NAMES[i]))
            ok((any_fn)p == imported[i], "%s: GetProcAddress %p, import table %p",
               PUBLIC_API_NAMES[i], (void *)p, (void *)imported[i]);
    }
    FreeLibrary(h);
}

/* Walks the export directory: every exported name must be in PUBLIC_API, so no internal
 * symbol leaks and the list above stays complete. */
DP_TEST(dll_exports_nothing_else)
{
    HMODULE h = GetModuleHandleW(L"directport.dll");
    if (!ok(h != NULL, "directport.dll not loaded"))
        return;
    const BYTE *base = (const BYTE *)h;
    const IMAGE_DOS_HEADER *dos = (const IMAGE_DOS_HEADER *)base;
    const IMAGE_NT_HEADERS *nt = (const IMAGE_NT_HEADERS *)(base + dos->e_lfanew);
    const IMAGE_DATA_DIRECTORY *dir =
        &nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_EXPORT];
    if (!ok(dir->VirtualAddress != 0 && dir->Size != 0, "no export directory"))
        return;
    const IMAGE_EXPORT_DIRECTORY *exp =
        (const IMAGE_EXPORT_DIRECTORY *)(base + dir->VirtualAddress);
    const DWORD *names = (const DWORD *)(base + exp->AddressOfNames);
    for (DWORD i = 0; i < exp->NumberOfNames; i++) {
        const char *name = (const char *)(base + names[i]);
        bool known = false;
        for (size_t j = 0; j < PUBLIC_API_COUNT && !known; j++)
            known = strcmp(name, PUBLIC_API_NAMES[j]) == 0;
        ok(known, "directport.dll exports %s, which is not in the public API list", name);
    }
    ok(exp->NumberOfNames == PUBLIC_API_COUNT, "%lu exported names, %u public functions",
       (unsigned long)exp->NumberOfNames, (unsigned)PUBLIC_API_COUNT);
}

DP_TEST(dll_version_resource)
{
    HMODULE h = GetModuleHandleW(L"directport.dll");
    if (!ok(h != NULL, "directport.dll not loaded"))
        return;
    HRSRC res = FindResourceW(h, MAKEINTRESOURCEW(VS_VERSION_INFO), MAKEINTRESOURCEW(16));
    if (!ok(res != NULL, "no VERSIONINFO resource"))
        return;
    const BYTE *data = LockResource(LoadResource(h, res));
    DWORD size = SizeofResource(h, res);
    if (!ok(data != NULL && size > sizeof(VS_FIXEDFILEINFO), "cannot load VERSIONINFO"))
        return;
    /* VS_FIXEDFILEINFO follows the "VS_VERSION_INFO" key, DWORD-aligned; find its
     * signature rather than walking the structure. */
    const VS_FIXEDFILEINFO *ffi = NULL;
    for (DWORD off = 0; off + sizeof *ffi <= size; off += 4) {
        if (((const VS_FIXEDFILEINFO *)(data + off))->dwSignature == 0xFEEF04BDu) {
            ffi = (const VS_FIXEDFILEINFO *)(data + off);
            break;
        }
    }
    if (!ok(ffi != NULL, "VS_FIXEDFILEINFO not found"))
        return;
    ok(HIWORD(ffi->dwFileVersionMS) == DIRECTPORT_VERSION_MAJOR &&
           LOWORD(ffi->dwFileVersionMS) == DIRECTPORT_VERSION_MINOR &&
           HIWORD(ffi->dwFileVersionLS) == DIRECTPORT_VERSION_PATCH,
       "file version %u.%u.%u, header says %d.%d.%d", HIWORD(ffi->dwFileVersionMS),
       LOWORD(ffi->dwFileVersionMS), HIWORD(ffi->dwFileVersionLS), DIRECTPORT_VERSION_MAJOR,
       DIRECTPORT_VERSION_MINOR, DIRECTPORT_VERSION_PATCH);
    static const wchar_t desc[] = L"DirectPort GPU frame sharing";
    bool found = false;
    for (DWORD off = 0; off + sizeof desc <= size && !found; off += 2)
        found = memcmp(data + off, desc, sizeof desc) == 0;
    ok(found, "FileDescription \"%ls\" not in the version resource", desc);
}

DP_TEST(result_string_through_import_library)
{
    const char *s = dp_result_string(DP_ERROR_TIMEOUT);
    ok(s != NULL && strcmp(s, "DP_ERROR_TIMEOUT") == 0, "dp_result_string(DP_ERROR_TIMEOUT) = %s",
       s ? s : "(null)");
}

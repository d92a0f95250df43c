/*
 * test_security.c - the security descriptor of a port's named objects: the default
 * (creating user and SYSTEM), DP_PORT_ALL_USERS (+ authenticated users), an explicit
 * SDDL (as given; enforced against other users where the OS enforces DACLs), a bad SDDL,
 * and DP_PORT_GLOBAL's namespace.
 */
#include "d3d12util.h"

#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dptest.h"

/* SIDs an object's DACL is checked against. */
enum { SEC_USER = 1, SEC_SYSTEM = 2, SEC_AUTHENTICATED = 4 };

typedef struct {
    union {
        TOKEN_USER user;
        BYTE bytes[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } token_user;
    BYTE system[SECURITY_MAX_SID_SIZE];
    BYTE authenticated[SECURITY_MAX_SID_SIZE];
} sec_sids;

static bool sec_get_sids(sec_sids *s)
{
    HANDLE token;
    DWORD size = sizeof(s->system);
    bool good;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
        return false;
    good = GetTokenInformation(token, TokenUser, &s->token_user, sizeof(s->token_user), &size);
    CloseHandle(token);
    size = sizeof(s->system);
    good = good && CreateWellKnownSid(WinLocalSystemSid, NULL, s->system, &size);
    size = sizeof(s->authenticated);
    return good && CreateWellKnownSid(WinAuthenticatedUserSid, NULL, s->authenticated, &size);
}

static const char *sec_sid_text(PSID sid, char *buf, size_t cap)
{
    wchar_t *text = NULL;
    if (ConvertSidToStringSidW(sid, &text)) {
        snprintf(buf, cap, "%ls", text);
        LocalFree(text);
    } else {
        snprintf(buf, cap, "(unprintable SID)");
    }
    return buf;
}

/* Opens the named object `name` (a section, or a semaphore if semaphore) for READ_CONTROL
 * and checks that its DACL has exactly one allow ACE for each SID in `expect` (SEC_*),
 * granting all access, and no other ACE. `what` names it in messages. */
static void sec_check_dacl(const wchar_t *name, bool semaphore, unsigned expect, const char *what)
{
    sec_sids sids;
    HANDLE h;
    PACL dacl = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    SECURITY_DESCRIPTOR_CONTROL control = 0;
    DWORD err, revision;
    ACL_SIZE_INFORMATION size;
    unsigned seen = 0;
    char text[200];

    if (!ok(sec_get_sids(&sids), "%s: reading the user's SID failed", what))
        return;
    h = semaphore ? OpenSemaphoreW(READ_CONTROL, FALSE, name) : OpenFileMappingW(READ_CONTROL, FALSE, name);
    if (!ok(h != NULL, "%s: opening %ls for READ_CONTROL: %lu", what, name, GetLastError()))
        return;
    err = GetSecurityInfo(h, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL, &sd);
    CloseHandle(h);
    if (!ok(err == ERROR_SUCCESS, "%s: GetSecurityInfo: %lu", what, err))
        return;
    if (ok(dacl != NULL, "%s: no DACL (everyone has access)", what) &&
        ok(GetAclInformation(dacl, &size, sizeof(size), AclSizeInformation), "%s: GetAclInformation", what)) {
        for (DWORD i = 0; i < size.AceCount; i++) {
            ACE_HEADER *ace = NULL;
            ACCESS_ALLOWED_ACE *allow;
            PSID sid;
            unsigned which;
            if (!ok(GetAce(dacl, i, (void **)&ace), "%s: GetAce %lu", what, i))
                continue;
            if (!ok(ace->AceType == ACCESS_ALLOWED_ACE_TYPE, "%s: ACE %lu has type %u, not allow", what, i,
                    ace->AceType))
                continue;
            allow = (ACCESS_ALLOWED_ACE *)ace;
            sid = &allow->SidStart;
            which = EqualSid(sid, sids.token_user.user.User.Sid) ? SEC_USER
                    : EqualSid(sid, sids.system)                  ? SEC_SYSTEM
                    : EqualSid(sid, sids.authenticated)           ? SEC_AUTHENTICATED
                                                                  : 0;
            if (!ok(which && (expect & which), "%s: ACE %lu grants %s, who should have no access", what, i,
                    sec_sid_text(sid, text, sizeof(text))))
                continue;
            ok(!(seen & which), "%s: two ACEs for %s", what, sec_sid_text(sid, text, sizeof(text)));
            seen |= which;
            /* GA: GENERIC_ALL as given, or mapped to the object's specific rights. */
            ok((allow->Mask & GENERIC_ALL) ||
                   (semaphore ? (allow->Mask & SEMAPHORE_ALL_ACCESS) == SEMAPHORE_ALL_ACCESS
                              : (allow->Mask & SECTION_ALL_ACCESS) == SECTION_ALL_ACCESS),
               "%s: %s has access mask 0x%lx only", what, sec_sid_text(sid, text, sizeof(text)), allow->Mask);
        }
        ok((seen & expect) == expect, "%s: the DACL misses %s%s%s", what,
           (expect & ~seen & SEC_USER) ? "the creating user " : "", (expect & ~seen & SEC_SYSTEM) ? "SYSTEM " : "",
           (expect & ~seen & SEC_AUTHENTICATED) ? "authenticated users" : "");
    }
    /* "D:P": inherited entries must not widen it. */
    ok(GetSecurityDescriptorControl(sd, &control, &revision) && (control & SE_DACL_PROTECTED),
       "%s: the DACL is not protected (control 0x%x)", what, control);
    LocalFree(sd);
}

/* Checks every named object of the port `name` (namespace prefix) against expect. */
static void sec_check_port(DP_HANDLE h, const wchar_t *prefix, const wchar_t *name, unsigned expect)
{
    wchar_t object[160];
    DP_PORT_INFO info;
    if (!ok(dp_get_port_info(h, &info), "info: %s", dp_last_error_message()))
        return;
    swprintf(object, 160, L"%ls\\DirectPort.%ls.ctl", prefix, name);
    sec_check_dacl(object, false, expect, "control block");
    swprintf(object, 160, L"%ls\\DirectPort.%ls.fence.value", prefix, name);
    sec_check_dacl(object, false, expect, "fence value");
    swprintf(object, 160, L"%ls\\DirectPort.%ls.fence.wake", prefix, name);
    sec_check_dacl(object, true, expect, "fence wake semaphore");
    if (info.transport == DP_TRANSPORT_HOST) {
        swprintf(object, 160, L"%ls\\DirectPort.%ls.px.%u", prefix, name, info.generation);
        sec_check_dacl(object, false, expect, "host pixels");
    }
}

static DP_HANDLE sec_create(const wchar_t *name, uint32_t flags, const wchar_t *sddl)
{
    DP_PORT_DESC d = {0};
    d.name = name;
    d.width = 16;
    d.height = 8;
    d.flags = flags;
    d.sddl = sddl;
    return dp12_create_port(&d);
}

DP_TEST(security_default_grants_user_and_system_only)
{
    wchar_t name[64];
    DP_HANDLE h;
    if (!dp12_init())
        skip("no D3D12 device: %s", dp_last_error_message());
    swprintf(name, 64, L"secdef%lu", (unsigned long)GetCurrentProcessId());
    h = sec_create(name, 0, NULL);
    if (ok(h != NULL, "create: %s", dp_last_error_message()))
        sec_check_port(h, L"Local", name, SEC_USER | SEC_SYSTEM);
    dp12_close(h);
    dp12_shutdown();
}

DP_TEST(security_all_users_adds_authenticated_users)
{
    wchar_t name[64];
    DP_HANDLE h;
    if (!dp12_init())
        skip("no D3D12 device: %s", dp_last_error_message());
    swprintf(name, 64, L"secall%lu", (unsigned long)GetCurrentProcessId());
    h = sec_create(name, DP_PORT_ALL_USERS, NULL);
    if (ok(h != NULL, "create: %s", dp_last_error_message()))
        sec_check_port(h, L"Local", name, SEC_USER | SEC_SYSTEM | SEC_AUTHENTICATED);
    dp12_close(h);
    dp12_shutdown();
}

/* An explicit SDDL replaces the default and DP_PORT_ALL_USERS (ignored with it). */
DP_TEST(security_sddl_applied_as_given)
{
    wchar_t name[64];
    DP_HANDLE h;
    if (!dp12_init())
        skip("no D3D12 device: %s", dp_last_error_message());
    swprintf(name, 64, L"secsddl%lu", (unsigned long)GetCurrentProcessId());
    h = sec_create(name, DP_PORT_ALL_USERS, L"D:P(A;;GA;;;SY)");
    if (ok(h != NULL, "create with an explicit SDDL: %s", dp_last_error_message()))
        sec_check_port(h, L"Local", name, SEC_SYSTEM);
    dp12_close(h);
    dp12_shutdown();
}

/* Whether the OS refuses to open a named section whose DACL leaves the caller out. */
static bool sec_os_enforces_dacl(void)
{
    wchar_t name[64];
    PSECURITY_DESCRIPTOR sd = NULL;
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, FALSE};
    HANDLE mine, other;
    DWORD err;
    swprintf(name, 64, L"Local\\dptest.%lu.dacl-probe", (unsigned long)GetCurrentProcessId());
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(L"D:P(A;;GA;;;SY)", SDDL_REVISION_1, &sd, NULL))
        return false;
    sa.lpSecurityDescriptor = sd;
    mine = CreateFileMappingW(INVALID_HANDLE_VALUE, &sa, PAGE_READWRITE, 0, 4096, name);
    LocalFree(sd);
    if (!mine)
        return false;
    other = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, name);
    err = GetLastError();
    if (other)
        CloseHandle(other);
    CloseHandle(mine);
    return !other && err == ERROR_ACCESS_DENIED;
}

DP_TEST(security_sddl_denies_other_users)
{
    wchar_t name[64];
    DP_HANDLE h, opened;
    DP_PORT_INFO info;
    if (!dp12_init())
        skip("no D3D12 device: %s", dp_last_error_message());
    swprintf(name, 64, L"secdeny%lu", (unsigned long)GetCurrentProcessId());
    /* SYSTEM only: this (non-SYSTEM) user is not in the DACL. */
    h = sec_create(name, 0, L"D:P(A;;GA;;;SY)");
    if (!ok(h != NULL, "create with an explicit SDDL: %s", dp_last_error_message())) {
        dp12_shutdown();
        return;
    }
    if (!sec_os_enforces_dacl()) {
        dp12_close(h);
        dp12_shutdown();
        skip("this OS opens a named section whose DACL leaves the caller out (Wine does not enforce "
             "DACLs on named objects), so a refused consumer cannot be shown");
    }
    opened = dp12_open_port(name);
    ok(opened == NULL && dp_last_error() == DP_ERROR_ACCESS_DENIED, "a consumer outside the DACL got %p, %s (%s)",
       opened, dp_result_string(dp_last_error()), dp_last_error_message());
    dp12_close(opened);
    /* The producer's own handle is unaffected. */
    ok(dp_get_port_info(h, &info) && info.is_producer, "producer info: %s", dp_last_error_message());
    dp12_close(h);
    dp12_shutdown();
}

DP_TEST(security_bad_sddl_is_invalid_argument)
{
    static const wchar_t *const bad[] = {L"D:(bogus", L"not an SDDL string", L"D:P(A;;GA;;;NOSUCHSID)"};
    wchar_t name[64], ctl[128];
    DP_STATS before, after;
    HANDLE section;
    DP_HANDLE h;
    if (!dp12_init())
        skip("no D3D12 device: %s", dp_last_error_message());
    swprintf(name, 64, L"secbad%lu", (unsigned long)GetCurrentProcessId());
    swprintf(ctl, 128, L"Local\\DirectPort.%ls.ctl", name);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        dp_get_stats(&before);
        h = sec_create(name, 0, bad[i]);
        ok(h == NULL && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "SDDL \"%ls\": got %p, %s (%s)", bad[i], h,
           dp_result_string(dp_last_error()), dp_last_error_message());
        dp12_close(h);
        dp_get_stats(&after);
        ok(after.kernel_objects == before.kernel_objects && after.live_handles == before.live_handles,
           "SDDL \"%ls\": a failed create kept %u kernel objects, %u handles", bad[i],
           after.kernel_objects - before.kernel_objects, after.live_handles - before.live_handles);
        section = OpenFileMappingW(FILE_MAP_READ, FALSE, ctl);
        ok(section == NULL, "SDDL \"%ls\": a failed create left %ls behind", bad[i], ctl);
        if (section)
            CloseHandle(section);
    }
    /* The name is still free. */
    h = sec_create(name, 0, NULL);
    ok(h != NULL, "create after the failures: %s", dp_last_error_message());
    dp12_close(h);
    dp12_shutdown();
}

DP_TEST(security_global_namespace)
{
    wchar_t name[64], object[128];
    DP_HANDLE h, opened;
    DP_PORT_INFO info;
    HANDLE section;
    uint32_t n, cap;
    DP_PORT_INFO *all;
    bool listed = false;
    if (!dp12_init())
        skip("no D3D12 device: %s", dp_last_error_message());
    swprintf(name, 64, L"secglobal%lu", (unsigned long)GetCurrentProcessId());
    h = sec_create(name, DP_PORT_GLOBAL, NULL);
    if (!h && dp_last_error() == DP_ERROR_ACCESS_DENIED) {
        dp12_shutdown();
        skip("no right to create Global\\ objects (SeCreateGlobalPrivilege): %s", dp_last_error_message());
    }
    if (!ok(h != NULL, "create in Global\\: %s", dp_last_error_message())) {
        dp12_shutdown();
        return;
    }
    swprintf(object, 128, L"Global\\DirectPort.%ls.ctl", name);
    section = OpenFileMappingW(FILE_MAP_READ, FALSE, object);
    ok(section != NULL, "OpenFileMapping(%ls): %lu", object, GetLastError());
    if (section)
        CloseHandle(section);
    swprintf(object, 128, L"Local\\DirectPort.%ls.ctl", name);
    section = OpenFileMappingW(FILE_MAP_READ, FALSE, object);
    ok(section == NULL, "a global port made %ls too", object);
    if (section)
        CloseHandle(section);
    sec_check_port(h, L"Global", name, SEC_USER | SEC_SYSTEM);

    opened = dp12_open_port(name);
    if (ok(opened != NULL, "dp12_open_port did not find the global port: %s", dp_last_error_message())) {
        ok(dp_get_port_info(opened, &info) && (info.flags & DP_PORT_GLOBAL) && !info.is_producer,
           "opened handle: flags 0x%x", info.flags);
        dp12_close(opened);
    }
    cap = dp_list_ports(NULL, 0) + 8;
    all = calloc(cap, sizeof(*all));
    if (all) {
        n = dp_list_ports(all, cap);
        for (uint32_t i = 0; i < n && i < cap; i++)
            if (!wcscmp(all[i].name, name))
                listed = (all[i].flags & DP_PORT_GLOBAL) != 0;
        free(all);
    }
    ok(listed, "the global port is not listed, or without DP_PORT_GLOBAL");
    dp12_close(h);
    dp12_shutdown();
}

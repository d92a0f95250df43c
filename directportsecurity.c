/*
 * directportsecurity.c - the security descriptor of a port's named objects.
 *
 * Default: a protected DACL granting the creating user and SYSTEM full access and
 * nobody else, where the reference DirectPort grants every authenticated user.
 * DP_PORT_ALL_USERS adds authenticated users; an explicit SDDL string replaces both.
 * docs/security.md says what each exposes to whom.
 */
#include "directportint.h"

#include <sddl.h>

/* The calling process's user SID as an SDDL string (LocalFree it). */
static DP_RESULT dp_security_user_sid(wchar_t **out)
{
    HANDLE token = NULL;
    union {
        TOKEN_USER user;
        BYTE bytes[SECURITY_MAX_SID_SIZE + sizeof(TOKEN_USER)];
    } info;
    DWORD size = 0;
    DP_RESULT r = DP_OK;

    if (!OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, TRUE, &token) &&
        !OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
        return dp_fail_win32(DP_ERROR_ACCESS_DENIED, GetLastError(), "OpenProcessToken");
    if (!GetTokenInformation(token, TokenUser, &info, sizeof(info), &size))
        r = dp_fail_win32(DP_ERROR_ACCESS_DENIED, GetLastError(), "GetTokenInformation(TokenUser)");
    else if (!ConvertSidToStringSidW(info.user.User.Sid, out))
        r = dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "ConvertSidToStringSidW");
    CloseHandle(token);
    return r;
}

DP_RESULT dp_security_make(dp_security *out, uint32_t flags, const wchar_t *sddl)
{
    wchar_t built[256];
    wchar_t *user = NULL;
    DP_RESULT r;

    memset(out, 0, sizeof(*out));
    if (!sddl) {
        r = dp_security_user_sid(&user);
        if (r != DP_OK)
            return r;
        _snwprintf(built, DP_ARRAY_SIZE(built), L"D:P(A;;GA;;;SY)(A;;GA;;;%ls)%ls", user,
                   (flags & DP_PORT_ALL_USERS) ? L"(A;;GA;;;AU)" : L"");
        built[DP_ARRAY_SIZE(built) - 1] = 0;
        LocalFree(user);
        sddl = built;
    }
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &out->sd, NULL))
        return dp_fail_win32(DP_ERROR_INVALID_ARGUMENT, GetLastError(),
                             "ConvertStringSecurityDescriptorToSecurityDescriptorW (bad SDDL?)");
    out->sa.nLength = sizeof(out->sa);
    out->sa.lpSecurityDescriptor = out->sd;
    out->sa.bInheritHandle = FALSE;
    return DP_OK;
}

void dp_security_free(dp_security *s)
{
    if (s->sd)
        LocalFree(s->sd);
    memset(s, 0, sizeof(*s));
}

/*
 * directportnames.c - the NT object names of a port, and the rules for names callers
 * give. Plain C, no Win32: also built natively for unit tests.
 */
#include "directportblock.h"

#include <string.h>

static size_t dpn_len(const wchar_t *s, size_t max)
{
    size_t n = 0;
    while (n <= max && s[n])
        n++;
    return n;
}

bool dpn_valid_base(const wchar_t *name)
{
    size_t i, n;
    if (!name)
        return false;
    n = dpn_len(name, DPN_MAX_BASE);
    if (!n || n > DPN_MAX_BASE)
        return false;
    for (i = 0; i < n; i++) {
        wchar_t c = name[i];
        bool ok = (c >= L'a' && c <= L'z') || (c >= L'A' && c <= L'Z') ||
                  (c >= L'0' && c <= L'9') || c == L'_' || c == L'.' || c == L'-';
        if (!ok)
            return false;
    }
    return true;
}

static size_t dpn_prefix(const wchar_t *name)
{
    if (!wcsncmp(name, L"Local\\", 6))
        return 6;
    if (!wcsncmp(name, L"Global\\", 7))
        return 7;
    return 0;
}

bool dpn_valid_nt(const wchar_t *name)
{
    size_t i, n, start;
    if (!name)
        return false;
    n = dpn_len(name, DPN_MAX_NT);
    if (!n || n > DPN_MAX_NT)
        return false;
    start = dpn_prefix(name);
    if (start == n)
        return false;
    for (i = start; i < n; i++)
        if (name[i] == L'\\' || name[i] < 0x20 || name[i] == 0x7f)
            return false;
    return true;
}

/* out = a + b; false if it does not fit. */
static bool dpn_cat(wchar_t *out, const wchar_t *a, const wchar_t *b)
{
    size_t la = wcslen(a), lb = wcslen(b);
    if (la + lb >= DPN_LEN)
        return false;
    memcpy(out, a, la * sizeof(wchar_t));
    memcpy(out + la, b, (lb + 1) * sizeof(wchar_t));
    return true;
}

static bool dpn_derive(dpn_names *out, const wchar_t *ctl_base, const wchar_t *fence_base)
{
    return dpn_cat(out->ctl, ctl_base, L".ctl") && dpn_cat(out->pixels, ctl_base, L".px") &&
           dpn_cat(out->fence_value, fence_base, L".value") &&
           dpn_cat(out->wake, fence_base, L".wake");
}

bool dpn_port_names(dpn_names *out, const wchar_t *name, bool global)
{
    wchar_t base[DPN_LEN], slot[16];
    unsigned i;
    memset(out, 0, sizeof(*out));
    if (!dpn_valid_base(name))
        return false;
    if (!dpn_cat(base, global ? L"Global\\DirectPort." : L"Local\\DirectPort.", name))
        return false;
    for (i = 0; i < DPB_MAX_SLOTS; i++) {
        slot[0] = L'.';
        slot[1] = L't';
        slot[2] = L'e';
        slot[3] = L'x';
        slot[4] = (wchar_t)(L'0' + i);
        slot[5] = 0;
        if (!dpn_cat(out->tex[i], base, slot))
            return false;
    }
    return dpn_cat(out->fence, base, L".fence") && dpn_derive(out, base, out->fence) &&
           dpn_cat(out->display, name, L"");
}

bool dpn_legacy_names(dpn_names *out, const wchar_t *tex_name, const wchar_t *fence_name)
{
    memset(out, 0, sizeof(*out));
    if (!dpn_valid_nt(tex_name) || !dpn_valid_nt(fence_name))
        return false;
    /* One name for both would make the texture and the fence the same NT object. */
    if (!wcscmp(tex_name + dpn_prefix(tex_name), fence_name + dpn_prefix(fence_name)))
        return false;
    return dpn_cat(out->tex[0], tex_name, L"") && dpn_cat(out->fence, fence_name, L"") &&
           dpn_derive(out, tex_name, fence_name) && dpn_cat(out->display, tex_name, L"");
}

bool dpn_pixels_name(wchar_t *out, size_t cap, const dpn_names *n, uint32_t generation)
{
    wchar_t digits[12];
    size_t len = wcslen(n->pixels), d = 0, i;
    do {
        digits[d++] = (wchar_t)(L'0' + generation % 10);
        generation /= 10;
    } while (generation);
    if (len + 1 + d + 1 > cap)
        return false;
    memcpy(out, n->pixels, len * sizeof(wchar_t));
    out[len++] = L'.';
    for (i = 0; i < d; i++)
        out[len++] = digits[d - 1 - i];
    out[len] = 0;
    return true;
}

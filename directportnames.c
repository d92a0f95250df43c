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
    memset(out, 0, sizeof(*out));
    if (!dpn_valid_base(name))
        return false;
    return dpn_cat(out->base, global ? L"Global\\DirectPort." : L"Local\\DirectPort.", name) &&
           dpn_cat(out->fence, out->base, L".fence") && dpn_derive(out, out->base, out->fence) &&
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
    return dpn_cat(out->tex, tex_name, L"") && dpn_cat(out->fence, fence_name, L"") &&
           dpn_derive(out, tex_name, fence_name) && dpn_cat(out->display, tex_name, L"");
}

/* out = a + "." + decimal n + b; false if it does not fit in cap. */
static bool dpn_numbered(wchar_t *out, size_t cap, const wchar_t *a, uint32_t n, const wchar_t *b)
{
    wchar_t digits[12];
    size_t la = wcslen(a), lb = wcslen(b), d = 0, i;
    do {
        digits[d++] = (wchar_t)(L'0' + n % 10);
        n /= 10;
    } while (n);
    if (la + 1 + d + lb + 1 > cap)
        return false;
    memcpy(out, a, la * sizeof(wchar_t));
    out[la++] = L'.';
    for (i = 0; i < d; i++)
        out[la++] = digits[d - 1 - i];
    memcpy(out + la, b, (lb + 1) * sizeof(wchar_t));
    return true;
}

bool dpn_pixels_name(wchar_t *out, size_t cap, const dpn_names *n, uint32_t generation)
{
    return dpn_numbered(out, cap, n->pixels, generation, L"");
}

bool dpn_texture_name(wchar_t *out, size_t cap, const dpn_names *n, uint32_t generation, uint32_t slot)
{
    wchar_t gen[DPN_LEN];
    if (!n->base[0]) {
        if (wcslen(n->tex) + 1 > cap)
            return false;
        memcpy(out, n->tex, (wcslen(n->tex) + 1) * sizeof(wchar_t));
        return true;
    }
    return dpn_numbered(gen, DPN_LEN, n->base, generation, L".tex") && dpn_numbered(out, cap, gen, slot, L"");
}

bool dpn_fence_name(wchar_t *out, size_t cap, const dpn_names *n, uint32_t generation)
{
    if (!n->base[0]) {
        if (wcslen(n->fence) + 1 > cap)
            return false;
        memcpy(out, n->fence, (wcslen(n->fence) + 1) * sizeof(wchar_t));
        return true;
    }
    return dpn_numbered(out, cap, n->base, generation, L".fence");
}

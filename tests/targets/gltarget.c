/*
 * gltarget.c - build/gltarget.exe: a GL application as GLFW or SDL make them, for the
 * capture tests. It does not import opengl32.dll: it loads it at run time (after
 * --delay-gl ms), takes every GL and WGL function from GetProcAddress / wglGetProcAddress,
 * and with --core draws in a 4.5 core-profile context made through
 * wglCreateContextAttribsARB (a legacy context made and deleted first). It swaps with
 * gdi32!SwapBuffers.
 *
 *   gltarget.exe [--frames N] [--core] [--delay-gl MS] [--size WxH] [--transient-dc]
 *
 * --transient-dc: a window class without CS_OWNDC, and every frame GetDC, wglMakeCurrent on
 * that DC, draw, SwapBuffers, ReleaseDC (as older programs do): the DC a frame was
 * published from is gone by the next one.
 *
 * Frame f (from 1) is cleared to R = f & 255, G = (f >> 8) & 255, B = 0x40, A = 255,
 * except its top GLT_BAND rows, B = 0xF0: a consumer tells the frame, a flip and a tear.
 * Around every swap it checks that the swap left no GL error and that the viewport,
 * scissor box, clear colour, framebuffer and pixel-buffer bindings are as before: exit
 * code 1 if not, 3 without a GL context, 0 otherwise.
 */
#include <windows.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GLT_BAND 16

typedef unsigned int GLenum;
typedef unsigned int GLbitfield;
typedef int GLint;
typedef int GLsizei;
typedef float GLfloat;
#define GL_NO_ERROR 0
#define GL_COLOR_BUFFER_BIT 0x00004000
#define GL_SCISSOR_TEST 0x0C11
#define GL_VIEWPORT 0x0BA2
#define GL_SCISSOR_BOX 0x0C10
#define GL_COLOR_CLEAR_VALUE 0x0C22
#define GL_DRAW_FRAMEBUFFER_BINDING 0x8CA6
#define GL_READ_FRAMEBUFFER_BINDING 0x8CAA
#define GL_PIXEL_PACK_BUFFER_BINDING 0x88ED
#define GL_PIXEL_UNPACK_BUFFER_BINDING 0x88EF
#define WGL_CONTEXT_MAJOR_VERSION_ARB 0x2091
#define WGL_CONTEXT_MINOR_VERSION_ARB 0x2092
#define WGL_CONTEXT_PROFILE_MASK_ARB 0x9126
#define WGL_CONTEXT_CORE_PROFILE_BIT_ARB 0x00000001

static struct {
    HGLRC(WINAPI *CreateContext)(HDC);
    BOOL(WINAPI *MakeCurrent)(HDC, HGLRC);
    BOOL(WINAPI *DeleteContext)(HGLRC);
    PROC(WINAPI *GetProcAddress)(LPCSTR);
    void(WINAPI *ClearColor)(GLfloat, GLfloat, GLfloat, GLfloat);
    void(WINAPI *Clear)(GLbitfield);
    void(WINAPI *Scissor)(GLint, GLint, GLsizei, GLsizei);
    void(WINAPI *Enable)(GLenum);
    void(WINAPI *Disable)(GLenum);
    void(WINAPI *Viewport)(GLint, GLint, GLsizei, GLsizei);
    void(WINAPI *GetIntegerv)(GLenum, GLint *);
    void(WINAPI *GetFloatv)(GLenum, GLfloat *);
    GLenum(WINAPI *GetError)(void);
    void(WINAPI *Finish)(void);
    HGLRC(WINAPI *CreateContextAttribs)(HDC, HGLRC, const int *);
} gl;

/* Function pointers of other types: copied, not cast. */
#define GLT_LOAD(m, field, name)                                                                                       \
    do {                                                                                                               \
        FARPROC f_ = GetProcAddress(m, name);                                                                          \
        memcpy(&gl.field, &f_, sizeof f_);                                                                             \
        if (!f_)                                                                                                       \
            return false;                                                                                              \
    } while (0)

static bool load_gl(HMODULE m)
{
    GLT_LOAD(m, CreateContext, "wglCreateContext");
    GLT_LOAD(m, MakeCurrent, "wglMakeCurrent");
    GLT_LOAD(m, DeleteContext, "wglDeleteContext");
    GLT_LOAD(m, GetProcAddress, "wglGetProcAddress");
    GLT_LOAD(m, ClearColor, "glClearColor");
    GLT_LOAD(m, Clear, "glClear");
    GLT_LOAD(m, Scissor, "glScissor");
    GLT_LOAD(m, Enable, "glEnable");
    GLT_LOAD(m, Disable, "glDisable");
    GLT_LOAD(m, Viewport, "glViewport");
    GLT_LOAD(m, GetIntegerv, "glGetIntegerv");
    GLT_LOAD(m, GetFloatv, "glGetFloatv");
    GLT_LOAD(m, GetError, "glGetError");
    GLT_LOAD(m, Finish, "glFinish");
    return true;
}

static LRESULT CALLBACK wndproc(HWND h, UINT msg, WPARAM w, LPARAM l)
{
    return DefWindowProcW(h, msg, w, l);
}

typedef struct {
    GLint viewport[4], scissor[4], draw_fbo, read_fbo, pack, unpack;
    GLfloat clear[4];
} glt_state;

static void capture_state(glt_state *s)
{
    memset(s, 0, sizeof *s);
    gl.GetIntegerv(GL_VIEWPORT, s->viewport);
    gl.GetIntegerv(GL_SCISSOR_BOX, s->scissor);
    gl.GetIntegerv(GL_DRAW_FRAMEBUFFER_BINDING, &s->draw_fbo);
    gl.GetIntegerv(GL_READ_FRAMEBUFFER_BINDING, &s->read_fbo);
    gl.GetIntegerv(GL_PIXEL_PACK_BUFFER_BINDING, &s->pack);
    gl.GetIntegerv(GL_PIXEL_UNPACK_BUFFER_BINDING, &s->unpack);
    gl.GetFloatv(GL_COLOR_CLEAR_VALUE, s->clear);
}

int wmain(int argc, wchar_t **argv);
int wmain(int argc, wchar_t **argv)
{
    long frames = 120, delay = 0;
    int width = 256, height = 128;
    bool core = false, transient = false;
    for (int i = 1; i < argc; i++) {
        if (!wcscmp(argv[i], L"--frames") && i + 1 < argc)
            frames = wcstol(argv[++i], NULL, 10);
        else if (!wcscmp(argv[i], L"--delay-gl") && i + 1 < argc)
            delay = wcstol(argv[++i], NULL, 10);
        else if (!wcscmp(argv[i], L"--size") && i + 1 < argc && swscanf(argv[++i], L"%dx%d", &width, &height) == 2)
            ;
        else if (!wcscmp(argv[i], L"--core"))
            core = true;
        else if (!wcscmp(argv[i], L"--transient-dc"))
            transient = true;
        else {
            fprintf(stderr, "usage: gltarget.exe [--frames N] [--core] [--delay-gl MS] [--size WxH] [--transient-dc]\n");
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    Sleep((DWORD)delay);
    HMODULE opengl = LoadLibraryW(L"opengl32.dll");
    if (!opengl || !load_gl(opengl)) {
        fprintf(stderr, "gltarget: no opengl32.dll\n");
        return 3;
    }

    WNDCLASSEXW wc;
    memset(&wc, 0, sizeof wc);
    wc.cbSize = sizeof wc;
    wc.style = transient ? 0 : CS_OWNDC;
    wc.lpfnWndProc = wndproc;
    wc.hInstance = GetModuleHandleW(NULL);
    wc.lpszClassName = L"gltarget";
    RegisterClassExW(&wc);
    RECT r = {0, 0, width, height};
    AdjustWindowRect(&r, WS_OVERLAPPEDWINDOW, FALSE);
    HWND hwnd = CreateWindowExW(0, wc.lpszClassName, L"gltarget", WS_OVERLAPPEDWINDOW, 0, 0, r.right - r.left,
                                r.bottom - r.top, NULL, NULL, wc.hInstance, NULL);
    HDC dc = hwnd ? GetDC(hwnd) : NULL;
    PIXELFORMATDESCRIPTOR pfd;
    memset(&pfd, 0, sizeof pfd);
    pfd.nSize = sizeof pfd;
    pfd.nVersion = 1;
    pfd.dwFlags = PFD_DRAW_TO_WINDOW | PFD_SUPPORT_OPENGL | PFD_DOUBLEBUFFER;
    pfd.iPixelType = PFD_TYPE_RGBA;
    pfd.cColorBits = 32;
    pfd.cAlphaBits = 8;
    int format = dc ? ChoosePixelFormat(dc, &pfd) : 0;
    HGLRC rc = format && SetPixelFormat(dc, format, &pfd) ? gl.CreateContext(dc) : NULL;
    if (!rc || !gl.MakeCurrent(dc, rc)) {
        fprintf(stderr, "gltarget: no GL context (%lu)\n", GetLastError());
        return 3;
    }
    if (core) {
        PROC p = gl.GetProcAddress("wglCreateContextAttribsARB");
        memcpy(&gl.CreateContextAttribs, &p, sizeof p);
        const int attribs[] = {WGL_CONTEXT_MAJOR_VERSION_ARB, 4, WGL_CONTEXT_MINOR_VERSION_ARB, 5,
                               WGL_CONTEXT_PROFILE_MASK_ARB, WGL_CONTEXT_CORE_PROFILE_BIT_ARB, 0};
        HGLRC core_rc = gl.CreateContextAttribs ? gl.CreateContextAttribs(dc, NULL, attribs) : NULL;
        gl.MakeCurrent(NULL, NULL);
        gl.DeleteContext(rc);
        rc = core_rc;
        if (!rc || !gl.MakeCurrent(dc, rc)) {
            fprintf(stderr, "gltarget: no 4.5 core context (%lu)\n", GetLastError());
            return 3;
        }
    }
    ShowWindow(hwnd, SW_SHOWNOACTIVATE);
    printf("gltarget: %dx%d, %s context, %ld frames%s\n", width, height, core ? "4.5 core" : "legacy", frames,
           transient ? ", a DC of its own per frame" : "");
    if (transient) {
        gl.MakeCurrent(NULL, NULL);
        ReleaseDC(hwnd, dc);
        dc = NULL;
    }

    int bad = 0;
    for (long f = 1; f <= frames && !bad; f++) {
        MSG msg;
        while (PeekMessageW(&msg, NULL, 0, 0, PM_REMOVE))
            DispatchMessageW(&msg);
        if (transient && (!(dc = GetDC(hwnd)) || !gl.MakeCurrent(dc, rc))) {
            fprintf(stderr, "gltarget: frame %ld: GetDC / wglMakeCurrent failed (%lu)\n", f, GetLastError());
            bad = 1;
            break;
        }
        GLfloat red = (GLfloat)(f & 255) / 255.0f, green = (GLfloat)((f >> 8) & 255) / 255.0f;
        gl.Viewport(0, 0, width, height);
        gl.Disable(GL_SCISSOR_TEST);
        gl.ClearColor(red, green, (GLfloat)0x40 / 255.0f, 1.0f);
        gl.Clear(GL_COLOR_BUFFER_BIT);
        gl.Enable(GL_SCISSOR_TEST);
        gl.Scissor(0, height - GLT_BAND, width, GLT_BAND); /* the top rows */
        gl.ClearColor(red, green, (GLfloat)0xF0 / 255.0f, 1.0f);
        gl.Clear(GL_COLOR_BUFFER_BIT);
        gl.Scissor(1, 2, 3, 4); /* a state the hook must leave alone */
        glt_state before, after;
        capture_state(&before);
        GLenum pending = gl.GetError();
        SwapBuffers(dc);
        GLenum err = gl.GetError();
        capture_state(&after);
        if (pending != GL_NO_ERROR || err != GL_NO_ERROR) {
            fprintf(stderr, "gltarget: frame %ld: GL error 0x%x before, 0x%x after the swap\n", f, pending, err);
            bad = 1;
        }
        if (memcmp(&before, &after, sizeof before)) {
            fprintf(stderr, "gltarget: frame %ld: the swap changed GL state\n", f);
            bad = 1;
        }
        if (transient) {
            gl.MakeCurrent(NULL, NULL);
            ReleaseDC(hwnd, dc);
            dc = NULL;
        }
        Sleep(15);
    }
    gl.MakeCurrent(NULL, NULL);
    gl.DeleteContext(rc);
    if (dc)
        ReleaseDC(hwnd, dc);
    DestroyWindow(hwnd);
    printf("gltarget: done%s\n", bad ? " (FAILED)" : "");
    return bad;
}

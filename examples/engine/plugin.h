/*
 * plugin.h - the plugin interface of the example engine (examples/engine/engine.c).
 *
 * The engine stands in for a closed third-party application: it knows nothing of
 * DirectPort. What it offers is this small C interface. It loads every DLL named on its
 * command line with LoadLibrary and calls three exported functions, all on its render
 * thread with its WGL context current:
 *
 *   int  plugin_load(void)                once, after the engine's context is made; a
 *                                         non-zero return refuses: the engine unloads
 *                                         the DLL and goes on without it
 *   void plugin_frame(int width, int height)
 *                                         every frame, after the engine has drawn the
 *                                         frame into its back buffer and before
 *                                         SwapBuffers; width x height is the size of the
 *                                         default framebuffer (the window's client area),
 *                                         which changes when the window is resized
 *   void plugin_unload(void)              once, before the engine destroys its context
 *
 * A plugin may use GL freely but must leave the engine's GL state as it found it, and
 * must not make the frame wait: plugin_frame's time is taken from the engine's frame.
 */
#ifndef ENGINE_PLUGIN_H
#define ENGINE_PLUGIN_H

#ifdef __cplusplus
extern "C" {
#endif

#define PLUGIN_EXPORT __declspec(dllexport)

typedef int (*plugin_load_fn)(void);
typedef void (*plugin_frame_fn)(int width, int height);
typedef void (*plugin_unload_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* ENGINE_PLUGIN_H */

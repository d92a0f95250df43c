/*
 * directportguid.c - instantiates the D3D12 interface IDs, which mingw-w64's import
 * libraries (libdxguid, libuuid) do not carry.
 */
#include <initguid.h>
#include <d3d12.h>

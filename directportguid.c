/*
 * directportguid.c - instantiates the D3D12 and D3D11.1-11.4 interface IDs, which mingw-w64's import
 * libraries (libdxguid, libuuid) do not carry.
 */
#include <initguid.h>
#include <d3d12.h>
#include <d3d11_4.h>
#include <d3d11sdklayers.h>
#include <d3d12sdklayers.h>

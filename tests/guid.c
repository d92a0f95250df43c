/*
 * guid.c - the D3D12 and D3D11.1-11.4 interface IDs the tests (and tools/dpcaps.c) use;
 * mingw-w64's import libraries do not carry them.
 */
#include <initguid.h>
#include <d3d11_4.h>
#include <d3d12.h>

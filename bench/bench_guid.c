/*
 * bench_guid.c - the D3D12 interface IDs dpbench uses; mingw-w64's import libraries do
 * not carry them.
 */
#include <initguid.h>
#include <d3d12.h>

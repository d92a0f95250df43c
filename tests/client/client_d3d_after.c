/*
 * client_d3d_after.c - a D3D client in C11: directport.h first, then <d3d12.h> and <d3d11.h>.
 * The check is client_d3d.h; client_d3d_after.cpp is this file in C++17,
 * client_d3d_before.* the other order.
 */
#include "directport.h"

#include <d3d12.h>
#include <d3d11.h>

#include "client_d3d.h"

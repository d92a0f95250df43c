/*
 * client_d3d_after.cpp - a D3D client in C++17: directport.h first, then <d3d12.h> and <d3d11.h>.
 * The check is client_d3d.h; client_d3d_after.c is this file in C11,
 * client_d3d_before.* the other order.
 */
#include "directport.h"

#include <d3d12.h>
#include <d3d11.h>

#include "client_d3d.h"

/*
 * client_d3d_before.cpp - a D3D client in C++17: <d3d12.h> and <d3d11.h> first, then directport.h.
 * The check is client_d3d.h; client_d3d_before.c is this file in C11,
 * client_d3d_after.* the other order.
 */
#include <d3d12.h>
#include <d3d11.h>

#include "directport.h"

#include "client_d3d.h"

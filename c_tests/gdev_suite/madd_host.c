/*
 * madd_host.c - madd on mapped host memory: sdMemHostAlloc(DEVICEMAP) and
 * sdMemHostGetDevicePointer; the kernel reads a and b and writes c in host
 * memory directly, with no copies.
 *
 *   madd_host [-d<dev>] [-f<matrix.cubin>] [-n<size>]     (default -d0 -n128)
 */
#include "matrix.h"

int main(int argc, char **argv)
{
    return matrix_main(argc, argv, "madd", MATRIX_ADD, MATRIX_U32, MATRIX_MAPPED, 128);
}

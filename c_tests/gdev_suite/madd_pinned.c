/*
 * madd_pinned.c - madd with page-locked host buffers (sdMemAllocHost).
 *
 *   madd_pinned [-d<dev>] [-f<matrix.cubin>] [-n<size>]     (default -d0 -n128)
 */
#include "matrix.h"

int main(int argc, char **argv)
{
    return matrix_main(argc, argv, "madd", MATRIX_ADD, MATRIX_U32, MATRIX_PINNED, 128);
}

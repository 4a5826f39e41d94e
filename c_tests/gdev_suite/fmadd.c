/*
 * fmadd.c - float matrix addition c = a + b, checked exactly.
 *
 *   fmadd [-d<dev>] [-f<matrix.cubin>] [-n<size>]     (default -d0 -n128)
 */
#include "matrix.h"

int main(int argc, char **argv)
{
    return matrix_main(argc, argv, "fmadd", MATRIX_ADD, MATRIX_F32, MATRIX_PAGEABLE, 128);
}

/*
 * mmul.c - integer matrix multiplication c = a * b (products wrap mod 2^32).
 *
 *   mmul [-d<dev>] [-f<matrix.cubin>] [-n<size>]     (default -d0 -n64)
 */
#include "matrix.h"

int main(int argc, char **argv)
{
    return matrix_main(argc, argv, "mmul", MATRIX_MUL, MATRIX_U32, MATRIX_PAGEABLE, 64);
}

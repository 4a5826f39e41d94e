/*
 * fmmul.c - float matrix multiplication c = a * b, checked exactly.
 *
 *   fmmul [-d<dev>] [-f<matrix.cubin>] [-n<size>]     (default -d0 -n64)
 */
#include "matrix.h"

int main(int argc, char **argv)
{
    return matrix_main(argc, argv, "fmmul", MATRIX_MUL, MATRIX_F32, MATRIX_PAGEABLE, 64);
}
